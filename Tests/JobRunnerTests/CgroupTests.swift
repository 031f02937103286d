import Foundation
import JobModel
import Testing

@testable import jobrunner

#if canImport(Glibc)
import Glibc
#endif

/// `jobs.cgroups`: a cgroup v2 group per job where the host delegates one. Each test runs
/// the service with `jobs.cgroupPath` set to a fresh directory of the cgroup v2 hierarchy,
/// and is skipped (with the reason) on a host where that hierarchy is not writable.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct CgroupTests {
    /// The cgroup v2 mount, when this process may create groups in it.
    static let writableMount: String? = {
        guard let mount = JobCgroups.cgroup2Mount() else { return nil }
        let probe = "\(mount)/jobrunner-tests-probe-\(getpid())"
        guard mkdir(probe, 0o755) == 0 else { return nil }
        rmdir(probe)
        return mount
    }()

    /// Whether groups made under the mount get the memory controller (not on a v1 hybrid
    /// host, where memory is a v1 controller).
    static let memoryController: Bool = {
        guard let mount = writableMount else { return false }
        let probe = "\(mount)/jobrunner-tests-probe-\(getpid())"
        guard mkdir(probe, 0o755) == 0 else { return false }
        defer { rmdir(probe) }
        let controllers = (try? String(contentsOfFile: "\(probe)/cgroup.controllers", encoding: .utf8)) ?? ""
        return controllers.split(whereSeparator: \.isWhitespace).contains("memory")
    }()

    static let noCgroup =
        "no writable cgroup v2 hierarchy on this host (needs root or a delegated subtree): the /proc containment is tested by ContainmentTests"

    /// A fresh group for one test's service; removed (with anything left in it) by `remove`.
    struct Subtree {
        let path: String
        init() throws {
            path = "\(CgroupTests.writableMount!)/jobrunner-tests-\(UUID().uuidString.prefix(8))"
            guard mkdir(path, 0o755) == 0 else { throw TestFailure("cannot create \(path)") }
        }
        func remove() {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] where name.hasPrefix("job-")
            {
                _ = try? "1".write(toFile: "\(path)/\(name)/cgroup.kill", atomically: false, encoding: .utf8)
                rmdir("\(path)/\(name)")
            }
            rmdir("\(path)/supervisor")
            rmdir(path)
        }
    }

    /// The cgroup v2 group of `pid` (`0::PATH` of /proc/PID/cgroup).
    static func group(of pid: Int32) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first { $0.hasPrefix("0::") }.map { String($0.dropFirst(3)) }
    }

    @Test(.enabled(if: writableMount != nil, Comment(rawValue: noCgroup)))
    func everyProcessOfAJobIsInItsGroupAndDiesWithIt() async throws {
        let subtree = try Subtree()
        defer { subtree.remove() }
        let server = try await TestServer(settings: ["jobs.cgroups": "required", "jobs.cgroupPath": subtree.path])
        let health = try await server.request("GET", "/v1/health")
        #expect(health.json["containment"] as? String == "cgroup")
        let marker = UUID().uuidString
        // An escapee that ignores SIGTERM and forks as fast as it can: only the group catches
        // every one of its children.
        let id = try await server.launch(
            ContainmentTests.spec(
                "forker",
                "setsid sh -c 'trap \"\" TERM; while :; do sleep 0.01 & done' & sleep 300",
                marker: marker,
                // Long enough to see its processes before the timeout on a loaded machine
                // (1.5 s was outlasted once by a CI machine's start-up of the job).
                extra: ["timeoutSeconds": 6]
            )
        )
        // Every marked process but the shim (it carries the job's environment, and stays
        // out of the group so that cgroup.kill spares it); on a loaded machine the job may
        // take a while to start, so wait for its processes rather than a fixed time.
        var members: [Int32] = []
        let deadline = Date().addingTimeInterval(10)
        while members.count < 3, Date() < deadline {
            try await Task.sleep(for: .milliseconds(100))
            members = ContainmentTests.marked(marker).filter { ContainmentTests.find(marker, running: "jobshim") != $0 }
        }
        #expect(members.count >= 3)
        let relative = String(subtree.path.dropFirst(Self.writableMount!.count)) + "/job-\(id)"
        for pid in members {
            if let group = Self.group(of: pid) { #expect(group == relative, "process \(pid) in \(group)") }
        }
        let job = try await server.waitForEnd(id)
        #expect(job.status == .timedOut, "\(job.status) \(job.reason ?? "")")
        #expect(try await ContainmentTests.waitGone(marker).isEmpty, "nothing of the group outlives the timeout")
        #expect(!FileManager.default.fileExists(atPath: "\(subtree.path)/job-\(id)"), "the job's group is removed")
        // A job that starts nothing behaves as before.
        let plain = try await server.waitForEnd(
            try await server.launch(["name": "plain", "command": ["/bin/sh", "-c", "exit 3"], "retries": 0])
        )
        #expect(plain.status == .failed && plain.exitCode == 3)
        await server.stop()
    }

    @Test(.enabled(if: writableMount != nil, Comment(rawValue: noCgroup)))
    func aRestartedManagerStillStopsTheGroup() async throws {
        let subtree = try Subtree()
        defer { subtree.remove() }
        let server = try await TestServer(settings: ["jobs.cgroups": "required", "jobs.cgroupPath": subtree.path])
        let marker = UUID().uuidString
        let id = try await server.launch(
            ContainmentTests.spec("daemon", "setsid sh -c 'sleep 300' & sleep 300", marker: marker)
        )
        try await Task.sleep(for: .milliseconds(500))
        try await server.crashAndRestart()
        #expect(ContainmentTests.marked(marker).count >= 2, "the job runs on through the crash")
        #expect(try await server.post("/v1/jobs/\(id)/cancel", json: [:]).status == 200)
        let job = try await server.waitForEnd(id)
        #expect(job.status == .cancelled)
        #expect(try await ContainmentTests.waitGone(marker).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "\(subtree.path)/job-\(id)"))
        await server.stop()
    }

    @Test(
        .enabled(if: writableMount != nil, Comment(rawValue: noCgroup)),
        .enabled(
            if: memoryController,
            "the memory controller is not available to cgroup v2 on this host (a v1 hybrid: memory is a v1 controller)"
        )
    )
    func theKernelEnforcesTheMemoryLimitAndMeasuresThePeak() async throws {
        let subtree = try Subtree()
        defer { subtree.remove() }
        let server = try await TestServer(settings: ["jobs.cgroups": "required", "jobs.cgroupPath": subtree.path])
        // 64 MiB allowed; the job takes 400 MiB at once, faster than any sample.
        let greedy = try await server.launch([
            "name": "greedy", "command": ["python3", "-c", "b = bytearray(400 << 20); print(len(b))"],
            "maxRssBytes": 64 << 20, "retries": 0,
        ])
        let job = try await server.waitForEnd(greedy)
        #expect(job.status == .failed && job.reason == "memoryLimit", "\(job.status) \(job.reason ?? "")")
        #expect(job.metrics.memoryPeakBytes > 0 && job.metrics.memoryPeakBytes <= 64 << 20)
        let modest = try await server.waitForEnd(
            try await server.launch([
                "name": "modest", "command": ["python3", "-c", "b = bytearray(20 << 20); print(len(b))"],
                "retries": 0,
            ])
        )
        #expect(modest.status == .succeeded)
        #expect(modest.metrics.memoryPeakBytes >= 20 << 20, "the peak covers the 20 MiB the job took")
        await server.stop()
    }
}
