import Foundation
import JobModel
import Testing

/// The real service, real processes, real HTTP. Serialized: CPU figures need the cores.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ServiceTests {
    @Test func exitZeroSucceeds() async throws {
        let server = try await TestServer()
        let reply = try await server.post("/v1/jobs", json: ["name": "ok", "command": ["/bin/true"]])
        #expect(reply.status == 201)
        #expect(reply.headers["location"] == "/v1/jobs/1")
        #expect(reply.headers["x-jobrunner-version"] == ProductVersion.current)
        let job = try await server.waitForEnd(1)
        #expect(job.status == .succeeded)
        #expect(job.exitCode == 0)
        #expect(job.signal == nil)
        #expect(job.pid != nil)
        #expect(job.durationSeconds! >= 0)
        #expect(job.startedAt! <= job.endedAt!)
        await server.stop()
    }

    @Test func exitThreeFailsAndIsRetriedOnceLinkedBothWays() async throws {
        let server = try await TestServer()
        let id = try await server.launch([
            "name": "three", "command": ["/bin/sh", "-c", "echo out; echo err >&2; exit 3"],
        ])
        let first = try await server.waitForEnd(id)
        #expect(first.status == .failed)
        #expect(first.exitCode == 3)
        let retryID = try #require(first.retriedBy)
        let retry = try await server.waitForEnd(retryID)
        #expect(retry.attempt == 2)
        #expect(retry.parentId == id)
        #expect(retry.status == .failed)
        #expect(retry.retriedBy == nil, "the seed's default is one retry")
        let logs = try await server.request("GET", "/v1/jobs/\(id)/logs?stream=stderr")
        #expect(logs.text == "err\n")
        #expect(try await server.request("GET", "/v1/jobs/\(id)/logs").text == "out\n")
        await server.stop()
    }

    /// A job that fails keeps what its stderr said last, and its signature; one that
    /// succeeds keeps nothing; `jobs.errorTailBytes` bounds the tail.
    @Test func aFailedJobKeepsItsErrorTailAndSignature() async throws {
        let server = try await TestServer(settings: ["jobs.errorTailBytes": "100"])
        let failing = try await server.launch([
            "name": "tail", "retries": 0,
            "command": [
                "/bin/sh", "-c",
                "seq 1 200 >&2; echo \"open /srv/data/$$.csv failed at 2026-11-29T10:00:01Z: errno 2\" >&2; exit 4",
            ],
        ])
        let ok = try await server.launch(["name": "ok", "command": ["/bin/sh", "-c", "echo fine >&2"]])
        let failed = try await server.waitForEnd(failing)
        #expect(failed.status == .failed)
        let tail = try #require(failed.errorTail)
        #expect(tail.utf8.count <= 100)
        #expect(tail.hasSuffix("failed at 2026-11-29T10:00:01Z: errno 2\n"))
        #expect(!tail.hasPrefix("\n") && tail.first?.isNumber == true, "starts at a line: \(tail)")
        let signature = try #require(failed.errorSignature)
        #expect(signature.hasSuffix("open <path> failed at <time>: errno <n>"))
        #expect(signature.split(separator: "\n").count <= ErrorSignature.lines)
        #expect(try await server.waitForEnd(ok).errorTail == nil)
        await server.stop()
    }

    @Test func noRetryExitCodesAndRetriesZero() async throws {
        let server = try await TestServer(settings: ["jobs.noRetryExitCodes": "[64]"])
        let a = try await server.launch(["name": "usage", "command": ["/bin/sh", "-c", "exit 64"]])
        let b = try await server.launch(["name": "once", "command": ["/bin/sh", "-c", "exit 1"], "retries": 0])
        #expect(try await server.waitForEnd(a).retriedBy == nil)
        #expect(try await server.waitForEnd(b).retriedBy == nil)
        await server.stop()
    }

    @Test func segfaultIsACrashWithSignal11() async throws {
        let server = try await TestServer()
        let id = try await server.launch(["name": "segv", "command": ["/bin/sh", "-c", "kill -SEGV $$"], "retries": 0])
        let job = try await server.waitForEnd(id)
        #expect(job.status == .crashed)
        #expect(job.signal == 11)
        #expect(job.exitCode == nil)
        await server.stop()
    }

    @Test func bigAllocationShowsInRSS() async throws {
        let server = try await TestServer()
        let id = try await server.launch([
            "name": "alloc",
            "command": ["python3", "-c", "import time\nb = bytearray(300 * 1024 * 1024)\ntime.sleep(1)"],
        ])
        let job = try await server.waitForEnd(id)
        #expect(job.status == .succeeded)
        #expect(job.metrics.rssBytesMax >= 300 * 1024 * 1024, "\(job.metrics.rssBytesMax)")
        await server.stop()
    }

    @Test func growingMemoryIsALeakSuspectAndFlatIsNot() async throws {
        let server = try await TestServer()
        let grow = try await server.launch([
            "name": "grow",
            "command": [
                "python3", "-c",
                // Six seconds of growth that follows the clock, not the CPU it gets: on a loaded
                // machine a fixed loop grows in steps (stalled, then catching up) and the fit
                // is no longer linear; this one catches up to 25 MiB a second at each wake-up.
                """
                import time
                t0, l, size = time.time(), [], 0
                while time.time() - t0 < 6:
                    while size < (time.time() - t0) * 25 * 2**20:
                        l.append(bytearray(2**20))
                        size += 2**20
                    time.sleep(0.05)
                """,
            ],
        ])
        let flat = try await server.launch([
            "name": "flat",
            "command": ["python3", "-c", "import time\nb = bytearray(100 * 1024 * 1024)\ntime.sleep(3)"],
        ])
        let grown = try await server.waitForEnd(grow)
        let stayed = try await server.waitForEnd(flat)
        #expect(grown.metrics.memoryLeakSuspected, "\(grown.metrics)")
        #expect(grown.metrics.rssTrendBytesPerSecond > 10 * 1024 * 1024)
        #expect(!stayed.metrics.memoryLeakSuspected, "\(stayed.metrics)")
        await server.stop()
    }

    @Test func burstOfSmallWritesShowsAnIOPeak() async throws {
        let server = try await TestServer()
        let id = try await server.launch([
            "name": "burst",
            "command": [
                "python3", "-c",
                "import os, time\ntime.sleep(1.5)\nfd = os.open('/dev/null', os.O_WRONLY)\nfor _ in range(30000):\n    os.write(fd, b'x')\ntime.sleep(3)",
            ],
        ])
        let job = try await server.waitForEnd(id)
        #expect(job.metrics.ioOpsPerSecondPeak >= 10_000, "\(job.metrics)")
        #expect(job.metrics.ioOpsPerSecondPeak >= 3 * job.metrics.ioOpsPerSecondAvg, "\(job.metrics)")
        await server.stop()
    }

    @Test func fiftyConnectionsAreCounted() async throws {
        let server = try await TestServer()
        let script = """
            import socket, time
            time.sleep(0.5)
            server = socket.socket(); server.bind(('127.0.0.1', 0)); server.listen(100)
            clients = [socket.create_connection(server.getsockname()) for _ in range(50)]
            accepted = [server.accept()[0] for _ in range(50)]
            time.sleep(2)
            """
        let id = try await server.launch(["name": "net", "command": ["python3", "-c", script]])
        let job = try await server.waitForEnd(id)
        #expect(job.status == .succeeded)
        #expect(job.metrics.netConnectionsTotal >= 50, "\(job.metrics)")
        #expect(job.metrics.netConnectionsPerSecondPeak > 0)
        await server.stop()
    }

    @Test func sleepingJobIsStalled() async throws {
        let server = try await TestServer()
        let id = try await server.launch(["name": "sleepy", "command": ["sleep", "5"]])
        let job = try await server.waitForEnd(id)
        #expect(job.metrics.stalledSeconds >= 3, "\(job.metrics)")
        #expect(job.metrics.sampleCount >= 10)
        await server.stop()
    }

    @Test func timeoutEndsTimedOut() async throws {
        let server = try await TestServer()
        let id = try await server.launch([
            "name": "slow", "command": ["sleep", "30"], "timeoutSeconds": 1, "retries": 0,
        ])
        let job = try await server.waitForEnd(id, seconds: 10)
        #expect(job.status == .timedOut)
        #expect(job.reason == "timeout")
        #expect(job.durationSeconds! < 5)
        await server.stop()
    }

    @Test func ignoringSIGTERMStillEndsAfterTheGrace() async throws {
        let server = try await TestServer()
        let id = try await server.launch([
            "name": "stubborn", "command": ["/bin/sh", "-c", "trap '' TERM; sleep 30"], "timeoutSeconds": 0.5,
            "retries": 0,
        ])
        let job = try await server.waitForEnd(id, seconds: 10)
        #expect(job.status == .timedOut)
        #expect(job.signal == 9)
        await server.stop()
    }

    @Test func memoryLimitEndsFailedWithReason() async throws {
        let server = try await TestServer()
        let id = try await server.launch([
            "name": "hog",
            "command": [
                "python3", "-c",
                "import time\nl = []\nfor _ in range(100):\n    l.append(bytearray(8 * 1024 * 1024))\n    time.sleep(0.05)\ntime.sleep(10)",
            ],
            "maxRssBytes": 100 * 1024 * 1024, "retries": 0,
        ])
        let job = try await server.waitForEnd(id, seconds: 20)
        #expect(job.status == .failed)
        #expect(job.reason == "memoryLimit")
        await server.stop()
    }

    @Test func cancelEndsCancelled() async throws {
        let server = try await TestServer()
        let id = try await server.launch(["name": "long", "command": ["sleep", "30"]])
        try await Task.sleep(for: .milliseconds(300))
        let reply = try await server.request("POST", "/v1/jobs/\(id)/cancel")
        #expect(reply.status == 200)
        let job = try await server.waitForEnd(id, seconds: 10)
        #expect(job.status == .cancelled)
        #expect(job.reason == "cancelled")
        #expect(job.retriedBy == nil)
        let again = try await server.request("POST", "/v1/jobs/\(id)/cancel")
        #expect(again.status == 409)
        await server.stop()
    }

    @Test func maxConcurrentQueuesInArrivalOrder() async throws {
        let server = try await TestServer(settings: ["jobs.maxConcurrent": "1"])
        let a = try await server.launch(["name": "a", "command": ["sleep", "1"]])
        let b = try await server.launch(["name": "b", "command": ["/bin/true"]])
        let c = try await server.launch(["name": "c", "command": ["/bin/true"]])
        #expect(try await server.job(b).status == .pending)
        let cancelled = try await server.request("POST", "/v1/jobs/\(c)/cancel")
        #expect(cancelled.status == 200)
        let jobA = try await server.waitForEnd(a)
        let jobB = try await server.waitForEnd(b)
        #expect(jobB.startedAt! >= jobA.endedAt!)
        #expect(try await server.job(c).status == .cancelled)
        await server.stop()
    }

    @Test func missingExecutableFailsWithReason() async throws {
        let server = try await TestServer()
        let id = try await server.launch(["name": "missing", "command": ["/nonexistent/tool"], "retries": 0])
        let job = try await server.waitForEnd(id)
        #expect(job.status == .failed)
        #expect(job.reason?.contains("No such file") == true, "\(job.reason ?? "")")
        #expect(job.exitCode == 127)
        await server.stop()
    }

    @Test func environmentIsBaseEnvironmentPlusRequest() async throws {
        let server = try await TestServer()
        let id = try await server.launch([
            "name": "env", "command": ["/usr/bin/env"], "env": ["GREETING": "hello"],
        ])
        _ = try await server.waitForEnd(id)
        let out = try await server.request("GET", "/v1/jobs/\(id)/logs").text
        #expect(out.contains("GREETING=hello"))
        #expect(out.contains("PATH="))
        #expect(!out.contains("HOME="), "nothing from the service's own environment")
        let listed = try await server.request("GET", "/v1/jobs/\(id)").text
        #expect(!listed.contains("hello"), "env values are never returned")
        await server.stop()
    }

    @Test func cleanRestartKeepsEveryRecord() async throws {
        let server = try await TestServer()
        var ids: [Int] = []
        for i in 0..<5 {
            ids.append(try await server.launch(["name": "r\(i)", "command": ["/bin/sh", "-c", "exit \(i % 2)"]]))
        }
        for id in ids { _ = try await server.waitForEnd(id) }
        try await Task.sleep(for: .milliseconds(300))  // let the retries of the failures end too
        let before = try await server.request("GET", "/v1/jobs?limit=1000").json["jobs"] as! [[String: Any]]
        try await server.restart()
        let after = try await server.request("GET", "/v1/jobs?limit=1000").json["jobs"] as! [[String: Any]]
        #expect(after.count == before.count)
        #expect(after.map { $0["status"] as! String } == before.map { $0["status"] as! String })
        #expect(after.map { $0["id"] as! Int } == before.map { $0["id"] as! Int })
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: server.state + "/snapshots")
        #expect(snapshots.contains { $0.hasSuffix(".jrsnap") }, "a snapshot is written at shutdown")
        let next = try await server.launch(["name": "after", "command": ["/bin/true"]])
        #expect(next == before.count + 1, "ids are never reused")
        await server.stop()
    }

    @Test func runningJobsSurviveARestart() async throws {
        let server = try await TestServer()
        let id = try await server.launch(["name": "survivor", "command": ["sleep", "2"]])
        try await Task.sleep(for: .milliseconds(500))
        try await server.restart()
        let job = try await server.waitForEnd(id, seconds: 10)
        #expect(job.status == .succeeded, "\(job)")
        #expect(job.exitCode == 0)
        await server.stop()
    }
}

/// CPU figures, checked against the kernel's own accounting of the same processes (what
/// /proc charged them while they ran, and the shim's rusage at the end), not against
/// wall-clock expectations: they hold on a machine whose cores are busy with other work.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct CPUFigureTests {
    /// Runs `script` (its processes marked), watching the kernel's CPU count of the marked
    /// processes; returns the job and the most CPU seconds /proc showed for them at once.
    static func run(_ server: TestServer, _ name: String, _ script: String) async throws -> (Job, Double) {
        let marker = UUID().uuidString
        let id = try await server.launch(ContainmentTests.spec(name, script, marker: marker))
        var charged = 0.0
        var job = try await server.job(id)
        while !job.status.isFinal {
            let now = ContainmentTests.marked(marker).compactMap(ContainmentTests.cpuSeconds).reduce(0, +)
            charged = max(charged, now)
            try await Task.sleep(for: .milliseconds(50))
            job = try await server.job(id)
        }
        return (job, charged)
    }

    /// The CPU seconds the monitor's samples add up to: their time-weighted average over the
    /// job's life (passes that came late or in a burst count for the time they cover).
    static func sampledSeconds(_ job: Job) -> Double {
        job.metrics.cpuPercentAvg / 100 * (job.durationSeconds ?? 0)
    }

    /// Burns 0.6 s of CPU whatever the load (a wall-clock burner gets little on a busy machine).
    static let burner = "python3 -c 'import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6: pass'"

    @Test func cpuBurnerShowsOneCore() async throws {
        let server = try await TestServer()
        let (job, charged) = try await Self.run(server, "burn", Self.burner)
        let m = job.metrics
        // The burner stops after 0.6 s of CPU: the kernel's account (rusage) holds at least that.
        #expect(m.cpuSeconds >= 0.6, "the burner's CPU: \(m.cpuSeconds) s")
        // Never less than the kernel charged, never more than one core could use.
        #expect(m.cpuSeconds >= charged, "\(m.cpuSeconds) < \(charged)")
        #expect(m.cpuSeconds <= (job.durationSeconds ?? 0) + 0.05)
        #expect(m.cpuPercentMax > 0 && m.cpuPercentMax <= 115, "one thread: \(m.cpuPercentMax)")
        // The samples account for the kernel's figure (within a sample at each end).
        let sampled = Self.sampledSeconds(job)
        #expect(abs(sampled - m.cpuSeconds) <= 0.3 + 0.25 * m.cpuSeconds, "sampled \(sampled) vs \(m.cpuSeconds)")
        await server.stop()
    }

    @Test func twoBurnersUnderOneShellSumTheTree() async throws {
        let server = try await TestServer()
        let (job, charged) = try await Self.run(server, "burn2", "\(Self.burner) & \(Self.burner) & wait")
        let m = job.metrics
        #expect(m.cpuSeconds >= 1.2, "both burners' CPU: \(m.cpuSeconds) s")
        #expect(m.cpuSeconds >= charged, "both burners count: \(m.cpuSeconds) < \(charged)")
        #expect(m.cpuPercentMax > 0 && m.cpuPercentMax <= 215, "two threads: \(m.cpuPercentMax)")
        #expect(m.processCountMax >= 3)
        // Summed over the tree: the samples match the kernel's total for both (one burner
        // alone would give about half of it).
        let sampled = Self.sampledSeconds(job)
        #expect(abs(sampled - m.cpuSeconds) <= 0.3 + 0.25 * m.cpuSeconds, "sampled \(sampled) vs \(m.cpuSeconds)")
        await server.stop()
    }
}

/// Restart after a crash of the manager *and* of a job's shim: the run file names a pid
/// that now belongs to an unrelated process.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct RecoveryTests {
    @Test func aReusedPidIsNotMistakenForTheJob() async throws {
        let server = try await TestServer()
        let id = try await server.launch(["name": "victim", "command": ["sleep", "30"], "retries": 0])
        var job = try await server.job(id)
        for _ in 0..<100 where job.pid == nil {
            try await Task.sleep(for: .milliseconds(50))
            job = try await server.job(id)
        }
        let jobPid = try #require(job.pid)
        // The manager dies, then the job and its shim die without an exit record.
        kill(await server.process.processIdentifier, SIGKILL)
        await server.process.waitUntilExit()
        let runFile = server.state + "/run/\(id)"
        let line = try #require(try String(contentsOfFile: runFile, encoding: .utf8).split(separator: "\n").first)
        let shimPid = getppidOf(Int32(jobPid))
        kill(Int32(jobPid), SIGKILL)
        if let shimPid { kill(shimPid, SIGKILL) }
        // An unrelated process now holds a pid the run file names (same start time as the job's).
        let unrelated = Process()
        unrelated.executableURL = URL(fileURLWithPath: "/bin/sleep")
        unrelated.arguments = ["30"]
        try unrelated.run()
        defer { unrelated.terminate() }
        let startTime = line.split(separator: " ")[1]
        try "\(unrelated.processIdentifier) \(startTime)\n".write(toFile: runFile, atomically: true, encoding: .utf8)
        try await server.restart()
        let recovered = try await server.job(id)
        #expect(recovered.status == .lost, "\(recovered)")
        #expect(recovered.reason?.hasPrefix("lost:") == true)
        #expect(kill(unrelated.processIdentifier, 0) == 0, "the unrelated process was left alone")
        await server.stop()
    }

    @Test func aTornJournalTailIsIgnored() async throws {
        let server = try await TestServer()
        var ids: [Int] = []
        for i in 0..<3 {
            ids.append(try await server.launch(["name": "j\(i)", "command": ["/bin/true"], "retries": 0]))
        }
        for id in ids { _ = try await server.waitForEnd(id) }
        try await Task.sleep(for: .milliseconds(200))  // the final records' lazy sync
        kill(await server.process.processIdentifier, SIGKILL)  // no shutdown snapshot
        await server.process.waitUntilExit()
        let journal = server.state + "/journal"
        let segment = try #require(try FileManager.default.contentsOfDirectory(atPath: journal).sorted().last)
        let handle = try #require(FileHandle(forWritingAtPath: journal + "/" + segment))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"id":4,"name":"torn","comm"#.utf8))  // a crash in the middle of a line
        try handle.close()
        try await server.restart()
        for id in ids { #expect(try await server.job(id).status == .succeeded) }
        #expect(try await server.request("GET", "/v1/jobs/4").status == 404)
        #expect(try await server.launch(["name": "next", "command": ["/bin/true"]]) == 4)
        await server.stop()
    }

    @Test func aCorruptNewestSnapshotIsSetAsideAndThePreviousUsed() async throws {
        let server = try await TestServer()
        let first = try await server.launch(["name": "first", "command": ["/bin/true"], "retries": 0])
        _ = try await server.waitForEnd(first)
        try await server.restart()  // snapshot 1 holds `first`
        let second = try await server.launch(["name": "second", "command": ["/bin/true"], "retries": 0])
        _ = try await server.waitForEnd(second)
        await server.stop()  // snapshot 2 holds both
        let directory = server.state + "/snapshots"
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: directory).filter {
            $0.hasSuffix(".jrsnap")
        }.sorted()
        #expect(snapshots.count >= 2)
        let newest = directory + "/" + snapshots.last!
        var bytes = try Data(contentsOf: URL(fileURLWithPath: newest))
        bytes[bytes.count - 20] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: newest))
        try await server.restart()
        #expect(FileManager.default.fileExists(atPath: newest + ".corrupt"))
        #expect(try await server.job(first).status == .succeeded, "the previous snapshot was used")
        let health = try await server.request("GET", "/v1/health")
        #expect(health.status == 200)
        await server.stop()
    }

    private func getppidOf(_ pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }
}
