import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One process per state directory and role: an exclusive `flock` on `STATE/NAME.lock`,
/// held for the life of the process (the descriptor is never closed; shims never inherit
/// it: it is close-on-exec and they are spawned with every descriptor above 2 closed).
/// The holder writes its pid into the file so that the next one can name it.
///
/// `serve` takes `server.lock` before it reads or writes anything in the directory; the
/// watchdog takes `watchdog.lock`. Two managers on one directory would hand out the same
/// job ids and delete each other's journal segments.
struct StateLock: Sendable {
    let path: String
    let descriptor: Int32

    enum Failure: Error, CustomStringConvertible {
        /// Another process holds the lock (its pid when it wrote one).
        case held(path: String, holder: Int32?)
        case cannotOpen(path: String, errno: Int32)

        var description: String {
            switch self {
            case .held(let path, let holder):
                let who = holder.map { "process \($0)" } ?? "another process"
                return "\(who) holds \(path): another jobrunner uses this state directory"
            case .cannotOpen(let path, let errno):
                return "cannot open \(path): \(String(cString: strerror(errno)))"
            }
        }
    }

    static func path(state: String, name: String) -> String { "\(state)/\(name).lock" }

    /// Takes the lock or throws naming its holder.
    static func acquire(state: String, name: String) throws(Failure) -> StateLock {
        let path = path(state: state, name: name)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .cannotOpen(path: path, errno: errno) }
        var rc: Int32
        repeat { rc = flock(fd, LOCK_EX | LOCK_NB) } while rc != 0 && errno == EINTR
        guard rc == 0 else {
            let holder = holderPid(fd)
            close(fd)
            throw .held(path: path, holder: holder)
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return StateLock(path: path, descriptor: fd)
    }

    enum Holder: Equatable {
        case free
        /// Held, by the pid the holder wrote (nil when it wrote none).
        case held(Int32?)
    }

    /// Whether the lock `name` is held now, and by whom.
    static func holder(state: String, name: String) -> Holder {
        let fd = open(path(state: state, name: name), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .free }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return .free
        }
        return .held(holderPid(fd))
    }

    private static func holderPid(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
