import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Finds the running shims of a state directory after a restart: the shim, not the job's
/// own process, is the root of a job's tree (its subreaper), and it may run on after the
/// job's process exited (waiting for or stopping leftover processes).
enum ShimFinder {
    /// The pid of each running `jobshim` whose job is in `ids` and whose state directory
    /// (argument 1) or `--run-dir` is this manager's. One pass over /proc, at start-up.
    static func find(ids: Set<Int>, stateDirectory: String, runDirectory: String) -> [Int: pid_t] {
        guard let dir = opendir("/proc") else { return [:] }
        defer { closedir(dir) }
        var found: [Int: pid_t] = [:]
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            guard let pid = pid_t(name), pid > 0,
                let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
                comm.hasPrefix("jobshim"),
                let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
            else { continue }
            let arguments = cmdline.split(separator: 0, omittingEmptySubsequences: false).map {
                String(decoding: $0, as: UTF8.self)
            }
            guard arguments.count > 3, let id = Int(arguments[2]), ids.contains(id) else { continue }
            let runDirIndex = arguments.firstIndex(of: "--run-dir")
            let shimRunDirectory = runDirIndex.flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
            guard arguments[1] == stateDirectory || shimRunDirectory == runDirectory else { continue }
            found[id] = pid
        }
        return found
    }
}
