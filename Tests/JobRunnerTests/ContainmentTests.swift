import Foundation
import JobModel
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Every process a job starts belongs to it: escapees (setsid, double fork, nohup) are
/// measured, stopped with the job, and found again after a manager restart.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ContainmentTests {
    /// Processes whose environment holds `JR_MARK=marker` (every process of one job).
    static func marked(_ marker: String) -> [Int32] {
        let needle = Array("JR_MARK=\(marker)".utf8)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            return environ.split(separator: 0).contains { Array($0) == needle }
        }
    }

    /// CPU seconds the kernel has charged to `pid` (utime + stime of /proc/PID/stat).
    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Waits until no process carries `marker` (or `seconds` pass); returns those left.
    static func waitGone(_ marker: String, seconds: Double = 5) async throws -> [Int32] {
        let deadline = Date().addingTimeInterval(seconds)
        var left = marked(marker)
        while !left.isEmpty, Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
            left = marked(marker)
        }
        return left
    }

    static func spec(_ name: String, _ script: String, marker: String, extra: [String: Any] = [:]) -> [String: Any] {
        ["name": name, "command": ["/bin/sh", "-c", script], "env": ["JR_MARK": marker], "retries": 0]
            .merging(extra) { $1 }
    }

    /// The pid of the marked process running `needle` in its command line.
    static func find(_ marker: String, running needle: String) -> Int32? {
        marked(marker).first { pid in
            let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
            return String(decoding: cmdline, as: UTF8.self).replacingOccurrences(of: "\0", with: " ").contains(needle)
        }
    }

    @Test func aSetsidEscapeeIsMeasuredAndKilledOnTimeout() async throws {
        let server = try await TestServer()
        let marker = UUID().uuidString
        let id = try await server.launch(
            Self.spec(
                "escape",
                "setsid sh -c 'while :; do :; done' & sleep 30",
                marker: marker,
                extra: ["timeoutSeconds": 2.5]
            )
        )
        // The kernel's own count of the escapee's CPU, shortly before the timeout.
        var escapee: Int32?
        for _ in 0..<100 where escapee == nil {
            try await Task.sleep(for: .milliseconds(20))
            escapee = Self.find(marker, running: "while")
        }
        let pid = try #require(escapee, "the escapee runs")
        try await Task.sleep(for: .milliseconds(1_500))
        let charged = try #require(Self.cpuSeconds(pid))
        let job = try await server.waitForEnd(id)
        #expect(job.status == .timedOut, "\(job.status) \(job.reason ?? "")")
        #expect(try await Self.waitGone(marker).isEmpty, "no descendant outlives the timeout")
        // The escapee is part of the job's figures: at least what the kernel had charged it.
        #expect(job.metrics.cpuSeconds >= charged, "cpuSeconds \(job.metrics.cpuSeconds) < escapee's \(charged)")
        #expect(job.metrics.cpuPercentMax > 0, "the monitor sampled the escapee")
        #expect(job.metrics.processCountMax >= 3)
        await server.stop()
    }

    @Test func aDoubleForkedGrandchildIsKilledOnCancel() async throws {
        let server = try await TestServer()
        let marker = UUID().uuidString
        // The subshell exits at once: its child is re-parented (to the shim, not to init).
        let id = try await server.launch(Self.spec("double", "(sleep 300 &) ; sleep 300", marker: marker))
        try await Task.sleep(for: .milliseconds(500))
        #expect(Self.marked(marker).count >= 2)
        let reply = try await server.post("/v1/jobs/\(id)/cancel", json: [:])
        #expect(reply.status == 200)
        let job = try await server.waitForEnd(id)
        #expect(job.status == .cancelled)
        #expect(try await Self.waitGone(marker).isEmpty)
        await server.stop()
    }

    @Test func aNohupGrandchildIgnoringSIGTERMIsKilledAfterTheGrace() async throws {
        let server = try await TestServer()
        let marker = UUID().uuidString
        let id = try await server.launch(
            Self.spec("nohup", "nohup sh -c 'trap \"\" TERM; sleep 300' >/dev/null 2>&1 & sleep 300", marker: marker)
        )
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await server.post("/v1/jobs/\(id)/cancel", json: [:]).status == 200)
        let job = try await server.waitForEnd(id)
        #expect(job.status == .cancelled)
        // killGraceSeconds is 1 in tests: SIGKILL follows.
        #expect(try await Self.waitGone(marker).isEmpty)
        await server.stop()
    }

    @Test func leftoversAreKilledByDefaultAndCounted() async throws {
        let server = try await TestServer()
        let marker = UUID().uuidString
        let id = try await server.launch(Self.spec("leaver", "sleep 300 & sleep 300 & exit 0", marker: marker))
        let job = try await server.waitForEnd(id)
        #expect(job.status == .succeeded, "the job's own exit decides its status")
        #expect(job.metrics.leftoverProcesses == 2)
        #expect(Self.marked(marker).isEmpty, "stopped before the job ended")
        // A job that leaves nothing has none.
        let plain = try await server.waitForEnd(try await server.launch(["name": "plain", "command": ["/bin/true"]]))
        #expect(plain.status == .succeeded && plain.metrics.leftoverProcesses == 0)
        await server.stop()
    }

    @Test func leftoversCanBeWaitedFor() async throws {
        let server = try await TestServer(settings: ["jobs.leftoverProcesses": "wait"])
        let marker = UUID().uuidString
        let id = try await server.launch(
            Self.spec("waiter", "(sleep 1; echo late) & echo early", marker: marker)
        )
        let job = try await server.waitForEnd(id)
        #expect(job.status == .succeeded)
        // The subshell, and its sleep if it had started when the job's process exited.
        #expect((1...2).contains(job.metrics.leftoverProcesses), "\(job.metrics.leftoverProcesses)")
        #expect((job.durationSeconds ?? 0) >= 0.9, "the job ended with its last descendant")
        #expect(try await server.request("GET", "/v1/jobs/\(id)/logs").text == "early\nlate\n")
        await server.stop()
    }

    @Test func aRestartedManagerStillSeesAndStopsAnEscapee() async throws {
        let server = try await TestServer()
        let marker = UUID().uuidString
        let id = try await server.launch(
            Self.spec("adopted", "setsid sh -c 'while :; do :; done' & sleep 300", marker: marker)
        )
        try await Task.sleep(for: .milliseconds(500))
        try await server.crashAndRestart()
        // The new manager's monitor follows the shim's descendants: the busy escapee shows.
        var job = try await server.job(id)
        for _ in 0..<100 where job.metrics.cpuPercentMax == 0 {
            try await Task.sleep(for: .milliseconds(50))
            job = try await server.job(id)
        }
        #expect(job.status == .running)
        #expect(job.metrics.cpuPercentMax > 0, "the escapee is seen after the restart: \(job.metrics)")
        #expect(try await server.post("/v1/jobs/\(id)/cancel", json: [:]).status == 200)
        job = try await server.waitForEnd(id)
        #expect(job.status == .cancelled)
        #expect(try await Self.waitGone(marker).isEmpty, "the cancel reached the escapee")
        await server.stop()
    }

    @Test func hundredsOfImmediateCancelsUnderLoadAllEndCancelled() async throws {
        // Two busy loops keep both cores busy: signals land at every moment of a shim's start.
        let burners = (0..<2).map { _ in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "while :; do :; done"]
            try? p.run()
            return p
        }
        // SIGKILL: children of the test process inherit its blocked signals.
        defer { for p in burners { kill(p.processIdentifier, SIGKILL) } }
        let server = try await TestServer()
        var ids: [Int] = []
        for n in 0..<200 {
            let id = try await server.launch(["name": "c\(n)", "command": ["sleep", "30"], "retries": 0])
            _ = try await server.post("/v1/jobs/\(id)/cancel", json: [:])
            ids.append(id)
        }
        var statuses: [JobStatus: Int] = [:]
        for id in ids { statuses[try await server.waitForEnd(id).status, default: 0] += 1 }
        #expect(statuses == [.cancelled: 200], "\(statuses)")
        await server.stop()
    }
}
