public import Foundation

/// Jobs as JSON Lines: one JSON object per line, keys sorted, every field present.
public enum JobJSONLines {
    /// An encoder with the output settings of every JSON this project prints:
    /// sorted keys, unescaped slashes.
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity",
            negativeInfinity: "-Infinity",
            nan: "NaN"
        )
        return encoder
    }

    /// One record as a JSON line, with LF.
    public static func line(_ job: Job, encoder: JSONEncoder) throws -> Data {
        var data = try encoder.encode(job)
        data.append(10)
        return data
    }

    /// Parses JSON Lines content into jobs (see ``table(_:file:)``, which reads it).
    ///
    /// - Throws: ``JobFileError`` `.badData` naming the file, line and what is wrong.
    public static func parse(_ bytes: [UInt8], file: String) throws(JobFileError) -> [Job] {
        try table(bytes, file: file).jobs
    }

    /// One sentence for a decoding error: what and where.
    public static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty
                ? "the record"
                : "'" + keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") + "'"
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field '\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))'"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)) should be \(type)"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)) is null, expected \(type)"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "not valid JSON" }
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
