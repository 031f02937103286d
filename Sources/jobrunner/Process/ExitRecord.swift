import Foundation
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// What `jobshim` appends to its run file when the job and every descendant have ended.
struct ExitRecord: Decodable, Sendable {
    var id: Int
    var pid: Int
    var startedAtMicros: Int64
    var endedAtMicros: Int64
    var exitCode: Int?
    var signal: Int?
    /// CPU time and peak RSS: the kernel's account of every descendant the shim reaped.
    var userMicros: Int64
    var systemMicros: Int64
    var maxRssKilobytes: Int
    /// Descendants still there when the job's own process exited (`nil` from a shim older
    /// than `jobs.leftoverProcesses`).
    var leftoverProcesses: Int?
    /// Whether the job ran in its own cgroup v2 group (`jobs.cgroups`); `nil` from an older shim.
    var cgroup: Bool?
    /// The group's `memory.peak` (charged memory: anonymous, page cache, kernel), when the
    /// memory controller was there.
    var memoryPeakBytes: Int?
    /// Processes of the group the OOM killer took (`memory.events` oom_kill).
    var oomKills: Int?
    /// Why the job could not start (`exec: No such file or directory`), empty when it did.
    var error: String
}

/// `RUN/ID`, the file `jobshim` keeps for its job: line 1 `PID STARTTIME`, line 2 (once the
/// job has ended) the ``ExitRecord``. Lines count only when they end in a newline.
struct RunFile: Sendable {
    var pid: Int32
    var startTime: Int64
    var exit: ExitRecord?

    static func path(directory: String, id: Int) -> String { "\(directory)/\(id)" }

    /// What reading a run file found. A file that cannot be read *now* (no descriptor
    /// left, no memory, an interrupted call) is not a file without a record: taking one for
    /// the other would turn a job that succeeded into `lost`.
    enum Read: Sendable {
        /// No such file, or no complete first line yet.
        case absent
        /// The read failed for a reason that may pass (EMFILE, ENFILE, ENOMEM, EINTR, EAGAIN, EIO…).
        case unreadable(Errno)
        case present(RunFile)

        var file: RunFile? {
            if case .present(let file) = self { return file }
            return nil
        }
    }

    static func read(directory: String, id: Int) -> Read {
        let fd = open(path(directory: directory, id: id), O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let error = errno
            return error == ENOENT || error == ENOTDIR ? .absent : .unreadable(Errno(rawValue: error))
        }
        defer { close(fd) }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .unreadable(Errno(rawValue: errno))
            }
            if n == 0 { break }
            data += buffer[..<n]
        }
        return parse(data).map(Read.present) ?? .absent
    }

    /// The file's content: nil without a complete, valid first line.
    static func parse(_ data: [UInt8]) -> RunFile? {
        guard let firstEnd = data.firstIndex(of: 10) else { return nil }
        let words = String(decoding: data[..<firstEnd], as: UTF8.self).split(separator: " ")
        guard words.count == 2, let pid = Int32(words[0]), let start = Int64(words[1]) else { return nil }
        var file = RunFile(pid: pid, startTime: start)
        let rest = data[(firstEnd + 1)...]
        if rest.last == 10 {
            file.exit = try? JSONDecoder().decode(ExitRecord.self, from: Data(rest))
        }
        return file
    }
}
