import CSystemSupport
import Foundation
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Starts `jobshim` processes: one per job, in its own session, so that jobs outlive the
/// manager.
struct ShimLauncher: Sendable {
    let shimPath: String
    let stateDirectory: String
    /// Where the run files go (`runDirectory`).
    let runDirectory: String
    /// `jobs.maxLogBytes`: the shim keeps at most this many bytes of each stream.
    var maxLogBytes: Int? = nil
    /// `jobs.runAsUser`: the shim drops the job to this user and its groups before exec.
    var runAs: RunAsUser? = nil
    /// `jobs.killGraceSeconds`: the shim SIGKILLs the job's tree this long after SIGTERM.
    var killGraceSeconds = 5.0
    /// `jobs.leftoverProcesses`: what the shim does with descendants left when the job's
    /// own process exits.
    var leftovers: LeftoverPolicy = .kill
    /// `jobs.cgroups`: the delegated subtree each job gets a group in, when there is one.
    var cgroups: JobCgroups? = nil

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
        var cause: Errno
        var description: String { "cannot start jobshim: \(cause)" }
        /// Out of descriptors, processes or memory: the job can be launched again later.
        var isTransient: Bool {
            [.tooManyOpenFiles, .tooManyOpenFilesInSystem, .resourceTemporarilyUnavailable, .noMemory, .interrupted]
                .contains(cause)
        }
    }

    /// Spawns the shim of job `id`; returns the shim's pid.
    func launch(
        id: Int,
        command: [String],
        cwd: String?,
        environment: [String: String],
        memoryMax: Int? = nil
    ) throws(SpawnError) -> pid_t {
        var arguments = [
            shimPath, stateDirectory, String(id), cwd ?? "-", "--run-dir", runDirectory,
            "--kill-grace", String(killGraceSeconds), "--leftovers", leftovers.rawValue,
        ]
        if let maxLogBytes { arguments += ["--max-log-bytes", String(maxLogBytes)] }
        if let group = cgroups?.prepare(id: id, memoryMax: memoryMax) { arguments += ["--cgroup", group] }
        if let runAs {
            arguments += [
                "--uid", String(runAs.uid), "--gid", String(runAs.gid),
                "--groups", runAs.groups.map(String.init).joined(separator: ","),
            ]
        }
        arguments += ["--"] + command
        // The run file exists before the shim does: a manager that stops between here and
        // the journal's `running` record finds it at start-up and does not launch the job
        // a second time (see JobSupervisor.recover).
        let runFile = open(
            RunFile.path(directory: runDirectory, id: id),
            O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
            0o640
        )
        if runFile < 0 { throw SpawnError(cause: Errno(rawValue: errno)) }
        close(runFile)
        let env = environment.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let rc = withCStrings(arguments) { argv in
            withCStrings(env) { envp in
                csys_spawn_detached(&pid, shimPath, argv, envp)
            }
        }
        if rc != 0 {
            unlink(RunFile.path(directory: runDirectory, id: id))  // no shim: nothing to adopt
            throw SpawnError(cause: Errno(rawValue: rc))
        }
        return pid
    }
}

/// `jobs.leftoverProcesses`: when the job's own process exits and descendants remain.
enum LeftoverPolicy: String, Sendable, CaseIterable {
    /// SIGTERM to each, SIGKILL after `jobs.killGraceSeconds` (systemd's control-group mode).
    case kill
    /// The job ends when its last descendant does.
    case wait
}

/// Calls `body` with a NULL-terminated C array of `strings`.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// `jobs.runAsUser` resolved at start-up: the ids the shim switches to.
struct RunAsUser: Sendable {
    var name: String
    var uid: UInt32
    var gid: UInt32
    var groups: [UInt32]

    /// Looks the user up (a name or a uid); the service must be root unless it is that user.
    static func resolve(_ name: String) throws -> RunAsUser {
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        var groups = [UInt32](repeating: 0, count: 256)
        let count = groups.withUnsafeMutableBufferPointer { csys_lookup_user(name, &uid, &gid, $0.baseAddress, 256) }
        guard count >= 0 else { throw ConfigurationError(key: "jobs.runAsUser", "names no user: '\(name)'") }
        guard geteuid() == 0 || geteuid() == uid else {
            throw ConfigurationError(
                key: "jobs.runAsUser",
                "needs the service to run as root (it runs as uid \(geteuid())) to switch jobs to '\(name)'"
            )
        }
        return RunAsUser(name: name, uid: uid, gid: gid, groups: Array(groups.prefix(Int(count))))
    }
}
