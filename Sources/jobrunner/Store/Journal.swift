import CoreMetrics
import Foundation
import JobModel
import ServiceLifecycle
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The append-only journal of job records, with group commit.
///
/// Every change of a job appends its whole record as one JSON line. `append(_:durable:)`
/// with `durable: true` returns once the line is on disk (fdatasync); lines that arrive
/// while a sync runs are written and synced together by the next one. Segments live in
/// `state/journal/NNNNNNNN.jsonl`; ``rotate()`` starts a new one so that a snapshot can
/// cover everything before it, and ``removeSegments(before:)`` drops what a snapshot holds.
final class Journal: Service, Sendable {
    /// A journal, spec or state file that could not be written; `cause` keeps the errno.
    struct Failure: Error, CustomStringConvertible {
        var message: String
        var cause: Errno?
        var description: String { message }

        init(message: String, cause: Errno? = nil) {
            self.message = message
            self.cause = cause
        }

        /// `what` failed with the calling thread's errno: "WHAT: strerror", errno kept.
        static func system(_ what: String) -> Failure {
            let cause = Errno(rawValue: errno)
            return Failure(message: "\(what): \(cause)", cause: cause)
        }
    }

    private struct State {
        var fd: Int32 = -1
        var segment: Int = 0
        var buffer: [UInt8] = []
        /// Where each line of `buffer` ends, and whether a caller waits for it.
        var lines: [(end: Int, durable: Bool)] = []
        /// What to do once the line ending at `end` is on disk.
        var afterSync: [(end: Int, action: @Sendable () -> Void)] = []
        var waiters: [CheckedContinuation<Void, any Error>] = []
        var lastError: String?
    }

    let directory: String
    private let state: Mutex<State>
    /// Wakes the flusher thread; fsync blocks, so it must not run on the (2-thread)
    /// cooperative pool that serves requests.
    private let wakeups = DispatchSemaphore(value: 0)
    private let stopping = Mutex(false)
    /// Serializes writes and syncs.
    private let io = Mutex(())

    /// Called after each successful sync (the audit log syncs with the journal).
    private let onSync: (@Sendable () -> Void)?
    /// Called when writing starts failing (with the error) and when it works again (nil).
    private let onHealthChange: (@Sendable (String?) -> Void)?
    /// Called on every turn of the flusher thread (at least every ``lazyFlushInterval``).
    private let onTick: (@Sendable () -> Void)?

    init(
        directory: String,
        onSync: (@Sendable () -> Void)? = nil,
        onHealthChange: (@Sendable (String?) -> Void)? = nil,
        onTick: (@Sendable () -> Void)? = nil
    ) throws {
        self.directory = directory
        self.onSync = onSync
        self.onHealthChange = onHealthChange
        self.onTick = onTick
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let segments = Self.segments(in: directory)
        let next = (segments.last ?? 0) + 1
        let fd = try Self.open(directory: directory, segment: next)
        state = Mutex(State(fd: fd, segment: next))
    }

    deinit {
        state.withLock { if $0.fd >= 0 { close($0.fd) } }
    }

    private static func open(directory: String, segment: Int) throws -> Int32 {
        let path = segmentPath(directory: directory, segment: segment)
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        if fd < 0 { throw Failure.system("cannot open the journal \(path)") }
        return fd
    }

    static func segmentPath(directory: String, segment: Int) -> String {
        let digits = String(segment)
        return directory + "/" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits + ".jsonl"
    }

    /// Existing segment numbers, oldest first.
    static func segments(in directory: String) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { $0.hasSuffix(".jsonl") ? Int($0.dropLast(6)) : nil }.sorted()
    }

    /// Appends one line (a newline is added). With `durable`, returns once it is synced.
    /// `afterSync` runs (on the flusher thread, in line order) once the line is synced; never
    /// for a durable line whose sync failed (the caller gets the error, the line is dropped).
    func append(_ line: Data, durable: Bool, afterSync: (@Sendable () -> Void)? = nil) async throws {
        if durable {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                state.withLock {
                    $0.buffer.append(contentsOf: line)
                    $0.buffer.append(10)
                    $0.lines.append(($0.buffer.count, true))
                    if let afterSync { $0.afterSync.append(($0.buffer.count, afterSync)) }
                    $0.waiters.append(continuation)
                }
                wakeups.signal()
            }
        } else {
            enqueue(line, afterSync: afterSync)
        }
    }

    /// Returns once every line appended so far is synced (or throws the sync's error; the
    /// lines stay buffered for the next attempt).
    func synced() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            state.withLock { $0.waiters.append(continuation) }
            wakeups.signal()
        }
    }

    /// Appends one line without waiting for it to be synced; lines keep the order of the
    /// calls. It is written and synced with the next durable append, or within
    /// ``lazyFlushInterval``.
    /// `afterSync` runs (on the flusher thread) once the line is synced.
    func enqueue(_ line: Data, afterSync: (@Sendable () -> Void)? = nil) {
        state.withLock {
            $0.buffer.append(contentsOf: line)
            $0.buffer.append(10)
            $0.lines.append(($0.buffer.count, false))
            if let afterSync { $0.afterSync.append(($0.buffer.count, afterSync)) }
        }
    }

    /// Longest time a line appended without `durable` waits for its sync.
    static let lazyFlushInterval = DispatchTimeInterval.milliseconds(50)

    /// Starts a new segment; returns its number. Lines appended before the call are in
    /// older segments (they are flushed first).
    func rotate() throws -> Int {
        try flush()
        return try io.withLock { _ in
            try state.withLock { s in
                let next = s.segment + 1
                let fd = try Self.open(directory: directory, segment: next)
                close(s.fd)
                s.fd = fd
                s.segment = next
                return next
            }
        }
    }

    /// Deletes the segments older than `segment`.
    func removeSegments(before segment: Int) {
        for old in Self.segments(in: directory) where old < segment {
            unlink(Self.segmentPath(directory: directory, segment: old))
        }
    }

    /// Writes and syncs what is buffered, then resumes its waiters.
    ///
    /// When the write or the sync fails (a full disk, a file-size limit, an I/O error) the
    /// segment is cut back to where it was, so that no partial line stays in it; the
    /// callers waiting for durable lines get the error (their requests answer 503 and
    /// nothing of them is kept), and the other lines — changes of jobs already recorded —
    /// stay buffered, in order, for the next attempt.
    func flush() throws {
        try io.withLock { _ in
            let (bytes, lines, waiters, afterSync, fd) = state.withLock { s in
                defer {
                    s.buffer.removeAll(keepingCapacity: true)
                    s.lines.removeAll()
                    s.waiters.removeAll()
                    s.afterSync.removeAll()
                }
                return (s.buffer, s.lines, s.waiters, s.afterSync, s.fd)
            }
            guard !bytes.isEmpty || !waiters.isEmpty else { return }
            let offset = lseek(fd, 0, SEEK_END)
            var failure: Failure?
            var done = 0
            while done < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = Failure.system("cannot write the journal")
                    break
                }
                done += n
            }
            let syncStarted = ContinuousClock.now
            if failure == nil, fdatasync(fd) != 0 {
                failure = Failure.system("cannot sync the journal")
            }
            ServiceMetrics.journalFsync.record(duration: ContinuousClock.now - syncStarted)
            if failure != nil {
                ServiceMetrics.journalFailures.increment()
                if offset >= 0 { _ = ftruncate(fd, offset) }
                var kept: [UInt8] = []
                var keptLines: [(end: Int, durable: Bool)] = []
                var keptActions: [(end: Int, action: @Sendable () -> Void)] = []
                var start = 0
                var actions = afterSync[...]
                for line in lines {
                    if !line.durable {
                        kept += bytes[start..<line.end]
                        keptLines.append((kept.count, false))
                        while let first = actions.first, first.end == line.end {
                            keptActions.append((kept.count, first.action))
                            actions.removeFirst()
                        }
                    }
                    start = line.end
                }
                state.withLock { s in
                    s.lines = keptLines + s.lines.map { ($0.end + kept.count, $0.durable) }
                    s.afterSync = keptActions + s.afterSync.map { ($0.end + kept.count, $0.action) }
                    s.buffer = kept + s.buffer
                }
            } else {
                for item in afterSync { item.action() }
            }
            let previous = state.withLock { s in
                defer { s.lastError = failure?.message }
                return s.lastError
            }
            if (previous == nil) != (failure == nil) { onHealthChange?(failure?.message) }
            if failure == nil { onSync?() }
            for waiter in waiters {
                if let failure { waiter.resume(throwing: failure) } else { waiter.resume() }
            }
            if let failure { throw failure }
        }
    }

    /// The last write or sync error, `nil` when the last flush succeeded.
    var lastError: String? { state.withLock { $0.lastError } }

    /// After a failure with nothing left to write: whether 64 KiB can be allocated at the
    /// end of the segment again (then the error is cleared and requests are accepted).
    private func probeSpace() {
        io.withLock { _ in
            let fd = state.withLock { $0.fd }
            let offset = lseek(fd, 0, SEEK_END)
            guard offset >= 0, posix_fallocate(fd, offset, 65_536) == 0 else { return }
            _ = ftruncate(fd, offset)
            let cleared = state.withLock { s in
                guard s.buffer.isEmpty, s.lastError != nil else { return false }
                s.lastError = nil
                return true
            }
            if cleared { onHealthChange?(nil) }
        }
    }

    /// Runs the flusher thread until graceful shutdown, then flushes what is left.
    func run() async throws {
        let thread = Thread { [self] in
            var lastProbe = ContinuousClock.now
            while true {
                _ = wakeups.wait(timeout: .now() + Self.lazyFlushInterval)
                try? flush()
                onTick?()
                if stopping.withLock({ $0 }) { return }
                if lastError != nil, ContinuousClock.now - lastProbe > .milliseconds(500) {
                    lastProbe = ContinuousClock.now
                    probeSpace()
                }
            }
        }
        thread.name = "jobrunner-journal"
        thread.start()
        try? await gracefulShutdown()
        stopping.withLock { $0 = true }
        wakeups.signal()
        try? flush()
        onTick?()
    }

    /// Reads every segment in order; a torn last line of a segment is ignored.
    static func replay(
        directory: String
    ) -> Replay {
        var jobs: [Job] = []
        var tags: [(record: Int, seq: Int, type: String)] = []
        var torn = 0
        var keys: [IdempotencyEntry] = []
        var outbox: [OutboxEntry.JournalLine] = []
        let decoder = JSONDecoder()
        for segment in segments(in: directory) {
            guard let data = FileManager.default.contents(atPath: segmentPath(directory: directory, segment: segment))
            else { continue }
            var start = data.startIndex
            while start < data.endIndex {
                let end = data[start...].firstIndex(of: 10)
                let line = data[start..<(end ?? data.endIndex)]
                if let notification = OutboxEntry.parse(journalLine: line) {
                    outbox.append(notification)
                } else if let job = try? decoder.decode(Job.self, from: line) {
                    if let tag = ServerEvent.parseTag(line) { tags.append((jobs.count, tag.seq, tag.type)) }
                    jobs.append(job)
                    if let entry = IdempotencyEntry.fromJournalLine(line) { keys.append(entry) }
                    let entries = OutboxEntry.fromRecordLine(line)
                    if !entries.isEmpty { outbox.append(.entries(entries)) }
                } else if !line.isEmpty {
                    torn += 1
                }
                guard let end else { break }
                start = data.index(after: end)
            }
        }
        // The newest changes are replayed to `GET /v1/events` clients that resume.
        let events = tags.suffix(EventHub.defaultReplayCapacity).map {
            ServerEvent(seq: $0.seq, type: $0.type, data: JobJSON.encode(jobs[$0.record]))
        }
        return Replay(
            records: jobs,
            torn: torn,
            idempotency: keys,
            outbox: outbox,
            events: events,
            lastEventSeq: tags.map(\.seq).max() ?? 0
        )
    }

    /// What ``replay(directory:)`` read.
    struct Replay {
        var records: [Job]
        /// Lines that were neither a record nor anything else the journal writes (a torn end).
        var torn: Int
        var idempotency: [IdempotencyEntry]
        var outbox: [OutboxEntry.JournalLine]
        /// The newest job changes (``EventHub/defaultReplayCapacity``), as first announced.
        var events: [ServerEvent]
        /// The highest event sequence number in the journal (0: none).
        var lastEventSeq: Int
    }
}
