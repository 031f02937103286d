import Foundation
import JobModel
import Testing

/// kill -9 at random moments while dependencies, a capped queue and webhooks are in flight.
@Suite(.serialized, .timeLimit(.minutes(4)))
struct WorkflowFaultTests {
    private actor Ledger {
        var acknowledged: [Int: String] = [:]
        func add(_ id: Int, _ name: String) { acknowledged[id] = name }
    }

    @Test func kill9sWithWorkflowsInFlightLoseNothingRunNothingTwiceAndDeliverEveryWebhook() async throws {
        let receiver = try await WebhookTests.Receiver(directory: try WebhookTests.directory())
        var settings = WebhookTests.settings(port: receiver.port, events: ["jobSucceeded", "jobFailedFinally"])
        settings["queues"] = #"{"lane": {"maxConcurrent": 2}}"#
        settings["snapshot.intervalSeconds"] = "0.4"
        settings["jobs.defaultRetries"] = "0"
        let server = try await TestServer(settings: settings)
        let runs = server.state + "/runs.log"
        let ledger = Ledger()
        let total = 80
        let client = Task {
            var previous: Int?
            for n in 0..<total {
                let name = "w\(n)-" + ["ok", "e3", "ok", "e7"][n % 4]
                let script = FaultTests.script(name, runs: runs, sleep: Double(n * 37 % 7) / 10)
                var spec: [String: Any] = ["name": name, "command": ["/bin/sh", "-c", script]]
                if n % 2 == 0 { spec["queue"] = "lane" }
                // Every third job runs after the previous one has ended.
                if n % 3 == 0, let previous { spec["dependsOn"] = [["job": previous, "on": "ended"]] }
                // A client that retries through the restarts with an Idempotency-Key: every
                // job is acknowledged once, whatever the kills interrupt.
                let body = try? JSONSerialization.data(withJSONObject: spec)
                for _ in 0..<200 {
                    if let reply = try? await server.request(
                        "POST",
                        "/v1/jobs",
                        body: body,
                        headers: ["Idempotency-Key": "submit-\(n)"]
                    ), reply.status == 201 || reply.status == 200, let id = reply.json["id"] as? Int {
                        await ledger.add(id, name)
                        previous = id
                        break
                    }
                    try? await Task.sleep(for: .milliseconds(50))
                }
                try? await Task.sleep(for: .milliseconds(30))
            }
        }
        var seed: UInt64 = 0x2545_F491_4F6C_DD1D
        for _ in 0..<6 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            try await Task.sleep(for: .milliseconds(250 + Int(seed >> 33) % 500))
            try await server.crashAndRestart()
        }
        await client.value
        let jobs = try await FaultTests.settledJobs(server)
        let acknowledged = await ledger.acknowledged
        let byID = Dictionary(uniqueKeysWithValues: jobs.map { ($0.id, $0) })
        #expect(acknowledged.count == total, "every submit was acknowledged in the end")
        #expect(jobs.count == total, "and made one job")
        #expect(acknowledged.allSatisfy { byID[$0.key]?.name == $0.value }, "every acknowledged job exists")
        #expect(jobs.filter { $0.status == .lost }.isEmpty)
        let ranLines = ((try? String(contentsOfFile: runs, encoding: .utf8)) ?? "").split(separator: "\n")
        let ran = Dictionary(grouping: ranLines.map(String.init), by: { $0 })
        #expect(ran.values.allSatisfy { $0.count == 1 }, "no job ran twice")
        for job in jobs { FaultTests.expectOutcome(job) }

        // Dependencies held across the kills.
        let dependent = jobs.filter { (Int($0.name.dropFirst().split(separator: "-")[0]) ?? 1) % 3 == 0 }
        for job in dependent where job.id > 1 {
            let before = try #require(byID[job.id - 1])
            if let started = job.startedAt, let ended = before.endedAt {
                #expect(started >= ended, "\(job.name) started before job \(before.id) ended")
            }
        }
        // The lane's cap held: at no start were more than 2 of its jobs running.
        let lane = jobs.filter { $0.queue == "lane" }.compactMap { job in
            job.startedAt.flatMap { s in job.endedAt.map { (s, $0) } }
        }
        for (start, _) in lane {
            let overlapping = lane.filter { $0.0 <= start && $0.1 > start }.count
            #expect(overlapping <= 2, "\(overlapping) lane jobs running at \(start)")
        }
        // Every end was delivered (at least once) to the receiver, which never went away.
        let expected = Set(jobs.map(\.id))
        let received = try await receiver.wait { got in
            Set(got.compactMap { (($0["body"] as? [String: Any])?["job"] as? [String: Any])?["id"] as? Int })
                .isSuperset(of: expected)
        }
        let deliveries = received.count
        print(
            "workflow fault test: \(acknowledged.count) acknowledged, \(deliveries) deliveries for \(jobs.count) ends"
        )
        #expect(received.allSatisfy { $0["signed"] as? Bool == true })
        await server.stop()
    }
}
