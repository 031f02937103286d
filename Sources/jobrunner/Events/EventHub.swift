import Foundation
import JobModel
import Synchronization

/// One event of `GET /v1/events`, in its Server-Sent Events form.
struct ServerEvent: Sendable, Equatable {
    /// The sequence number of a job change (its `id:` line); `nil` for live figures and notices,
    /// which are not replayed.
    var seq: Int?
    /// `created`, `started`, `updated`, `retried`, `cancelled`, `ended`; `metrics`; `reset`,
    /// `dropped`.
    var type: String
    /// One line of JSON.
    var data: [UInt8]

    /// `id: N`, `event: TYPE`, `data: JSON` and the blank line that ends an event.
    var wire: [UInt8] {
        if type == ":" { return Array(": keep-alive\n\n".utf8) }
        var out: [UInt8] = []
        out.reserveCapacity(data.count + 40)
        if let seq { out += Array("id: \(seq)\n".utf8) }
        out += Array("event: ".utf8) + Array(type.utf8) + [10]
        out += Array("data: ".utf8) + data + [10, 10]
        return out
    }

    /// The kind of change a journaled record announces: a job's first record is `created`
    /// (`retried` for a retry), a record that leaves `pending` is `started`, a final one is
    /// `ended` (`cancelled` for a cancel), anything else (a requeue, a dependency's reason)
    /// `updated`.
    static func changeType(of job: Job, before: JobStatus?) -> String {
        if job.status.isFinal { return job.status == .cancelled ? "cancelled" : "ended" }
        guard let before else { return job.parentId == nil ? "created" : "retried" }
        return before == .pending && job.status == .running ? "started" : "updated"
    }

    /// The tag a job's journal line carries after its fields: `,"event":{"seq":N,"type":"T"}`
    /// (an extra key, as `idempotency` and `outbox` are: readers of records skip it).
    static func journalTag(seq: Int, type: String) -> [UInt8] {
        Array(#","event":{"seq":\#(seq),"type":""#.utf8) + Array(type.utf8) + Array(#""}"#.utf8)
    }

    /// The `(seq, type)` tag of a journal line, when it ends with one.
    static func parseTag(_ line: Data) -> (seq: Int, type: String)? {
        let marker = Array(#","event":{"seq":"#.utf8)
        guard line.count > marker.count + 12, line.last == 125 else { return nil }
        // The tag is last: look for it in the line's tail only.
        let tail = Array(line.suffix(80))
        guard let start = tail.firstRange(of: marker)?.upperBound else { return nil }
        var i = start
        var seq = 0
        while i < tail.count, (48...57).contains(tail[i]) {
            seq = seq * 10 + Int(tail[i] - 48)
            i += 1
        }
        let typeMarker = Array(#","type":""#.utf8)
        guard i > start, tail[i...].starts(with: typeMarker) else { return nil }
        i += typeMarker.count
        guard let end = tail[i...].firstIndex(of: 34) else { return nil }
        return (seq, String(decoding: tail[i..<end], as: UTF8.self))
    }
}

/// The fan-out of `GET /v1/events`: the job changes the journal has synced, in order, to
/// every subscriber, and the newest ``replayCapacity`` of them for a client that resumes
/// with `Last-Event-ID`.
///
/// The supervisor never waits for a client: ``publish(_:)`` appends to each subscriber's
/// buffer under one lock and returns. A subscriber more than ``clientBuffer`` events behind
/// is dropped: its buffer is replaced by one `dropped` event and its stream ends. Events are
/// shared (copy-on-write arrays), so a thousand lagging clients hold pointers, not copies.
final class EventHub: Sendable {
    static let defaultReplayCapacity = 4_096
    static let defaultClientBuffer = 4_096

    private struct Subscriber {
        var pending: [ServerEvent] = []
        var waiter: CheckedContinuation<[ServerEvent]?, Never>?
        /// Ends after its pending events are taken (dropped, shut down, cancelled).
        var ending = false
    }

    private struct State {
        /// The newest job changes, oldest first, from `ringStart`.
        var ring: [ServerEvent] = []
        var ringStart = 0
        var lastSeq = 0
        var subscribers: [Int: Subscriber] = [:]
        var nextSubscriber = 0
        var closed = false
        /// Synced changes not yet published (``stage(_:)``).
        var staged: [ServerEvent] = []
    }

    let replayCapacity: Int
    let clientBuffer: Int
    private let state = Mutex(State())

    init(replayCapacity: Int = EventHub.defaultReplayCapacity, clientBuffer: Int = EventHub.defaultClientBuffer) {
        self.replayCapacity = max(1, replayCapacity)
        self.clientBuffer = max(1, clientBuffer)
    }

    /// At start-up: the changes the journal still holds (in order) and the last sequence
    /// number ever used, so that numbers go on where they stopped.
    func seed(_ events: [ServerEvent], lastSeq: Int) {
        state.withLock { s in
            s.ring = Array(events.suffix(replayCapacity))
            s.ringStart = 0
            s.lastSeq = max(lastSeq, events.last?.seq ?? 0)
        }
    }

    /// The changes kept for replay, oldest first.
    func recent() -> [ServerEvent] { state.withLock { Array($0.ring[$0.ringStart...]) } }

    /// The last sequence number published (or seeded).
    var lastSeq: Int { state.withLock { $0.lastSeq } }

    var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// After ``close()``: no new subscriber is taken.
    var isClosed: Bool { state.withLock { $0.closed } }

    /// Sends `event` to every subscriber; a job change is also kept for replay.
    func publish(_ event: ServerEvent) { publish(contentsOf: [event]) }

    /// Keeps `event` for the next ``publishStaged()``: the journal's flusher stages each
    /// change it has synced and publishes them together after the sync, so that a burst of
    /// changes wakes each subscriber once per sync, not once per change.
    func stage(_ event: ServerEvent) {
        state.withLock { $0.staged.append(event) }
    }

    /// Publishes what ``stage(_:)`` kept, in order.
    func publishStaged() {
        let batch = state.withLock { s in
            defer { s.staged.removeAll(keepingCapacity: true) }
            return s.staged
        }
        if !batch.isEmpty { publish(contentsOf: batch) }
    }

    /// Sends `events` (in order) to every subscriber under one lock; job changes are also
    /// kept for replay.
    func publish(contentsOf events: [ServerEvent]) {
        state.withLock { s in
            for event in events {
                guard let seq = event.seq else { continue }
                s.lastSeq = max(s.lastSeq, seq)
                s.ring.append(event)
                if s.ring.count - s.ringStart > replayCapacity {
                    s.ringStart += 1
                    // Compacted now and then, not on every event.
                    if s.ringStart >= replayCapacity {
                        s.ring.removeFirst(s.ringStart)
                        s.ringStart = 0
                    }
                }
            }
            for id in s.subscribers.keys { Self.deliver(events, to: id, in: &s, limit: clientBuffer) }
        }
    }

    private static func deliver(_ events: [ServerEvent], to id: Int, in s: inout State, limit: Int) {
        guard var sub = s.subscribers[id], !sub.ending else { return }
        if let waiter = sub.waiter, events.count <= limit {
            sub.waiter = nil
            s.subscribers[id] = sub
            waiter.resume(returning: events)
            return
        }
        if sub.pending.count + events.count > limit {
            let behind = sub.pending.count + events.count
            let last = sub.pending.last { $0.seq != nil }?.seq
            sub.pending = [
                Self.notice(
                    "dropped",
                    "the client fell \(behind) events behind; reconnect with Last-Event-ID to resume",
                    lastEventId: last
                )
            ]
            sub.ending = true
            if let waiter = sub.waiter {
                sub.waiter = nil
                s.subscribers[id] = sub
                waiter.resume(returning: sub.pending)
                return
            }
        } else {
            sub.pending += events
        }
        s.subscribers[id] = sub
    }

    /// A notice event (no id): `{"message": …, "lastEventId": …}`.
    static func notice(_ type: String, _ message: String, lastEventId: Int? = nil) -> ServerEvent {
        var object: [String: Any] = ["message": message]
        if let lastEventId { object["lastEventId"] = lastEventId }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return ServerEvent(seq: nil, type: type, data: Array(data))
    }

    /// A new subscriber. With `lastEventID`, the changes after it come first when the
    /// replay buffer still holds them; otherwise a `reset` event says that some were
    /// missed (the client reloads what it shows). Registration and replay happen under
    /// one lock: nothing is missed or sent twice between them.
    func subscribe(lastEventID: Int?) -> Int? {
        state.withLock { s in
            guard !s.closed else { return nil }
            let id = s.nextSubscriber
            s.nextSubscriber += 1
            var sub = Subscriber()
            if let lastEventID {
                let kept = s.ring[s.ringStart...]
                let oldest = kept.first?.seq ?? (s.lastSeq + 1)
                if lastEventID > s.lastSeq {
                    sub.pending.append(
                        Self.notice(
                            "reset",
                            "event \(lastEventID) is newer than the last one (\(s.lastSeq)): reload",
                            lastEventId: s.lastSeq
                        )
                    )
                } else if lastEventID + 1 < oldest {
                    sub.pending.append(
                        Self.notice(
                            "reset",
                            "events after \(lastEventID) are no longer kept (the oldest kept is \(oldest)): reload",
                            lastEventId: s.lastSeq
                        )
                    )
                } else {
                    sub.pending += kept.filter { ($0.seq ?? 0) > lastEventID }
                }
            }
            s.subscribers[id] = sub
            return id
        }
    }

    /// The next events of subscriber `id` (all that are waiting, at least one); `nil` once its
    /// stream has ended (or the task is cancelled).
    func next(_ id: Int) async -> [ServerEvent]? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[ServerEvent]?, Never>) in
                let ready: [ServerEvent]?? = state.withLock { s in
                    guard var sub = s.subscribers[id] else { return .some(nil) }
                    if !sub.pending.isEmpty {
                        defer { s.subscribers[id] = sub }
                        let out = sub.pending
                        sub.pending = []
                        return .some(out)
                    }
                    if sub.ending || Task.isCancelled {
                        s.subscribers[id] = nil
                        return .some(nil)
                    }
                    sub.waiter = continuation
                    s.subscribers[id] = sub
                    return .none
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            end(id)
        }
    }

    /// Ends subscriber `id`'s stream (after what it has been sent); a waiting `next` returns `nil`.
    func end(_ id: Int) {
        let waiter = state.withLock { s -> CheckedContinuation<[ServerEvent]?, Never>? in
            guard var sub = s.subscribers[id] else { return nil }
            sub.ending = true
            let waiter = sub.waiter
            sub.waiter = nil
            if waiter != nil { s.subscribers[id] = nil } else { s.subscribers[id] = sub }
            return waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Removes subscriber `id` (its connection is gone).
    func unsubscribe(_ id: Int) {
        let waiter = state.withLock { $0.subscribers.removeValue(forKey: id)?.waiter }
        waiter?.resume(returning: nil)
    }

    /// Shutdown: every stream ends, no new subscriber is taken.
    func close() {
        let ids = state.withLock { s in
            s.closed = true
            return Array(s.subscribers.keys)
        }
        for id in ids { end(id) }
    }
}

/// `STATE/events.jsonl`: at each snapshot cut, the last event sequence number and the
/// newest changes (the replay buffer), so that numbers go on, and clients resume, after the
/// journal segments that held them are gone (a restart, an upgrade). First line
/// `{"lastSeq":N}`, then one `{"seq":N,"type":"T","job":{…}}` per change, oldest first.
enum EventFile {
    static func path(state: String) -> String { state + "/events.jsonl" }

    static func load(state: String) -> (lastSeq: Int, events: [ServerEvent]) {
        guard let data = FileManager.default.contents(atPath: path(state: state)) else { return (0, []) }
        struct Head: Decodable { var lastSeq: Int }
        var lines = data.split(separator: 10)[...]
        guard let first = lines.popFirst(), let head = try? JSONDecoder().decode(Head.self, from: first) else {
            return (0, [])
        }
        var events: [ServerEvent] = []
        let prefix = Array(#"{"seq":"#.utf8)
        for line in lines {
            // {"seq":N,"type":"T","job":RECORD}
            let bytes = Array(line)
            guard bytes.starts(with: prefix), let comma = bytes[prefix.count...].firstIndex(of: 44),
                let seq = Int(String(decoding: bytes[prefix.count..<comma], as: UTF8.self)),
                let typeEnd = bytes[(comma + 9)...].firstIndex(of: 34),
                bytes.count > typeEnd + 9, bytes.last == 125
            else { continue }
            let type = String(decoding: bytes[(comma + 9)..<typeEnd], as: UTF8.self)
            events.append(ServerEvent(seq: seq, type: type, data: Array(bytes[(typeEnd + 8)..<(bytes.count - 1)])))
        }
        return (head.lastSeq, events)
    }

    static func save(lastSeq: Int, events: [ServerEvent], state: String) throws {
        var out = Array(#"{"lastSeq":\#(lastSeq)}"#.utf8) + [10]
        for event in events {
            guard let seq = event.seq else { continue }
            out += Array(#"{"seq":\#(seq),"type":""#.utf8) + Array(event.type.utf8) + Array(#"","job":"#.utf8)
            out += event.data + [125, 10]
        }
        try OutputFile.write(out, toAtomicPath: path(state: state))
    }
}
