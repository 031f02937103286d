import Foundation
import JobModel
import Testing

@testable import jobrunner

/// `dependsOn`: the verdict alone (in-process), then real jobs through a real server.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct DependencyTests {
    @Test func theVerdictFollowsRetriesAndNamesTheJob() {
        // 1 succeeded; 2 failed and was retried by 3 (running); 4 failed for good; 5 pending.
        let jobs: [Int: (JobStatus, Int?)] = [
            1: (.succeeded, nil), 2: (.failed, 3), 3: (.running, nil), 4: (.failed, nil), 5: (.pending, nil),
        ]
        func verdict(_ deps: [(Int, JobDependency.Condition)]) -> JobDependency.Verdict {
            JobDependency.evaluate(deps.map { JobDependency(job: $0.0, on: $0.1) }) { id in
                jobs[id].map { (status: $0.0, retriedBy: $0.1) }
            }
        }
        #expect(verdict([(1, .succeeded)]) == .met)
        #expect(verdict([(1, .ended), (4, .failed)]) == .met)
        #expect(
            verdict([(2, .succeeded)]) == .waiting(job: 3, reason: "waiting for job 3 (retry of 2) to end succeeded")
        )
        #expect(verdict([(5, .ended)]) == .waiting(job: 5, reason: "waiting for job 5 to end"))
        #expect(verdict([(4, .succeeded)]) == .failed(reason: "dependencyFailed: job 4 ended failed, not succeeded"))
        #expect(verdict([(1, .failed)]) == .failed(reason: "dependencyFailed: job 1 ended succeeded, not failed"))
        // A condition that cannot hold wins over one still waiting.
        #expect(verdict([(5, .succeeded), (4, .succeeded)]).isFailed)
        #expect(verdict([(9, .ended)]) == .failed(reason: "dependencyFailed: job 9 does not exist"))
    }

    @Test func jobsRunAfterWhatTheyDependOnOrAreSkipped() async throws {
        let server = try await TestServer()
        // The first job ends when the test says so (a file appears): no race with the checks.
        let gate = server.state + "/gate"
        let first = try await server.launch([
            "name": "first", "command": ["/bin/sh", "-c", "while [ ! -f \(gate) ]; do sleep 0.05; done"], "retries": 0,
        ])
        func after(_ name: String, _ job: Int, on condition: String) async throws -> Int {
            try await server.launch([
                "name": name, "command": ["/bin/true"], "retries": 0,
                "dependsOn": [["job": job, "on": condition]],
            ])
        }
        let onSuccess = try await after("on-success", first, on: "succeeded")
        let onFailure = try await after("on-failure", first, on: "failed")
        let onEnd = try await after("on-end", onFailure, on: "ended")
        let chained = try await after("chained", onFailure, on: "succeeded")
        let waiting = try await server.job(onSuccess)
        #expect(waiting.status == .pending)
        #expect(waiting.reason == "waiting for job \(first) to end succeeded")
        #expect(FileManager.default.createFile(atPath: gate, contents: nil))

        let a = try await server.waitForEnd(first)
        let b = try await server.waitForEnd(onSuccess)
        #expect(b.status == .succeeded)
        #expect(try #require(b.startedAt) >= (try #require(a.endedAt)), "it started after the job it depended on ended")
        let skipped = try await server.waitForEnd(onFailure)
        #expect(skipped.status == .skipped)
        #expect(skipped.reason == "dependencyFailed: job \(first) ended succeeded, not failed")
        #expect(try await server.waitForEnd(onEnd).status == .succeeded, "skipped is an end")
        #expect(try await server.waitForEnd(chained).status == .skipped, "skips cascade")

        let unknown = try await server.post(
            "/v1/jobs",
            json: ["name": "x", "command": ["/bin/true"], "dependsOn": [["job": 999]]]
        )
        #expect(unknown.status == 400)
        #expect(
            (unknown.json["error"] as? [String: Any])?["message"] as? String
                == "'dependsOn[0].job' 999 is not a job of this manager"
        )
        await server.stop()
    }

    @Test func aDependencyOnARetriedJobWaitsForItsRetry() async throws {
        let server = try await TestServer()
        let flag = server.state + "/flag"
        let flaky = try await server.launch([
            "name": "flaky", "command": ["/bin/sh", "-c", "test -f \(flag) || { touch \(flag); exit 1; }"],
            "retries": 1,
        ])
        let next = try await server.launch(["name": "next", "command": ["/bin/true"], "dependsOn": [["job": flaky]]])
        let job = try await server.waitForEnd(next)
        #expect(job.status == .succeeded)
        let failedFirst = try await server.job(flaky)
        #expect(failedFirst.status == .failed)
        let retry = try await server.job(try #require(failedFirst.retriedBy))
        #expect(retry.status == .succeeded)
        #expect(try #require(job.startedAt) >= (try #require(retry.endedAt)))
        await server.stop()
    }

    @Test func waitingSurvivesAManagerKilledWithSIGKILL() async throws {
        let server = try await TestServer()
        let gate = server.state + "/gate"
        let slow = try await server.launch([
            "name": "slow", "command": ["/bin/sh", "-c", "while [ ! -f \(gate) ]; do sleep 0.05; done"], "retries": 0,
        ])
        let next = try await server.launch(["name": "next", "command": ["/bin/true"], "dependsOn": [["job": slow]]])
        let health = try await server.request("GET", "/v1/health").json
        #expect(health["pendingJobs"] as? Int == 1, "a waiting job is pending")
        try await server.crashAndRestart()
        #expect(try await server.job(next).status == .pending, "still waiting after the restart")
        #expect(FileManager.default.createFile(atPath: gate, contents: nil))
        let waited = try await server.waitForEnd(next)
        let first = try await server.job(slow)
        #expect(first.status == .succeeded)
        #expect(waited.status == .succeeded)
        #expect(try #require(waited.startedAt) >= (try #require(first.endedAt)))
        await server.stop()
    }
}

extension JobDependency.Verdict {
    var isFailed: Bool { if case .failed = self { true } else { false } }
}
