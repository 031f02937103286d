import CSystemSupport
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Starts `jobshim` processes: one per job, in its own session, so that jobs outlive the
/// manager.
struct ShimLauncher: Sendable {
    let shimPath: String
    let stateDirectory: String

    /// Finds `jobshim`: the configured path, else next to this executable.
    static func locateShim(configured: String?) throws -> String {
        if let configured {
            guard access(configured, X_OK) == 0 else {
                throw ConfigurationError(key: "jobs.shimPath", "'\(configured)' is not an executable file")
            }
            return configured
        }
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        let candidate = ((executable as NSString).deletingLastPathComponent as NSString).appendingPathComponent(
            "jobshim"
        )
        guard access(candidate, X_OK) == 0 else {
            throw ConfigurationError(
                key: "jobs.shimPath",
                "is null and no jobshim was found next to the jobrunner binary (\(candidate)); build it with `swift build` or set the key"
            )
        }
        return candidate
    }

    struct SpawnError: Error, CustomStringConvertible {
        var errno: Int32
        var description: String { "cannot start jobshim: \(String(cString: strerror(errno)))" }
    }

    /// Spawns the shim of job `id`; returns the shim's pid.
    func launch(id: Int, command: [String], cwd: String?, environment: [String: String]) throws(SpawnError) -> pid_t {
        let arguments = [shimPath, stateDirectory, String(id), cwd ?? "-", "--"] + command
        let env = environment.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let rc = withCStrings(arguments) { argv in
            withCStrings(env) { envp in
                csys_spawn_detached(&pid, shimPath, argv, envp)
            }
        }
        if rc != 0 { throw SpawnError(errno: rc) }
        return pid
    }
}

/// Calls `body` with a NULL-terminated C array of `strings`.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
