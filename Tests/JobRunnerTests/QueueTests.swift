import Foundation
import JobModel
import Testing

@testable import jobrunner

/// Launch queues: the lanes alone (in-process), then real jobs through a real server.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct QueueTests {
    @Test func theOldestHeadAmongTheLanesThatMayStartGoesFirst() {
        var queues = LaunchQueues(limits: ["one": 1, "free": nil])
        for (id, queue) in [(1, "one"), (2, nil), (3, "one"), (4, "free"), (5, nil)] as [(Int, String?)] {
            queues.enqueue(id, queue: queue)
        }
        var order: [Int] = []
        func take() {
            while let id = queues.next(isPending: { _ in true }) {
                order.append(id)
                queues.occupied(queue: [1: "one", 3: "one", 4: "free"][id])
            }
        }
        take()
        #expect(order == [1, 2, 4, 5], "3 waits: queue one holds its one slot")
        queues.freed(queue: "one")
        take()
        #expect(order == [1, 2, 4, 5, 3])
    }

    @Test func pausedLanesWaitRequeuedJobsGoFirstAndCancelledOnesAreSkipped() {
        var queues = LaunchQueues(limits: ["p": nil], paused: ["p"])
        queues.enqueue(1, queue: "p")
        queues.enqueue(2, queue: nil)
        queues.enqueue(3, queue: nil)
        #expect(queues.next(isPending: { $0 != 2 }) == 3, "2 was cancelled; 1 is paused")
        queues.requeue(3, queue: nil)
        #expect(queues.next(isPending: { _ in true }) == 3, "a requeued job is first again")
        #expect(queues.next(isPending: { _ in true }) == nil)
        #expect(queues.paused == ["p"])
        let resumed = queues.setPaused("p", false)
        let unknown = queues.setPaused("nope", true)
        #expect(resumed && !unknown)
        #expect(queues.next(isPending: { _ in true }) == 1)
        // A job recovered from a queue the configuration lost gets a lane of its own.
        queues.enqueue(9, queue: "gone")
        #expect(queues.lanes["gone"]?.configured == false)
        #expect(queues.next(isPending: { _ in true }) == 9)
    }

    @Test func aThousandJobsInThreeLanesNeverExceedTheirCaps() {
        var queues = LaunchQueues(limits: ["a": 2, "b": 5])
        var generator = SystemRandomNumberGenerator()
        var queueOf: [Int: String?] = [:]
        var running: [Int] = []
        var launched = Set<Int>()
        for id in 1...1_000 {
            let queue = [nil, "a", "b"].randomElement(using: &generator)!
            queueOf[id] = queue
            queues.enqueue(id, queue: queue)
        }
        while launched.count < 1_000 {
            while running.count < 6, let id = queues.next(isPending: { _ in true }) {
                #expect(launched.insert(id).inserted, "job \(id) launched twice")
                running.append(id)
                queues.occupied(queue: queueOf[id]!)
            }
            let inA = running.filter { queueOf[$0] == .some("a") }.count
            let inB = running.filter { queueOf[$0] == .some("b") }.count
            #expect(inA <= 2)
            #expect(inB <= 5)
            let done = running.remove(at: Int.random(in: 0..<running.count, using: &generator))
            queues.freed(queue: queueOf[done]!)
        }
    }

    static let settings = ["queues": #"{"one": {"maxConcurrent": 1}, "wide": {"maxConcurrent": null}}"#]

    func queue(_ server: TestServer, _ name: String) async throws -> [String: Any] {
        let reply = try await server.request("GET", "/v1/queues")
        let queues = try #require(reply.json["queues"] as? [[String: Any]])
        return try #require(queues.first { $0["name"] as? String == name })
    }

    @Test func aQueueRunsItsJobsOneByOneAndAPauseHoldsThroughARestart() async throws {
        let server = try await TestServer(settings: Self.settings)
        func gated(_ n: Int) async throws -> Int {
            try await server.launch([
                "name": "lane-\(n)", "queue": "one", "retries": 0,
                "command": ["/bin/sh", "-c", "while [ ! -f \(server.state)/gate-\(n) ]; do sleep 0.05; done"],
            ])
        }
        func open(_ n: Int) { _ = FileManager.default.createFile(atPath: "\(server.state)/gate-\(n)", contents: nil) }
        let jobs = [try await gated(1), try await gated(2), try await gated(3)]
        let free = try await server.launch(["name": "free", "command": ["/bin/true"], "retries": 0])
        #expect(try await server.waitForEnd(free).status == .succeeded, "the default queue is not held up")
        #expect(try await server.job(jobs[0]).status == .running)
        #expect(try await server.job(jobs[1]).status == .pending)
        var one = try await queue(server, "one")
        #expect(one["running"] as? Int == 1)
        #expect(one["pending"] as? Int == 2)
        #expect(one["maxConcurrent"] as? Int == 1)
        #expect(try await server.job(jobs[0]).queue == "one")

        open(1)
        let first = try await server.waitForEnd(jobs[0])
        for _ in 0..<200 where try await server.job(jobs[1]).status != .running {
            try await Task.sleep(for: .milliseconds(25))
        }
        let paused = try await server.post("/v1/queues/one/pause", json: [:] as [String: Any])
        #expect(paused.status == 200)
        #expect(paused.json["paused"] as? Bool == true)
        open(2)
        let second = try await server.waitForEnd(jobs[1])
        #expect(try #require(second.startedAt) >= (try #require(first.endedAt)), "one at a time")
        try await server.restart()
        one = try await queue(server, "one")
        #expect(one["paused"] as? Bool == true, "a pause outlives a restart")
        #expect(one["pending"] as? Int == 1)
        #expect(try await server.job(jobs[2]).status == .pending)

        let resumed = try await server.post("/v1/queues/one/resume", json: [:] as [String: Any])
        #expect(resumed.status == 200)
        open(3)
        #expect(try await server.waitForEnd(jobs[2]).status == .succeeded)
        let audit = try String(contentsOfFile: server.state + "/audit.jsonl", encoding: .utf8)
        #expect(audit.contains(#""event":"queuePaused""#) && audit.contains(#""event":"queueResumed""#))
        await server.stop()
    }

    @Test func unknownQueuesAreRefusedAndNothingIsRecorded() async throws {
        let server = try await TestServer(settings: Self.settings)
        let bad = try await server.post("/v1/jobs", json: ["name": "x", "command": ["/bin/true"], "queue": "nope"])
        #expect(bad.status == 400)
        let message = (bad.json["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message == "'queue' nope is not a configured queue; queues: default, one, wide", "\(message)")
        let missing = try await server.post("/v1/queues/nope/pause", json: [:] as [String: Any])
        #expect(missing.status == 404)
        #expect((try await server.request("GET", "/v1/jobs").json["jobs"] as? [Any])?.isEmpty == true)
        await server.stop()
    }
}
