import Foundation
import JobModel

/// `Idempotency-Key` of a `POST /v1/jobs`: the same key (for the same token) within
/// `jobs.idempotencyWindowSeconds` answers the first job instead of launching another.
struct IdempotencyKey: Sendable, Hashable {
    /// The token id of the call ("" without tokens): keys of different callers never meet.
    var scope: String
    var key: String
    /// SHA-256 of the request body: the same key with another body is a conflict (409).
    var bodySHA256: String

    /// Refuses a key that is empty, longer than 255 bytes or not printable ASCII.
    static func isValid(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.count <= 255 && key.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7e }
    }
}

/// A key recorded with the job it created: journaled in the job's creation line (one fsync
/// for both) and, at each snapshot cut, in `STATE/idempotency.json`, so that it outlives the
/// journal segments the snapshot replaces.
struct IdempotencyEntry: Codable, Sendable, Hashable {
    var scope: String
    var key: String
    var bodySHA256: String
    var job: Int
    /// Unix seconds of the job's creation.
    var at: Double

    var lookupKey: String { scope + "\n" + key }

    static func path(state: String) -> String { state + "/idempotency.json" }

    /// The entries of `STATE/idempotency.json`; none when it does not exist or cannot be read.
    static func load(state: String) -> [IdempotencyEntry] {
        guard let data = FileManager.default.contents(atPath: path(state: state)) else { return [] }
        return (try? JSONDecoder().decode([IdempotencyEntry].self, from: data)) ?? []
    }

    /// Writes `entries` to `STATE/idempotency.json` (atomically, synced).
    static func save(_ entries: [IdempotencyEntry], state: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try OutputFile.write(try encoder.encode(entries), toAtomicPath: path(state: state), mode: 0o600)
    }

    /// A job's creation line for the journal: its record with this entry as `idempotency`.
    func journalLine(for job: Job) -> Data {
        var line = JobJSON.encode(job)
        line.removeLast()  // "}"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        line += Array(",\"idempotency\":".utf8) + Array((try? encoder.encode(self)) ?? Data("null".utf8)) + [125]
        return Data(line)
    }

    /// The entry of a journal line, when it has one.
    static func fromJournalLine(_ line: Data) -> IdempotencyEntry? {
        struct Line: Decodable { var idempotency: IdempotencyEntry? }
        guard line.range(of: Data("\"idempotency\":".utf8)) != nil else { return nil }
        return (try? JSONDecoder().decode(Line.self, from: line))?.idempotency
    }
}
