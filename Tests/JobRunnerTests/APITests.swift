import Foundation
import JobModel
import Testing

/// The API against a real server where it needs real jobs: the live stats equal the offline
/// analysis of the same history. Validation, paging, errors, auth and the aliases are tested
/// in-process (RouterTests).
@Suite(.serialized, .timeLimit(.minutes(2)))
struct APITests {
    @Test func healthVersionAndStats() async throws {
        let server = try await TestServer()
        for i in 0..<6 {
            _ = try await server.launch([
                "name": "s\(i % 2)", "command": ["/bin/sh", "-c", "exit \(i % 3 == 0 ? 1 : 0)"], "retries": 0,
            ])
        }
        for id in 1...6 { _ = try await server.waitForEnd(id) }
        let health = try await server.request("GET", "/v1/health").json
        #expect(health["status"] as? String == "ok")
        #expect(health["version"] as? String == ProductVersion.current)
        #expect(try await server.request("GET", "/healthCheck").status == 200)
        let version = try await server.request("GET", "/v1/version").json
        #expect(version["api"] as? String == "v1")
        #expect(version["snapshotFormat"] as? Int == 1)

        let stats = try await server.request("GET", "/v1/stats?tz=UTC&all=true")
        #expect(stats.status == 200)
        let report = try JSONDecoder().decode(AnalysisReport.self, from: stats.body)
        #expect(report.jobCount == 6)
        #expect(try await server.request("GET", "/stats").status == 200)
        #expect(try await server.request("GET", "/v1/stats?pattern=nope").status == 400)

        // Same answer as jobstats on the same jobs: the snapshot written at shutdown.
        await server.stop()
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: server.state + "/snapshots").sorted()
        let table = try SnapshotReader.load(path: server.state + "/snapshots/" + snapshots.last!).table
        var options = AnalysisOptions(timeZone: TimeZone(identifier: "UTC")!)
        options.showAll = true
        let offline = Analysis.run(table, options: options)
        #expect(offline.baseline == report.baseline)
        #expect(offline.patterns == report.patterns)
    }
}
