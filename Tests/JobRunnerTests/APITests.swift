import Foundation
import JobModel
import Testing

@Suite(.serialized, .timeLimit(.minutes(2)))
struct APITests {
    @Test func invalidRequestsAreRefusedAndRecordNothing() async throws {
        let server = try await TestServer()
        let bad: [(String, String)] = [
            ("{", "not valid JSON"),
            ("[]", "JSON object"),
            (#"{"command":["/bin/true"]}"#, "'name' is required"),
            (#"{"name":"x"}"#, "'command' is required"),
            (#"{"name":"x","command":[]}"#, "'command' must not be empty"),
            (#"{"name":"x","command":"/bin/true"}"#, "'command' must be a list"),
            (#"{"name":"x","command":[1]}"#, "'command[0]' must be a string"),
            (#"{"name":"../etc","command":["/bin/true"]}"#, "'name' must be"),
            (#"{"name":"x","command":["/bin/true"],"retires":1}"#, "unknown field 'retires'"),
            (#"{"name":"x","command":["/bin/true"],"retries":99}"#, "'retries'"),
            (#"{"name":"x","command":["/bin/true"],"retries":-1}"#, "'retries'"),
            (#"{"name":"x","command":["/bin/true"],"timeoutSeconds":-5}"#, "'timeoutSeconds'"),
            (#"{"name":"x","command":["/bin/true"],"timeoutSeconds":"5"}"#, "'timeoutSeconds' must be a number"),
            (#"{"name":"x","command":["/bin/true"],"maxRssBytes":1}"#, "'maxRssBytes'"),
            (#"{"name":"x","command":["/bin/true"],"env":{"A":1}}"#, "'env.A' must be a string"),
            (#"{"name":"x","command":["/bin/true"],"cwd":"relative"}"#, "'cwd' must be an absolute path"),
            (#"{"name":"x","command":["a\u0000b"]}"#, "NUL"),
        ]
        for (body, expected) in bad {
            let reply = try await server.request("POST", "/v1/jobs", body: Data(body.utf8))
            #expect(reply.status == 400, "\(body)")
            let error = reply.json["error"] as? [String: Any]
            #expect(error?["code"] as? String == "invalidRequest", "\(body)")
            #expect((error?["message"] as? String)?.contains(expected) == true, "\(body): \(reply.text)")
        }
        let list = try await server.request("GET", "/v1/jobs").json
        #expect((list["jobs"] as? [Any])?.isEmpty == true, "nothing was recorded")
        await server.stop()
    }

    @Test func commandsOutsideTheAllowListAreRefused() async throws {
        let server = try await TestServer(settings: ["jobs.allowedCommands": #"["/bin/*", "/usr/bin/env"]"#])
        #expect(try await server.post("/v1/jobs", json: ["name": "ok", "command": ["/bin/true"]]).status == 201)
        #expect(try await server.post("/v1/jobs", json: ["name": "env", "command": ["/usr/bin/env"]]).status == 201)
        for command in ["/usr/bin/python3", "true", "/bin/../usr/bin/python3", "/bin/sub/dir"] {
            let reply = try await server.post("/v1/jobs", json: ["name": "no", "command": [command]])
            #expect(reply.status == 403, "\(command)")
            let error = reply.json["error"] as? [String: Any]
            #expect(error?["code"] as? String == "commandNotAllowed")
            #expect((error?["message"] as? String)?.contains("jobs.allowedCommands") == true)
        }
        let jobs = try await server.request("GET", "/v1/jobs").json["jobs"] as! [[String: Any]]
        #expect(jobs.count == 2, "refused commands record nothing")
        await server.stop()
    }

    @Test func bodyLimitAnswers413() async throws {
        let server = try await TestServer(settings: ["http.maxBodyBytes": "2048"])
        let big = #"{"name":"x","command":["/bin/echo",""# + String(repeating: "a", count: 5000) + #""]}"#
        let reply = try await server.request("POST", "/v1/jobs", body: Data(big.utf8))
        #expect(reply.status == 413)
        #expect((reply.json["error"] as? [String: Any])?["code"] as? String == "payloadTooLarge")
        await server.stop()
    }

    @Test func unknownJobAndRouteAnswer404() async throws {
        let server = try await TestServer()
        for path in ["/v1/jobs/999", "/v1/jobs/999/logs", "/v1/nothing"] {
            let reply = try await server.request("GET", path)
            #expect(reply.status == 404, "\(path)")
            #expect((reply.json["error"] as? [String: Any])?["code"] as? String == "notFound")
        }
        #expect(try await server.request("POST", "/v1/jobs/999/cancel").status == 404)
        #expect(try await server.request("GET", "/v1/jobs/abc").status == 400)
        await server.stop()
    }

    @Test func listFiltersAndPagesWithACursor() async throws {
        let server = try await TestServer()
        var ids: [Int] = []
        for i in 0..<7 {
            ids.append(
                try await server.launch(["name": i % 2 == 0 ? "even-\(i)" : "odd-\(i)", "command": ["/bin/true"]])
            )
        }
        for id in ids { _ = try await server.waitForEnd(id) }
        var seen: [Int] = []
        var cursor: String?
        repeat {
            let path = "/v1/jobs?limit=3" + (cursor.map { "&cursor=\($0)" } ?? "")
            let page = try await server.request("GET", path).json
            seen += (page["jobs"] as! [[String: Any]]).map { $0["id"] as! Int }
            cursor = page["nextCursor"] as? String
        } while cursor != nil
        #expect(seen == ids)
        let evens =
            try await server.request("GET", "/v1/jobs?name=even-*&status=succeeded").json["jobs"] as! [[String: Any]]
        #expect(evens.count == 4)
        #expect(try await server.request("GET", "/v1/jobs?cursor=garbage").status == 400)
        #expect(try await server.request("GET", "/v1/jobs?limit=5000").status == 400)
        #expect(try await server.request("GET", "/v1/jobs?status=exploded").status == 400)
        #expect(try await server.request("GET", "/v1/jobs?colour=red").status == 400)
        // The seed's paths answer as aliases.
        let alias = try await server.request("GET", "/jobs?limit=2").json["jobs"] as! [[String: Any]]
        #expect(alias.count == 2)
        let created = try await server.post("/jobs", json: ["name": "seed", "command": ["/bin/true"]])
        #expect(created.status == 201)
        await server.stop()
    }

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
