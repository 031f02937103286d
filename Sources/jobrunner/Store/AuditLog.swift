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
    private let state: Mutex<(fd: Int32, size: Int)>

    init(path: String, maxBytes: Int, keep: Int) {
        self.path = path
        self.maxBytes = maxBytes
        self.keep = keep
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        let size = fd >= 0 ? max(0, Int(lseek(fd, 0, SEEK_END))) : 0
        state = Mutex((fd, size))
    }

    deinit { state.withLock { if $0.fd >= 0 { close($0.fd) } } }

    /// One audit line (with its newline): `fields`, the event and the time, keys sorted.
    static func line(_ event: String, _ fields: [String: any Sendable]) -> Data? {
        var object: [String: Any] = fields
        object["time"] = Timestamp.format(Date())
        object["event"] = event
        guard
            var line = try? JSONSerialization.data(
                withJSONObject: object,
                options: [.sortedKeys, .withoutEscapingSlashes]
            )
        else { return nil }
        line.append(10)
        return line
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
    func record(_ event: String, _ fields: [String: any Sendable] = [:]) {
        guard let line = Self.line(event, fields) else { return }
        state.withLock { s in
            if s.size + line.count > maxBytes { rotate(&s) }
            guard s.fd >= 0 else { return }
            let written = line.withUnsafeBytes { write(s.fd, $0.baseAddress, $0.count) }
            if written > 0 { s.size += written }
        }
    }

    private func rotate(_ s: inout (fd: Int32, size: Int)) {
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
        state.withLock { if $0.fd >= 0 { fdatasync($0.fd) } }
    }
}
