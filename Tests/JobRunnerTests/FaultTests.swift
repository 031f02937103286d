import CSystemSupport
import Foundation
import JobModel
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the client was told: job ids acknowledged with 201, and the name of each.
private actor Ledger {
    var acknowledged: [Int: String] = [:]
    func add(_ id: Int, _ name: String) { acknowledged[id] = name }
}

/// Faults on purpose: kill -9 at random moments, during a snapshot write, a full disk.
@Suite(.serialized, .timeLimit(.minutes(4)))
struct FaultTests {
    /// The outcome a job name asks for: `fN-ok`, `fN-e3`, `fN-e7`, `fN-seg`.
    static func script(_ name: String, runs: String, sleep: Double) -> String {
        let action: String
        switch name.split(separator: "-").last {
        case "ok": action = "exit 0"
        case "e3": action = "exit 3"
        case "e7": action = "exit 7"
        default: action = "kill -SEGV $$"
        }
        return "echo \(name) >> \(runs); sleep \(sleep); \(action)"
    }

    static func expectOutcome(_ job: Job) {
        switch job.name.split(separator: "-").last {
        case "ok": #expect(job.status == .succeeded && job.exitCode == 0, "\(job.name): \(job.status)")
        case "e3":
            #expect(job.status == .failed && job.exitCode == 3, "\(job.name): \(job.status) \(job.exitCode ?? -1)")
        case "e7":
            #expect(job.status == .failed && job.exitCode == 7, "\(job.name): \(job.status) \(job.exitCode ?? -1)")
        default: #expect(job.status == .crashed && job.signal == 11, "\(job.name): \(job.status) \(job.signal ?? -1)")
        }
    }

    /// Every job, once none is pending or running (or after `seconds`).
    static func settledJobs(_ server: TestServer, seconds: Double = 60) async throws -> [Job] {
        let deadline = Date().addingTimeInterval(seconds)
        var jobs: [Job] = []
        repeat {
            jobs = []
            var cursor: String?
            repeat {
                let path = "/v1/jobs?limit=1000" + (cursor.map { "&cursor=\($0)" } ?? "")
                let reply = try await server.request("GET", path)
                let page = reply.json
                let data = try JSONSerialization.data(withJSONObject: page["jobs"] ?? [])
                jobs += try JSONDecoder().decode([Job].self, from: data)
                cursor = page["nextCursor"] as? String
            } while cursor != nil
            if jobs.allSatisfy(\.status.isFinal) { return jobs }
            try await Task.sleep(for: .milliseconds(200))
        } while Date() < deadline
        return jobs
    }

    @Test func randomKill9sLoseNothingAndRunNothingTwice() async throws {
        // The default run directory (on /dev/shm), removed at the end.
        let server = try await TestServer(settings: [
            "snapshot.intervalSeconds": "0.4", "jobs.defaultRetries": "0", "runDirectory": "null",
        ])
        let runs = server.state + "/runs.log"
        let ledger = Ledger()
        let total = 160
        let client = Task {
            for n in 0..<total {
                let name = "f\(n)-" + ["ok", "e3", "seg", "e7"][n % 4]
                let script = Self.script(name, runs: runs, sleep: Double(n * 37 % 15) / 10)
                if let reply = try? await server.post(
                    "/v1/jobs",
                    json: ["name": name, "command": ["/bin/sh", "-c", script]]
                ),
                    reply.status == 201, let id = reply.json["id"] as? Int
                {
                    await ledger.add(id, name)
                }
                try? await Task.sleep(for: .milliseconds(25))
            }
        }
        // kill -9 at pseudo-random moments (fixed seed) while jobs run and arrive.
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        var kills = 0
        for _ in 0..<7 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            try await Task.sleep(for: .milliseconds(250 + Int(seed >> 33) % 500))
            try await server.crashAndRestart()
            kills += 1
        }
        await client.value
        let jobs = try await Self.settledJobs(server)
        let acknowledged = await ledger.acknowledged
        let byID = Dictionary(uniqueKeysWithValues: jobs.map { ($0.id, $0) })

        var missing = 0
        for (id, name) in acknowledged where byID[id]?.name != name { missing += 1 }
        let names = Dictionary(grouping: jobs, by: \.name)
        let duplicated = names.values.filter { $0.count > 1 }.count
        let lost = jobs.filter { $0.status == .lost }
        let ranLines = (try? String(contentsOfFile: runs, encoding: .utf8)) ?? ""
        let ran = Dictionary(grouping: ranLines.split(separator: "\n").map(String.init), by: { $0 })
        let ranTwice = ran.values.filter { $0.count > 1 }.count
        let ranWithoutRecord = ran.keys.filter { names[$0] == nil }.count
        print(
            "fault test: \(kills) kill -9, \(acknowledged.count) acknowledged, \(jobs.count) recorded, "
                + "missing \(missing), duplicated \(duplicated), lost \(lost.count), ran twice \(ranTwice), "
                + "ran without a record \(ranWithoutRecord)"
        )
        #expect(acknowledged.count >= 100)
        #expect(missing == 0, "every acknowledged job exists")
        #expect(duplicated == 0, "no job recorded twice")
        #expect(lost.isEmpty, "\(lost.map { "\($0.id) \($0.reason ?? "")" })")
        #expect(ranTwice == 0, "no job ran twice")
        #expect(ranWithoutRecord == 0)
        for job in jobs {
            Self.expectOutcome(job)
            #expect(ran[job.name]?.count == 1, "\(job.name) ran once")
        }
        await server.stop()
        let audit = try String(contentsOfFile: server.state + "/audit.jsonl", encoding: .utf8)
        let started = try #require(audit.split(separator: "\n").first { $0.contains(#""event":"managerStarted""#) })
        let runDirectory = try #require(
            (try JSONSerialization.jsonObject(with: Data(started.utf8)) as? [String: Any])?["runDirectory"] as? String
        )
        #expect(runDirectory.hasPrefix("/dev/shm/jobrunner-"))
        try? FileManager.default.removeItem(atPath: runDirectory)
    }

    @Test func aKillDuringASnapshotWriteLosesNothing() async throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("jobrunner-snapkill-\(UUID())").path
        try FileManager.default.createDirectory(atPath: state + "/snapshots", withIntermediateDirectories: true)
        let history = HistorySynthesizer(seed: 7, jobCount: 150_000).generate()
        try SnapshotWriter.write(
            history,
            to: state + "/snapshots/snapshot-00000001.jrsnap",
            info: SnapshotInfo(managerVersion: "test", instance: "synth", createdAt: Date())
        )
        let server = try await TestServer(settings: ["snapshot.intervalSeconds": "0.2"], state: state)
        let runs = state + "/runs.log"
        var ids: [Int: String] = [:]
        for n in 0..<8 {
            let name = "s\(n)-" + ["ok", "e3", "seg", "e7"][n % 4]
            let id = try await server.launch([
                "name": name, "command": ["/bin/sh", "-c", Self.script(name, runs: runs, sleep: 0.5)],
                "retries": 0,
            ])
            ids[id] = name
        }
        let countBefore = try await server.request("GET", "/v1/health").json["jobCount"] as? Int
        // Wait for a snapshot's temporary file, then kill -9 while it is being written.
        var caught = false
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, !caught {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: state + "/snapshots")) ?? []
            if names.contains(where: { $0.contains(".jrsnap.tmp-") }) {
                kill(await server.pid, SIGKILL)
                caught = true
            } else {
                usleep(2_000)
            }
        }
        #expect(caught, "a snapshot write was under way")
        try await server.crashAndRestart()
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: state + "/snapshots")
            .filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty, "the torn temporary file was removed")
        #expect(try await server.request("GET", "/v1/health").json["jobCount"] as? Int == countBefore)
        for (id, name) in ids {
            let job = try await server.waitForEnd(id)
            #expect(job.name == name)
            Self.expectOutcome(job)
        }
        let ran = ((try? String(contentsOfFile: runs, encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(ran.count == ids.count && Set(ran).count == ids.count, "each ran once")
        await server.stop()
    }

    @Test func aFullDiskIsRefusedWith503AndRecoveredFrom() async throws {
        let server = try await TestServer(settings: ["snapshot.intervalSeconds": "0.3"])
        for n in 0..<3 {
            _ = try await server.waitForEnd(try await server.launch(["name": "d\(n)", "command": ["/bin/true"]]))
        }
        let snapshots = server.state + "/snapshots"
        func newestSnapshot() -> String? {
            ((try? FileManager.default.contentsOfDirectory(atPath: snapshots)) ?? [])
                .filter { $0.hasSuffix(".jrsnap") }.sorted().last.map { snapshots + "/" + $0 }
        }
        var waited = 0
        while (newestSnapshot().map { try? SnapshotReader.load(path: $0).table.count } ?? 0) != 3, waited < 100 {
            try await Task.sleep(for: .milliseconds(50))
            waited += 1
        }
        // Every file the server extends is now over its limit (as on a full disk).
        #expect(csys_set_file_size_limit(await server.pid, 1) == 0)
        let refused = try await server.post("/v1/jobs", json: ["name": "refused", "command": ["/bin/true"]])
        #expect(refused.status == 503)
        #expect((refused.json["error"] as? [String: Any])?["code"] as? String == "unavailable")
        try await Task.sleep(for: .milliseconds(900))
        let degraded = try await server.request("GET", "/v1/health").json
        #expect(degraded["status"] as? String == "degraded")
        let problems = (degraded["problems"] as? [String]) ?? []
        #expect(
            problems.contains { $0.hasPrefix("journal") } && problems.contains { $0.hasPrefix("snapshot") },
            "\(problems)"
        )
        #expect(try await server.post("/v1/jobs", json: ["name": "refused2", "command": ["/bin/true"]]).status == 503)
        // The previous snapshot is still whole, and no partial file is left.
        let kept = try #require(newestSnapshot())
        #expect(try SnapshotReader.load(path: kept).table.count == 3)
        #expect(try FileManager.default.contentsOfDirectory(atPath: snapshots).allSatisfy { !$0.contains(".tmp-") })

        // Space returns: jobs are accepted again and health recovers.
        #expect(csys_set_file_size_limit(await server.pid, -1) == 0)
        var accepted = false
        for _ in 0..<50 where !accepted {
            try await Task.sleep(for: .milliseconds(100))
            accepted =
                try await server.post("/v1/jobs", json: ["name": "after", "command": ["/bin/true"]]).status == 201
        }
        #expect(accepted)
        var healthy = false
        for _ in 0..<30 where !healthy {
            try await Task.sleep(for: .milliseconds(100))
            healthy = try await server.request("GET", "/v1/health").json["status"] as? String == "ok"
        }
        #expect(healthy)
        try await server.restart()
        let jobs = try await Self.settledJobs(server, seconds: 10)
        #expect(jobs.map(\.name).sorted() == ["after", "d0", "d1", "d2"], "nothing half-recorded")
        await server.stop()
        let audit = try String(contentsOfFile: server.state + "/audit.jsonl", encoding: .utf8)
        for event in ["journalFailed", "snapshotFailed", "journalRecovered"] {
            #expect(audit.contains(#""event":"\#(event)""#), "\(event) audited")
        }
    }

    @Test func periodicSnapshotsAreSkippedWhenNothingChanged() async throws {
        let server = try await TestServer(settings: ["snapshot.intervalSeconds": "0.2"])
        _ = try await server.waitForEnd(try await server.launch(["name": "once", "command": ["/bin/true"]]))
        try await Task.sleep(for: .milliseconds(2_000))
        await server.stop()
        let audit = try String(contentsOfFile: server.state + "/audit.jsonl", encoding: .utf8)
        let written = audit.split(separator: "\n").filter { $0.contains(#""event":"snapshotWritten""#) }.count
        // About 10 intervals passed: the first snapshot after the job, then only the one at shutdown.
        #expect((1...3).contains(written), "\(written) snapshots")
    }

    @Test func aVersionChangeIsAudited() async throws {
        let server = try await TestServer()
        await server.stop()
        // As if an older release had run on this state directory last.
        try "0.0.9\n".write(toFile: server.state + "/jobrunner.version", atomically: true, encoding: .utf8)
        try await server.restart()
        await server.stop()
        let audit = try String(contentsOfFile: server.state + "/audit.jsonl", encoding: .utf8)
        let line = audit.split(separator: "\n").first { $0.contains(#""event":"versionChanged""#) }
        #expect(
            line?.contains(#""from":"0.0.9""#) == true && line?.contains(#""to":"\#(ProductVersion.current)""#) == true
        )
        let now = try String(contentsOfFile: server.state + "/jobrunner.version", encoding: .utf8)
        #expect(now == ProductVersion.current + "\n")
    }
}
