import Foundation
import JobModel
import Testing

@testable import jobrunner

/// Reruns through a real server: one job, then a filter.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct RerunTests {
    @Test func aRerunIsANewJobWithTheSameCommandAndAsksForEnvAgain() async throws {
        let server = try await TestServer(settings: QueueTests.settings)
        let failed = try await server.launch([
            "name": "flaky", "command": ["/bin/sh", "-c", "echo $WORD; exit 3"], "retries": 0,
            "labels": ["team": "data"], "env": ["WORD": "secret"], "queue": "wide", "timeoutSeconds": 60,
        ])
        #expect(try await server.waitForEnd(failed).status == .failed)
        // Its env goes with its end (it may hold secrets): the rerun must give it again.
        for _ in 0..<200 where FileManager.default.fileExists(atPath: server.state + "/specs/\(failed).json") {
            try await Task.sleep(for: .milliseconds(25))
        }
        let refused = try await server.post("/v1/jobs/\(failed)/rerun", json: [:] as [String: Any])
        #expect(refused.status == 400)
        let message = (refused.json["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.hasPrefix("'env' is required: job \(failed)'s env is no longer kept"), "\(message)")
        let jobsBefore = (try await server.request("GET", "/v1/jobs").json["jobs"] as? [Any])?.count

        let reply = try await server.post("/v1/jobs/\(failed)/rerun", json: ["env": ["WORD": "again"]])
        #expect(reply.status == 201)
        #expect(jobsBefore == 1, "the refused rerun recorded nothing")
        let id = try #require(reply.json["id"] as? Int)
        let rerun = try await server.waitForEnd(id)
        #expect(rerun.rerunOf == failed)
        #expect(rerun.name == "flaky" && rerun.labels == ["team": "data"] && rerun.queue == "wide")
        #expect(rerun.attempt == 1 && rerun.parentId == nil, "a new chain, not a retry")
        #expect(rerun.timeoutSeconds == 60 && rerun.retries == 0, "its limits came from the record")
        let out = try await server.request("GET", "/v1/jobs/\(id)/logs")
        #expect(out.text == "again\n")

        let running = try await server.launch(["name": "long", "command": ["/bin/sleep", "30"], "retries": 0])
        let early = try await server.post("/v1/jobs/\(running)/rerun", json: ["env": [:] as [String: String]])
        #expect(early.status == 409)
        #expect(try await server.post("/v1/jobs/999/rerun", json: ["env": [:] as [String: String]]).status == 404)
        #expect(try await server.post("/v1/jobs/\(failed)/rerun", json: ["env": [:], "bogus": 1]).status == 400)
        _ = try await server.post("/v1/jobs/\(running)/cancel", json: [:] as [String: Any])
        await server.stop()
    }

    @Test func aFilteredRerunRerunsEachFailedChainOnceAndOnlyOnce() async throws {
        let server = try await TestServer()
        // a: fails, retried once, fails again (one chain); b: succeeds; c: fails; d: crashes.
        let a = try await server.launch(["name": "a", "command": ["/bin/sh", "-c", "exit 1"], "retries": 1])
        let b = try await server.launch(["name": "b", "command": ["/bin/true"], "retries": 0])
        let c = try await server.launch(["name": "c", "command": ["/bin/sh", "-c", "exit 2"], "retries": 0])
        let d = try await server.launch(["name": "d", "command": ["/bin/sh", "-c", "kill -9 $$"], "retries": 0])
        let retry = try #require(try await server.waitForEnd(a).retriedBy)
        for id in [retry, b, c, d] { _ = try await server.waitForEnd(id) }

        let reply = try await server.post("/v1/jobs/rerun", json: ["env": [:] as [String: String]])
        #expect(reply.status == 200)
        let jobs = try #require(reply.json["jobs"] as? [[String: Any]])
        #expect(jobs.compactMap { $0["rerunOf"] as? Int }.sorted() == [retry, c, d].sorted())
        let again = try await server.post("/v1/jobs/rerun", json: ["env": [:] as [String: String]])
        // A job already rerun is never taken again; only reruns that failed meanwhile are new.
        let first = Set(jobs.compactMap { $0["rerunOf"] as? Int })
        let reruns = Set(jobs.compactMap { $0["id"] as? Int })
        let second = Set((again.json["jobs"] as? [[String: Any]] ?? []).compactMap { $0["rerunOf"] as? Int })
        #expect(second.isDisjoint(with: first), "each job is rerun once")
        // (Each is the end of a rerun's chain: the rerun itself, or its retry when the rerun
        // failed and was retried before the second call.)
        for id in second {
            var root = try await server.job(id)
            while let parent = root.parentId { root = try await server.job(parent) }
            #expect(reruns.contains(root.id), "job \(id) ends the chain of rerun \(root.id)")
        }
        let named = try await server.post(
            "/v1/jobs/rerun",
            json: ["status": ["succeeded"], "name": "b", "env": [:] as [String: String]]
        )
        #expect((named.json["jobs"] as? [[String: Any]])?.map { $0["rerunOf"] as? Int } == [b])
        let bad = try await server.post("/v1/jobs/rerun", json: ["status": "running"])
        #expect(bad.status == 400)
        await server.stop()
    }
}
