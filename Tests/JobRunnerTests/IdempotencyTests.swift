import Foundation
import JobModel
import Testing

/// `Idempotency-Key` on `POST /v1/jobs`, against a real server: a repeated submit gets the
/// first job, across a kill -9 and across a snapshot that replaced the journal.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct IdempotencyTests {
    static let body = Data(#"{"name":"once","command":["/bin/true"],"retries":0}"#.utf8)

    static func submit(_ server: TestServer, key: String, body: Data = body) async throws -> TestServer.Reply {
        try await server.request("POST", "/v1/jobs", body: body, headers: ["Idempotency-Key": key])
    }

    static func jobCount(_ server: TestServer) async throws -> Int {
        try await server.request("GET", "/v1/health").json["jobCount"] as? Int ?? -1
    }

    @Test func theSameKeyAnswersTheFirstJobAndAnotherBodyConflicts() async throws {
        let server = try await TestServer()
        let first = try await Self.submit(server, key: "deploy-2026-12-02")
        #expect(first.status == 201)
        let id = try #require(first.json["id"] as? Int)
        let again = try await Self.submit(server, key: "deploy-2026-12-02")
        #expect(again.status == 200)
        #expect(again.json["id"] as? Int == id)
        #expect(again.headers["idempotent-replayed"] == "true")
        let other = Data(#"{"name":"twice","command":["/bin/true"]}"#.utf8)
        let conflict = try await Self.submit(server, key: "deploy-2026-12-02", body: other)
        #expect(conflict.status == 409)
        #expect(conflict.text.contains("another body"))
        #expect(try await Self.submit(server, key: "another-key").status == 201)
        #expect(try await server.request("POST", "/v1/jobs", body: Self.body).status == 201, "no key: a new job")
        #expect(try await Self.submit(server, key: "has space").status == 400)
        #expect(try await Self.submit(server, key: String(repeating: "k", count: 256)).status == 400)
        #expect(try await Self.jobCount(server) == 3)
        await server.stop()
    }

    @Test func aKeyOutlivesAKillAndASnapshot() async throws {
        let server = try await TestServer()
        let first = try await Self.submit(server, key: "nightly-42")
        let id = try #require(first.json["id"] as? Int)
        // The answer was lost to a crash: the client asks again after the restart.
        try await server.crashAndRestart()
        let afterCrash = try await Self.submit(server, key: "nightly-42")
        #expect(afterCrash.status == 200)
        #expect(afterCrash.json["id"] as? Int == id)
        // A clean stop writes a snapshot and drops the journal it replaces: the key stays.
        try await server.restart()
        let afterSnapshot = try await Self.submit(server, key: "nightly-42")
        #expect(afterSnapshot.status == 200)
        #expect(afterSnapshot.json["id"] as? Int == id)
        #expect(try await Self.jobCount(server) == 1, "one job launched for three submits")
        #expect(FileManager.default.fileExists(atPath: server.state + "/idempotency.json"))
        await server.stop()
    }

    @Test func concurrentSubmitsWithOneKeyMakeOneJob() async throws {
        let server = try await TestServer()
        let ids = try await withThrowingTaskGroup(of: Int?.self) { group in
            for _ in 0..<20 {
                group.addTask { try await Self.submit(server, key: "burst").json["id"] as? Int }
            }
            var ids: Set<Int?> = []
            for try await id in group { ids.insert(id) }
            return ids
        }
        #expect(ids.count == 1 && ids.first! != nil, "\(ids)")
        #expect(try await Self.jobCount(server) == 1)
        await server.stop()
    }

    @Test func aKeyExpiresWithItsWindow() async throws {
        let server = try await TestServer(settings: ["jobs.idempotencyWindowSeconds": "1"])
        #expect(try await Self.submit(server, key: "short").status == 201)
        try await Task.sleep(for: .milliseconds(1_200))
        #expect(try await Self.submit(server, key: "short").status == 201, "past the window: a new job")
        #expect(try await Self.jobCount(server) == 2)
        await server.stop()
    }
}
