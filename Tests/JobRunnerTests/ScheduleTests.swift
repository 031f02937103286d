import Foundation
import JobModel
import Testing

@testable import jobrunner

/// Schedules through a real server. Runs that are due at start-up (a schedules file whose
/// last run is in the past) stand in for waiting for the clock: the same code starts them.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ScheduleTests {
    static func write(_ schedules: [JobSchedule], state: String) throws {
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        try ScheduleFile.save(
            ScheduleFile.Contents(nextId: (schedules.map(\.id).max() ?? 0) + 1, schedules: schedules),
            state: state
        )
    }

    static func schedule(
        _ id: Int,
        cron: String = "* * * * *",
        command: [String] = ["/bin/true"],
        overlap: JobSchedule.Overlap = .skip,
        catchUp: Bool,
        lastRunSecondsAgo: Double,
        lastJobId: Int? = nil
    ) -> JobSchedule {
        let now = Date().timeIntervalSince1970
        var request = JobRequest(name: "nightly-\(id)", command: command, env: ["WHO": "cron"], labels: [:])
        request.retries = 0
        return JobSchedule(
            id: id,
            name: "s\(id)",
            cron: cron,
            timeZone: "Europe/Berlin",
            job: JobSchedule.Template(request),
            overlap: overlap,
            catchUp: catchUp,
            createdAt: now - 86_400,
            lastRunAt: now - lastRunSecondsAgo,
            lastJobId: lastJobId
        )
    }

    func jobs(_ server: TestServer) async throws -> [Job] {
        let reply = try await server.request("GET", "/v1/jobs")
        let list = try JSONSerialization.data(withJSONObject: reply.json["jobs"] ?? [])
        return try JSONDecoder().decode([Job].self, from: list)
    }

    func schedules(_ server: TestServer) async throws -> [[String: Any]] {
        try #require((try await server.request("GET", "/v1/schedules")).json["schedules"] as? [[String: Any]])
    }

    @Test func aScheduleIsCheckedKeptAndDeletedAndNeverShowsItsEnv() async throws {
        let server = try await TestServer()
        let body: [String: Any] = [
            "name": "nightly", "cron": "0 3 * * *", "timeZone": "Europe/Berlin", "overlap": "queue",
            "job": ["name": "backup", "command": ["/bin/true"], "env": ["PASSWORD": "hunter2"]],
        ]
        let created = try await server.request(
            "POST",
            "/v1/schedules",
            body: try JSONSerialization.data(withJSONObject: body)
        )
        #expect(created.status == 201)
        #expect(!created.text.contains("hunter2"))
        #expect((created.json["job"] as? [String: Any])?["envKeys"] as? [String] == ["PASSWORD"])
        // The next 03:00 in Berlin, worked out by Foundation's calendar.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Berlin")!
        let expected = calendar.nextDate(
            after: Date(),
            matching: DateComponents(hour: 3, minute: 0),
            matchingPolicy: .nextTime
        )!
        #expect(created.json["nextRunAt"] as? String == Timestamp.format(expected))
        let id = try #require(created.json["id"] as? Int)

        func error(_ change: [String: Any]) async throws -> (Int, String) {
            let data = try JSONSerialization.data(withJSONObject: body.merging(change) { $1 })
            let reply = try await server.request("POST", "/v1/schedules", body: data)
            return (reply.status, (reply.json["error"] as? [String: Any])?["message"] as? String ?? "")
        }
        #expect(try await error(["cron": "61 * * * *"]) == (400, "'cron' minute 61 is out of 0-59"))
        #expect(try await error(["timeZone": "Mars/Olympus"]).1.hasPrefix("'timeZone' Mars/Olympus is not"))
        #expect(try await error(["job": ["name": "x"]]) == (400, "in 'job': 'command' is required"))
        #expect(try await error(["overlap": "sometimes"]) == (400, "'overlap' must be skip, queue or allow"))
        #expect(try await error(["cron": "0 0 31 2 *"]).1.hasSuffix("never runs (no such date in ten years)"))
        #expect(try await error(["every": "day"]).0 == 400)

        try await server.restart()
        let kept = try await schedules(server)
        #expect(kept.count == 1, "invalid schedules recorded nothing; the valid one outlived a restart")
        #expect(kept.first?["overlap"] as? String == "queue")
        let deleted = try await server.request("DELETE", "/v1/schedules/\(id)")
        #expect(deleted.status == 200)
        #expect(try await server.request("GET", "/v1/schedules/\(id)").status == 404)
        #expect(try await server.request("DELETE", "/v1/schedules/\(id)").status == 404)
        await server.stop()
    }

    @Test func missedRunsStartOnceWithCatchUpAndNoneWithout() async throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("sched-\(UUID().uuidString)").path
        // Both last ran an hour ago: 60 runs of "* * * * *" were missed.
        try Self.write(
            [
                Self.schedule(1, catchUp: true, lastRunSecondsAgo: 3_600),
                Self.schedule(2, catchUp: false, lastRunSecondsAgo: 3_600),
            ],
            state: state
        )
        let server = try await TestServer(state: state)
        var started: [Job] = []
        for _ in 0..<200 where started.isEmpty {
            started = try await jobs(server)
            try await Task.sleep(for: .milliseconds(25))
        }
        try await Task.sleep(for: .milliseconds(300))
        started = try await jobs(server).filter { $0.scheduleId != nil }
        // (A minute boundary may pass during the test: then each starts one on-time run too.)
        let caughtUp = started.filter { $0.scheduleId == 1 }
        #expect((1...2).contains(caughtUp.count), "one catch-up run, not 60")
        #expect(started.filter { $0.scheduleId == 2 }.count <= 1, "no catch-up run without catchUp")
        #expect(caughtUp.first?.name == "nightly-1")
        #expect(try await server.waitForEnd(caughtUp[0].id).status == .succeeded)
        let second = try #require(try await schedules(server).first { $0["id"] as? Int == 2 })
        #expect(second["lastRunAt"] as? String != nil, "the missed runs are recorded as passed")
        await server.stop()
    }

    @Test func overlapSkipsQueuesOrAllowsAndAfterACrashARunIsNotStartedTwice() async throws {
        let server = try await TestServer()
        let gate = server.state + "/gate"
        let long = try await server.launch([
            "name": "previous", "retries": 0,
            "command": ["/bin/sh", "-c", "while [ ! -f \(gate) ]; do sleep 0.05; done"],
        ])
        await server.stop()
        // Three schedules whose previous job (still running) is `long`, each due now.
        try Self.write(
            [
                // Daily, last run two days ago: the run due is the same one however long the test takes.
                Self.schedule(
                    1,
                    cron: "0 3 * * *",
                    overlap: .skip,
                    catchUp: true,
                    lastRunSecondsAgo: 172_800,
                    lastJobId: long
                ),
                Self.schedule(
                    2,
                    cron: "0 3 * * *",
                    overlap: .queue,
                    catchUp: true,
                    lastRunSecondsAgo: 172_800,
                    lastJobId: long
                ),
                Self.schedule(
                    3,
                    cron: "0 3 * * *",
                    overlap: .allow,
                    catchUp: true,
                    lastRunSecondsAgo: 172_800,
                    lastJobId: long
                ),
            ],
            state: server.state
        )
        let before = try String(contentsOfFile: ScheduleFile.path(state: server.state), encoding: .utf8)
        try await server.restart()
        var runs: [Job] = []
        for _ in 0..<200 where runs.count < 2 {
            runs = try await jobs(server).filter { $0.scheduleId != nil }
            try await Task.sleep(for: .milliseconds(25))
        }
        let byID = Dictionary(grouping: runs, by: { $0.scheduleId! })
        #expect(byID[1] == nil, "skip: no run beside an unfinished previous job")
        let queued = try #require(byID[2]?.first)
        #expect(queued.status == .pending)
        #expect(queued.reason == "waiting for job \(long) to end")
        #expect(byID[3]?.first.map { $0.status != .pending } == true, "allow: it runs at once")
        let skipped = try #require(try await schedules(server).first { $0["id"] as? Int == 1 })
        #expect(skipped["skippedRuns"] as? Int == 1)

        // A crash that loses the file's record of the runs: the runs are found by their
        // keys, not started again.
        try await server.crashAndRestart()
        try before.write(toFile: ScheduleFile.path(state: server.state), atomically: true, encoding: .utf8)
        try await server.crashAndRestart()
        try await Task.sleep(for: .milliseconds(500))
        let again = try await jobs(server).filter { $0.scheduleId != nil }
        #expect(again.map(\.id).sorted() == runs.map(\.id).sorted(), "no run started twice")
        _ = FileManager.default.createFile(atPath: gate, contents: nil)
        #expect(try await server.waitForEnd(queued.id).status == .succeeded)
        await server.stop()
    }
}
