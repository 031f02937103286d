import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `jobs.cgroups`: whether jobs get a cgroup v2 group each.
enum CgroupMode: String, Sendable, CaseIterable {
    /// Where the host delegates a writable cgroup v2 subtree (systemd `Delegate=yes`, or
    /// `jobs.cgroupPath`); else the /proc way alone.
    case auto
    /// Never: the /proc way alone.
    case off
    /// Always: the service does not start without a usable group (exit 78).
    case required
}

/// One cgroup v2 group per job, under a subtree delegated to the service.
///
/// The /proc way (the shim as subreaper, the monitor following its descendants, signal
/// rounds) holds on every Linux. Where the host delegates a writable cgroup v2 subtree,
/// each job also runs in `BASE/job-ID`, which adds what only the kernel can give:
/// `cgroup.kill` (every member at once, even a fork bomb), `memory.peak` (the group's exact
/// peak of charged memory), `memory.max` set to the job's `maxRssBytes` (the kernel
/// enforces it between two samples) and `memory.events` (OOM kills). The shim creates the
/// job's process inside the group and reads the figures into the exit record.
struct JobCgroups: Sendable {
    /// The delegated directory, e.g. `/sys/fs/cgroup/system.slice/jobrunner.service`.
    let base: String
    /// Controllers enabled for the jobs' groups (`memory`, `pids`), as far as the host has them.
    let controllers: Set<String>

    static let supervisorGroup = "supervisor"

    func path(of id: Int) -> String { "\(base)/job-\(id)" }

    var summary: String {
        "cgroup v2 at \(base)"
            + (controllers.isEmpty ? " (no controllers)" : " (\(controllers.sorted().joined(separator: ", ")))")
    }

    /// Makes job `id`'s group (kept when it exists: a launch that was postponed); sets
    /// `memory.max` to `memoryMax` when the memory controller is there. `nil` when the group
    /// cannot be made: the job runs the /proc way.
    func prepare(id: Int, memoryMax: Int?) -> String? {
        let dir = path(of: id)
        if mkdir(dir, 0o755) != 0, errno != EEXIST { return nil }
        if let memoryMax, controllers.contains("memory") {
            _ = Self.write("\(dir)/memory.max", String(memoryMax))
        }
        return dir
    }

    /// Kills every process left in job `id`'s group (a job whose shim died) and removes
    /// the group; a group that still has members stays (``sweep()`` removes it later).
    func release(id: Int, kill: Bool = false) {
        let dir = path(of: id)
        if kill { _ = Self.write("\(dir)/cgroup.kill", "1") }
        rmdir(dir)
    }

    /// Removes every empty job group (jobs that ended while no manager ran).
    func sweep() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: base) else { return }
        for name in names where name.hasPrefix("job-") { rmdir("\(base)/\(name)") }
    }

    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    /// Finds and prepares the subtree: `jobs.cgroupPath` when set, else the service's own
    /// group (from /proc/self/cgroup) when it is not the root and is writable. The service's
    /// processes in it move to `BASE/supervisor` (cgroup v2 lets a group with members
    /// enable no controller for its children).
    static func detect(configuredPath: String?) -> Result<JobCgroups, Unavailable> {
        guard let mount = cgroup2Mount() else {
            return .failure(Unavailable(description: "no cgroup v2 hierarchy is mounted"))
        }
        let base: String
        if let configuredPath {
            guard configuredPath.hasPrefix(mount + "/") || configuredPath == mount else {
                return .failure(
                    Unavailable(
                        description: "jobs.cgroupPath '\(configuredPath)' is not under the cgroup v2 mount \(mount)"
                    )
                )
            }
            if mkdir(configuredPath, 0o755) != 0, errno != EEXIST {
                return .failure(
                    Unavailable(description: "cannot create \(configuredPath): \(String(cString: strerror(errno)))")
                )
            }
            base = configuredPath
        } else {
            guard let own = ownGroup() else {
                return .failure(Unavailable(description: "/proc/self/cgroup names no cgroup v2 group"))
            }
            if own == "/" {
                return .failure(
                    Unavailable(
                        description:
                            "the service runs in the root cgroup v2 group: nothing is delegated to it (systemd: Delegate=yes; or set jobs.cgroupPath)"
                    )
                )
            }
            let group = own.hasSuffix("/" + supervisorGroup) ? String(own.dropLast(supervisorGroup.count + 1)) : own
            base = mount + group
        }
        guard access(base, W_OK) == 0, access(base + "/cgroup.procs", W_OK) == 0 else {
            return .failure(Unavailable(description: "\(base) is not writable by the service (not delegated)"))
        }
        // Members of the base itself (the service, its watchdog) move to `supervisor`.
        let members =
            (try? String(contentsOfFile: base + "/cgroup.procs", encoding: .utf8))?
            .split(separator: "\n") ?? []
        if !members.isEmpty {
            let supervisor = base + "/" + supervisorGroup
            if mkdir(supervisor, 0o755) != 0, errno != EEXIST {
                return .failure(
                    Unavailable(description: "cannot create \(supervisor): \(String(cString: strerror(errno)))")
                )
            }
            for pid in members where !write(supervisor + "/cgroup.procs", String(pid)) {
                if errno == ESRCH { continue }  // gone meanwhile
                return .failure(
                    Unavailable(
                        description: "cannot move process \(pid) to \(supervisor): \(String(cString: strerror(errno)))"
                    )
                )
            }
        }
        let available = Set(
            ((try? String(contentsOfFile: base + "/cgroup.controllers", encoding: .utf8)) ?? "")
                .split(whereSeparator: \.isWhitespace).map(String.init)
        )
        var enabled: Set<String> = []
        for controller in ["memory", "pids"] where available.contains(controller) {
            if write(base + "/cgroup.subtree_control", "+" + controller) { enabled.insert(controller) }
        }
        // A group made and removed: what every job will do.
        let probe = "\(base)/job-probe-\(getpid())"
        guard mkdir(probe, 0o755) == 0 || errno == EEXIST else {
            return .failure(
                Unavailable(description: "cannot create a group in \(base): \(String(cString: strerror(errno)))")
            )
        }
        rmdir(probe)
        return .success(JobCgroups(base: base, controllers: enabled))
    }

    /// Where the cgroup v2 hierarchy is mounted (`/sys/fs/cgroup`, or
    /// `/sys/fs/cgroup/unified` on a v1 hybrid host).
    static func cgroup2Mount() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
            let halves = line.split(separator: " - ", maxSplits: 1)
            guard halves.count == 2, halves[1].hasPrefix("cgroup2 ") else { continue }
            let fields = halves[0].split(separator: " ")
            if fields.count >= 5 { return String(fields[4]) }
        }
        return nil
    }

    /// The service's cgroup v2 group (`0::PATH` of /proc/self/cgroup).
    static func ownGroup() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("0::") {
            return String(line.dropFirst(3))
        }
        return nil
    }

    /// Writes `text` to a cgroup file; false with errno set when the kernel refused.
    @discardableResult
    static func write(_ path: String, _ text: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count
    }
}
