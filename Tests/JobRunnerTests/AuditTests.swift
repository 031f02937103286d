import Foundation
import Testing

@testable import jobrunner

/// Every API call and every life event of the manager leaves one audit line.
@Suite(.timeLimit(.minutes(1)))
struct AuditTests {
    static func lines(_ state: String) -> [[String: Any]] {
        ((try? String(contentsOfFile: state + "/audit.jsonl", encoding: .utf8)) ?? "").split(separator: "\n").compactMap
        {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    @Test func callsAndLifeEventsAreAudited() async throws {
        let server = try await TestServer()
        let id = try await server.launch([
            "name": "audited", "command": ["sleep", "5"], "env": ["API_KEY": "s3cr3t-value"],
        ])
        _ = try await server.request("GET", "/v1/jobs/\(id)")
        _ = try await server.request("POST", "/v1/jobs/\(id)/cancel")
        _ = try await server.request("GET", "/v1/jobs/999")
        _ = try await server.waitForEnd(id)
        await server.stop()

        let lines = Self.lines(server.state)
        let events = lines.compactMap { $0["event"] as? String }
        #expect(events.first == "managerStarted")
        #expect(events.contains("recovered"))
        #expect(events.contains("shuttingDown"))
        #expect(events.last == "snapshotWritten")
        let calls = lines.filter { $0["event"] as? String == "apiCall" }
        let post = try #require(
            calls.first { $0["method"] as? String == "POST" && $0["path"] as? String == "/v1/jobs" }
        )
        #expect(post["status"] as? Int == 201)
        #expect(post["jobId"] as? Int == id)
        #expect(post["client"] as? String == "127.0.0.1")
        #expect(post["latencyMs"] is Double || post["latencyMs"] is Int)
        #expect(post["time"] is String)
        #expect(calls.contains { $0["path"] as? String == "/v1/jobs/\(id)/cancel" && $0["status"] as? Int == 200 })
        #expect(calls.contains { $0["path"] as? String == "/v1/jobs/999" && $0["status"] as? Int == 404 })
        let started = try #require(lines.first)
        #expect((started["configDigest"] as? String)?.hasPrefix("fnv1a64:") == true)
        let text = try String(contentsOfFile: server.state + "/audit.jsonl", encoding: .utf8)
        #expect(!text.contains("s3cr3t-value"), "env values never appear in the audit log")
    }

    @Test func theLogRotatesAtItsSizeLimit() async throws {
        let server = try await TestServer(settings: ["audit.maxBytes": "4096", "audit.keep": "2"])
        for _ in 0..<120 { _ = try await server.request("GET", "/v1/health") }
        await server.stop()
        let files = try FileManager.default.contentsOfDirectory(atPath: server.state).filter {
            $0.hasPrefix("audit.jsonl")
        }
        #expect(Set(files) == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"])
        for file in files {
            let size = try FileManager.default.attributesOfItem(atPath: server.state + "/" + file)[.size] as! Int
            #expect(size <= 4096)
        }
    }

    /// A batch of deferred lines larger than a whole file (a busy moment between flushes)
    /// is split at line ends: no file passes the limit, no line is lost or cut.
    @Test func aBatchLargerThanAFileIsSplitAtLineEnds() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jobrunner-audit-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/audit.jsonl"
        let audit = AuditLog(path: path, maxBytes: 1_024, keep: 20)
        for i in 0..<100 { audit.record("call", ["method": "GET", "path": "/v1/health", "n": i], deferred: true) }
        audit.flush()
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("audit.jsonl") }
        #expect(files.count > 3, "the batch spans several files: \(files)")
        var numbers: [Int] = []
        for file in files {
            let text = try String(contentsOfFile: dir + "/" + file, encoding: .utf8)
            #expect(text.utf8.count <= 1_024, "\(file): \(text.utf8.count) bytes")
            #expect(text.hasSuffix("\n"))
            for line in text.split(separator: "\n") {
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                numbers.append(try #require(object?["n"] as? Int))
            }
        }
        #expect(numbers.sorted() == Array(0..<100))
    }
}
