import Crypto
import Foundation
import JobModel

/// What a webhook can be told (`notify.webhooks[].events`).
enum NotifyEvent: String, Codable, Sendable, CaseIterable {
    /// A job succeeded.
    case jobSucceeded
    /// A job failed, crashed, timed out or was lost, and no retry follows.
    case jobFailedFinally
    /// A job was skipped (a job it depended on ended so that its condition cannot hold).
    case jobSkipped
    /// A job was cancelled.
    case jobCancelled
    /// A queue's last running or pending job ended.
    case queueDrained

    /// The event a job's end is, if any.
    static func ofEnd(_ job: Job) -> NotifyEvent? {
        switch job.status {
        case .succeeded: .jobSucceeded
        case .skipped: .jobSkipped
        case .cancelled: .jobCancelled
        case .failed, .crashed, .timedOut, .lost: job.retriedBy == nil ? .jobFailedFinally : nil
        case .pending, .running: nil
        }
    }
}

/// One receiver: `notify.webhooks[]`.
struct WebhookConfiguration: Sendable, Hashable {
    /// http:// or https://.
    var url: String
    var events: Set<NotifyEvent>
    /// Signs each body (`X-Jobrunner-Signature: sha256=HEX`, HMAC-SHA256); `nil` = unsigned.
    var secret: String?
}

/// `notify.*`.
struct NotifyConfiguration: Sendable {
    var webhooks: [WebhookConfiguration] = []
    /// A message not delivered after this long is dropped (audited `webhookDropped`).
    var maxAgeSeconds = 7 * 86_400.0
    /// Seconds a receiver has to answer one delivery.
    var timeoutSeconds = 10.0
}

/// A message waiting for its receiver: journaled in the line of the record change that
/// caused it (`"outbox": […]` beside the job's fields, so that the end and its message are
/// on disk together or not at all), acknowledged (`{"delivered": seq}`) once the receiver
/// answered 2xx, and kept in `STATE/outbox.json` across snapshot cuts until then.
struct OutboxEntry: Codable, Sendable, Hashable {
    /// Unique and increasing: the `X-Jobrunner-Delivery` header, for receivers to drop repeats.
    var seq: Int
    var url: String
    var event: NotifyEvent
    /// The JSON body, `{"event": …, "job": {…}}` or `{"event": …, "queue": {…}}`.
    var body: String
    /// Unix seconds.
    var createdAt: Double

    static func path(state: String) -> String { state + "/outbox.json" }

    /// `entries` as the JSON list of an `"outbox"` field.
    static func encodeList(_ entries: [OutboxEntry]) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(entries)) ?? Data("[]".utf8))
    }

    /// A line of entries alone (`{"outbox": […]}`), for messages no record change carries.
    static func journalLine(_ entries: [OutboxEntry]) -> Data {
        Data(Array("{\"outbox\":".utf8) + encodeList(entries) + [125])
    }

    /// A job's record line with `entries` beside its fields.
    static func journalLine(_ record: [UInt8], with entries: [OutboxEntry]) -> Data {
        guard !entries.isEmpty else { return Data(record) }
        var line = record
        line.removeLast()  // "}"
        return Data(line + Array(",\"outbox\":".utf8) + encodeList(entries) + [125])
    }

    /// The entries a job's record line carries.
    static func fromRecordLine(_ line: Data) -> [OutboxEntry] {
        guard line.range(of: Data("\"outbox\":[".utf8)) != nil else { return [] }
        struct Line: Decodable { var outbox: [OutboxEntry]? }
        return (try? JSONDecoder().decode(Line.self, from: line))?.outbox ?? []
    }

    /// The journal line acknowledging delivery `seq`.
    static func deliveredLine(_ seq: Int) -> Data { Data("{\"delivered\":\(seq)}".utf8) }

    /// An outbox line or an acknowledgement from the journal; `nil` for any other line.
    enum JournalLine: Sendable {
        case entries([OutboxEntry])
        case delivered(Int)
    }

    /// A line of entries alone or an acknowledgement; `nil` for any other line.
    static func parse(journalLine line: Data) -> JournalLine? {
        if line.starts(with: Data("{\"outbox\":".utf8)) {
            struct Line: Decodable { var outbox: [OutboxEntry] }
            return (try? JSONDecoder().decode(Line.self, from: line)).map { .entries($0.outbox) }
        }
        if line.starts(with: Data("{\"delivered\":".utf8)) {
            struct Line: Decodable { var delivered: Int }
            return (try? JSONDecoder().decode(Line.self, from: line)).map { .delivered($0.delivered) }
        }
        return nil
    }

    /// `STATE/outbox.json`: the messages not delivered at the last cut, and the next `seq`
    /// (delivery ids are never reused, even once every message was delivered).
    struct Saved: Codable, Sendable {
        var nextSeq = 1
        var entries: [OutboxEntry] = []
    }

    static func load(state: String) -> Saved {
        guard let data = FileManager.default.contents(atPath: path(state: state)) else { return Saved() }
        return (try? JSONDecoder().decode(Saved.self, from: data)) ?? Saved()
    }

    static func save(_ saved: Saved, state: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try OutputFile.write(try encoder.encode(saved), toAtomicPath: path(state: state), mode: 0o600)
    }

    /// `sha256=HEX`: HMAC-SHA256 of `body` with `secret`.
    static func signature(body: Data, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }
}
