import Foundation

/// Jobs as CSV (RFC 4180): the header is the field names, `metrics` flattened without a
/// prefix, `command` one shell-quoted string, `labels` a JSON object as text (empty when
/// none), times RFC 3339, an empty cell for null.
public enum JobCSV {
    /// The columns, in order.
    public static let columns: [String] =
        Job.CodingKeys.allCases.filter { $0 != .metrics }.map(\.rawValue)
        + MetricColumn.allCases.map(\.rawValue)

    /// The header line, with CRLF.
    public static var header: String { columns.joined(separator: ",") + "\r\n" }

    /// One cell quoted per RFC 4180 when it holds a comma, quote, CR or LF.
    public static func escape(_ cell: String) -> String {
        guard cell.utf8.contains(where: { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }) else { return cell }
        return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// One record as a CSV line, with CRLF.
    public static func row(_ job: Job) -> String {
        var cells: [String] = []
        cells.reserveCapacity(columns.count)
        func opt(_ v: Int?) -> String { v.map(String.init) ?? "" }
        cells.append(String(job.id))
        cells.append(job.instance)
        cells.append(job.name)
        cells.append(ShellQuoting.join(job.command))
        cells.append(job.cwd ?? "")
        if job.labels.isEmpty {
            cells.append("")
        } else {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            cells.append(String(decoding: (try? encoder.encode(job.labels)) ?? Data("{}".utf8), as: UTF8.self))
        }
        cells.append(job.status.rawValue)
        cells.append(opt(job.pid))
        cells.append(job.startedAt.map { Timestamp.format($0) } ?? "")
        cells.append(job.endedAt.map { Timestamp.format($0) } ?? "")
        cells.append(job.durationSeconds.map { "\($0)" } ?? "")
        cells.append(opt(job.exitCode))
        cells.append(opt(job.signal))
        cells.append(job.reason ?? "")
        cells.append(String(job.attempt))
        cells.append(opt(job.parentId))
        cells.append(opt(job.retriedBy))
        cells.append(job.queue ?? "")
        cells.append(opt(job.rerunOf))
        cells.append(opt(job.scheduleId))
        cells.append(job.timeoutSeconds.map { "\($0)" } ?? "")
        cells.append(opt(job.maxRssBytes))
        cells.append(opt(job.retries))
        cells.append(job.errorTail ?? "")
        cells.append(job.errorSignature ?? "")
        for column in MetricColumn.allCases { cells.append(job.metrics.csvCell(column)) }
        return cells.map(escape).joined(separator: ",") + "\r\n"
    }

    // MARK: - Reading

    /// Parses a CSV file's content into jobs (see ``table(_:file:)``, which reads it).
    ///
    /// - Throws: ``JobFileError`` `.badData` naming the file, line and column.
    public static func parse(_ bytes: [UInt8], file: String) throws(JobFileError) -> [Job] {
        try table(bytes, file: file).jobs
    }
}
