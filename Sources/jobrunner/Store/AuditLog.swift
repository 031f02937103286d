import Foundation
import JobModel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The append-only audit log (JSON Lines): one line per API call and per life event of the
/// manager. Lines are written with one `write(2)` before the response is sent, and synced
/// with the journal's group commit. Past `audit.maxBytes` the file is rotated to
/// `FILE.1` … `FILE.N` (`audit.keep`). Env values and tokens never appear in it.
final class AuditLog: Sendable {
    let path: String
    let maxBytes: Int
    let keep: Int
    private struct State {
        var fd: Int32
        var size: Int
        /// Lines not yet written (the disk was full): written before the next line.
        var pending: [UInt8] = []
        var droppedLines = 0
    }
    private let state: Mutex<State>
    /// Most bytes kept in memory while the file cannot be written.
    static let maxPendingBytes = 8 << 20

    init(path: String, maxBytes: Int, keep: Int) {
        self.path = path
        self.maxBytes = maxBytes
        self.keep = keep
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        let size = fd >= 0 ? max(0, Int(lseek(fd, 0, SEEK_END))) : 0
        state = Mutex(State(fd: fd, size: size))
    }

    deinit {
        state.withLock { s in
            if !s.pending.isEmpty { writePending(&s) }
            if s.fd >= 0 { close(s.fd) }
        }
    }

    /// One audit line (with its newline): `fields`, the event and the time, keys sorted.
    ///
    /// Written by hand: with JSONSerialization (sorted keys compare through ICU) the audit
    /// line cost more than the rest of a request.
    static func line(_ event: String, _ fields: [String: any Sendable]) -> [UInt8]? {
        var all = fields
        all["time"] = Timestamp.format(Date())
        all["event"] = event
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(256)
        for (n, key) in all.keys.sorted().enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            JobJSON.appendString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            switch all[key]! {
            case let v as String: JobJSON.appendString(v, to: &out)
            case let v as Bool: out += Array((v ? "true" : "false").utf8)
            case let v as Int: out += Array(String(v).utf8)
            case let v as Int32: out += Array(String(v).utf8)
            case let v as Int64: out += Array(String(v).utf8)
            case let v as UInt64: out += Array(String(v).utf8)
            case let v as Double: JobJSON.appendDouble(v, to: &out)
            case is NSNull: out += Array("null".utf8)
            case let v: JobJSON.appendString("\(v)", to: &out)
            }
        }
        out += [UInt8(ascii: "}"), 10]
        return out
    }

    /// Appends one line to the file at `path` by name, without holding it open or rotating
    /// it: for the watchdog, a second writer of the server's log, which rotates it.
    static func append(_ event: String, _ fields: [String: any Sendable] = [:], toPath path: String) {
        guard let line = line(event, fields) else { return }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    /// Appends one event with `fields` (strings, numbers, booleans) and the time.
    /// A line that cannot be written (full disk, file-size limit) is kept in memory, in
    /// order, and written before the next one; past ``maxPendingBytes`` the oldest are
    /// dropped and a later line says how many.
    ///
    /// With `deferred` (calls that change nothing: GETs) the line is written with the next
    /// line that is not deferred, by ``flush()`` (every 50 ms, from the journal's thread),
    /// or once 64 KiB wait: one write for many reads.
    func record(_ event: String, _ fields: [String: any Sendable] = [:], deferred: Bool = false) {
        guard let line = Self.line(event, fields) else { return }
        append(line: line, deferred: deferred)
    }

    private func append(line: [UInt8], deferred: Bool) {
        state.withLock { s in
            s.pending += line
            while s.pending.count > Self.maxPendingBytes, let cut = s.pending.firstIndex(of: 10) {
                s.droppedLines += 1
                s.pending.removeFirst(cut + 1)
            }
            if !deferred || s.pending.count >= 65_536 { writePending(&s) }
        }
    }

    /// The line of one API call, written without a dictionary: it is on every request's
    /// path. Keys in the order ``line(_:_:)`` sorts them to.
    func apiCall(
        client: String,
        tokenID: String?,
        method: String,
        path: String,
        status: Int,
        jobID: Int?,
        latencyMs: Double,
        deferred: Bool
    ) {
        var out: [UInt8] = []
        out.reserveCapacity(200)
        out += Array(#"{"client":"#.utf8)
        JobJSON.appendString(client, to: &out)
        out += Array(#","event":"apiCall""#.utf8)
        if let jobID { out += Array(#","jobId":\#(jobID)"#.utf8) }
        out += Array(#","latencyMs":"#.utf8)
        JobJSON.appendDouble(latencyMs, to: &out)
        out += Array(#","method":"#.utf8)
        JobJSON.appendString(method, to: &out)
        out += Array(#","path":"#.utf8)
        JobJSON.appendString(path, to: &out)
        out += Array(#","status":\#(status),"time":""#.utf8)
        out += Array(Timestamp.format(Date()).utf8)
        out += Array(#"","tokenId":"#.utf8)
        if let tokenID { JobJSON.appendString(tokenID, to: &out) } else { out += Array("null".utf8) }
        out += [UInt8(ascii: "}"), 10]
        append(line: out, deferred: deferred)
    }

    /// Writes the lines that wait.
    func flush() {
        state.withLock { s in if !s.pending.isEmpty { writePending(&s) } }
    }

    /// Writes the pending lines with one write; a partial write is cut back off the file.
    private func writePending(_ s: inout State) {
        if s.droppedLines > 0, let note = Self.line("auditLinesDropped", ["count": s.droppedLines]) {
            s.pending = Array(note) + s.pending
            s.droppedLines = 0
        }
        // Whole lines, each file at most maxBytes: a batch larger than the room left is
        // split at a line end, the rest goes to the next file (a busy moment can gather more
        // lines between two flushes than one file holds).
        while !s.pending.isEmpty {
            var end = s.pending.count
            if s.size + end > maxBytes {
                let room = max(0, maxBytes - s.size)
                end = s.pending[..<min(room, s.pending.count)].lastIndex(of: 10).map { $0 + 1 } ?? 0
                if end == 0 {
                    if s.size > 0 {
                        rotate(&s)
                        continue
                    }
                    // One line longer than a whole file: it gets a file of its own.
                    end = (s.pending.firstIndex(of: 10) ?? (s.pending.count - 1)) + 1
                }
            }
            guard s.fd >= 0 else { return }
            let written = s.pending.withUnsafeBytes { write(s.fd, $0.baseAddress, end) }
            guard written == end else {
                if written > 0 { _ = ftruncate(s.fd, off_t(s.size)) }
                return
            }
            s.size += written
            s.pending.removeFirst(end)
        }
    }

    private func rotate(_ s: inout State) {
        if s.fd >= 0 { close(s.fd) }
        if keep > 0 {
            for n in stride(from: keep - 1, through: 1, by: -1) { rename("\(path).\(n)", "\(path).\(n + 1)") }
            rename(path, "\(path).1")
        } else {
            unlink(path)
        }
        s.fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        s.size = 0
    }

    /// Makes the written lines durable (called by the journal's group commit).
    func sync() {
        state.withLock { s in
            if !s.pending.isEmpty { writePending(&s) }
            if s.fd >= 0 { fdatasync(s.fd) }
        }
    }
}
