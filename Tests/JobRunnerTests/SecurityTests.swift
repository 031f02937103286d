import Foundation
import JobModel
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized, .timeLimit(.minutes(3)))
struct SecurityTests {
    @Test func aPeerOutsideTheAllowListGets403BeforeItsBodyIsRead() async throws {
        let server = try await TestServer(settings: ["security.allowedClients": #"["127.0.0.1/32", "::1"]"#])
        let base = await server.base
        // From 127.0.0.2: headers of a POST that announce a body which never comes. The
        // answer must not wait for it.
        let fd = try RawHTTP.connect(source: "127.0.0.2", to: base)
        defer { close(fd) }
        try RawHTTP.send(
            fd,
            "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        let reply = try RawHTTP.receive(fd)
        #expect(reply.status == 403)
        #expect(reply.body.contains("clientNotAllowed"))
        #expect(reply.body.contains("127.0.0.2"))
        // A GET from the refused peer too, and the health check.
        for path in ["/v1/jobs", "/v1/health"] {
            let g = try RawHTTP.connect(source: "127.0.0.2", to: base)
            defer { close(g) }
            try RawHTTP.send(g, "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try RawHTTP.receive(g).status == 403, "\(path)")
        }
        // From 127.0.0.1 all is well, and nothing was recorded.
        let allowed = try RawHTTP.connect(source: "127.0.0.1", to: base)
        defer { close(allowed) }
        try RawHTTP.send(allowed, "GET /v1/jobs HTTP/1.1\r\nHost: x\r\n\r\n")
        let list = try RawHTTP.receive(allowed)
        #expect(list.status == 200)
        #expect(list.body.contains(#""jobs":[]"#))
        await server.stop()
        let audit = try String(contentsOfFile: server.state + "/audit.jsonl", encoding: .utf8)
        #expect(audit.contains(#""client":"127.0.0.2""#) && audit.contains(#""status":403"#))
    }

    @Test func aConfigurationWithAnInvalidNetworkIsRefused() throws {
        let process = Process()
        process.executableURL = TestServer.buildDirectory.appendingPathComponent("jobrunner")
        process.arguments = ["serve", "--set", #"security.allowedClients=["10.0.0.0/33"]"#]
        let pipe = Pipe()
        process.standardError = pipe
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 78)
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.contains("security.allowedClients"))
    }

    /// Runs `jobrunner token …`; returns stdout.
    /// Runs `path` with `arguments`; its exit status and stdout (stderr discarded).
    static func run(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines))
    }

    /// `jobrunner token …`.
    static func tokenCommand(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try run(TestServer.buildDirectory.appendingPathComponent("jobrunner").path, ["token"] + arguments)
    }

    @Test func tokensAndScopes() async throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("jobrunner-tokens-\(UUID())").path
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let file = state + "/tokens.json"
        let reader = try Self.tokenCommand(["add", "--file", file, "--scope", "read", "--id", "dashboard"])
        let launcher = try Self.tokenCommand(["add", "--file", file, "--scope", "launch", "--id", "ci"])
        #expect(reader.status == 0 && reader.output.hasPrefix("jrt_") && reader.output.count == 68)
        #expect(try Self.tokenCommand(["add", "--file", file, "--scope", "write"]).status == 64)
        #expect(try Self.tokenCommand(["add", "--file", file, "--scope", "read", "--id", "ci"]).status == 64)
        let stored = try String(contentsOfFile: file, encoding: .utf8)
        #expect(!stored.contains(reader.output) && !stored.contains(launcher.output), "only hashes are stored")
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        let server = try await TestServer(settings: ["security.tokensFile": file], state: state)
        let read = ["Authorization": "Bearer \(reader.output)"]
        let launch = ["Authorization": "Bearer \(launcher.output)"]
        let job = Data(#"{"name":"t","command":["/bin/true"]}"#.utf8)

        let none = try await server.request("GET", "/v1/jobs")
        #expect(none.status == 401)
        #expect(none.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
        #expect(
            try await server.request("GET", "/v1/jobs", headers: ["Authorization": "Bearer jrt_nope"]).status == 401
        )
        #expect(try await server.request("GET", "/jobs").status == 401, "aliases are guarded too")
        #expect(try await server.request("GET", "/metrics").status == 401)
        #expect(try await server.request("GET", "/v1/jobs", headers: read).status == 200)
        let outOfScope = try await server.request("POST", "/v1/jobs", body: job, headers: read)
        #expect(outOfScope.status == 403)
        #expect(outOfScope.text.contains("launch"))
        let created = try await server.request("POST", "/v1/jobs", body: job, headers: launch)
        #expect(created.status == 201)
        #expect(try await server.request("GET", "/v1/jobs/1", headers: launch).status == 403, "launch is not read")
        #expect(try await server.request("POST", "/v1/jobs", body: job).status == 401)

        // Health and the document stay open; health tells no details without a read token.
        let brief = try await server.request("GET", "/v1/health")
        #expect(brief.status == 200)
        #expect(Set(brief.json.keys) == ["status", "version"])
        #expect(try await server.request("GET", "/healthCheck").status == 200)
        #expect(try await server.request("GET", "/openapi.yaml").status == 200)
        #expect(try await server.request("GET", "/v1/health", headers: read).json["jobCount"] as? Int == 1)

        // A token added or removed while the server runs counts within about a second.
        let late = try Self.tokenCommand(["add", "--file", file, "--scope", "read", "--id", "late"])
        try await Task.sleep(for: .milliseconds(1_300))
        #expect(
            try await server.request("GET", "/v1/jobs", headers: ["Authorization": "Bearer \(late.output)"]).status
                == 200
        )
        #expect(try Self.tokenCommand(["remove", "--file", file, "dashboard"]).status == 0)
        try await Task.sleep(for: .milliseconds(1_300))
        #expect(try await server.request("GET", "/v1/jobs", headers: read).status == 401, "revoked")
        #expect(try Self.tokenCommand(["list", "--file", file]).output.contains("late  read"))

        await server.stop()
        let audit = try String(contentsOfFile: state + "/audit.jsonl", encoding: .utf8)
        #expect(audit.contains(#""tokenId":"ci""#) && audit.contains(#""tokenId":"dashboard""#))
        #expect(!audit.contains(reader.output) && !audit.contains(launcher.output), "tokens never reach the audit log")
        let createLine = audit.split(separator: "\n").first { $0.contains(#""status":201"#) }
        #expect(createLine?.contains(#""tokenId":"ci""#) == true)
    }

    @Test(.enabled(if: geteuid() == 0, "switching users needs root"))
    func jobsRunAsTheConfiguredUser() async throws {
        let server = try await TestServer(settings: ["jobs.runAsUser": "nobody"])
        let id = try await server.launch(["name": "who", "command": ["/bin/sh", "-c", "id -u; id -g"]])
        let job = try await server.waitForEnd(id)
        #expect(job.status == .succeeded)
        let out = try await server.request("GET", "/v1/jobs/\(id)/logs").text
        let nobody = try Self.run("/usr/bin/id", ["-u", "nobody"]).output
        #expect(out.split(separator: "\n").first.map(String.init) == nobody)
        #expect(out.split(separator: "\n").first != "0")
        await server.stop()
    }

    @Test func anUnknownRunAsUserStopsStartUp() throws {
        let process = Process()
        process.executableURL = TestServer.buildDirectory.appendingPathComponent("jobrunner")
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("jobrunner-user-\(UUID())").path
        process.arguments = [
            "serve", "--set", "stateDirectory=\(state)", "--set", "jobs.runAsUser=no-such-user-here",
        ]
        let pipe = Pipe()
        process.standardError = pipe
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 78)
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.contains("jobs.runAsUser"))
    }

    @Test func thousandsOfConcurrentConnectionsAreServed() async throws {
        let server = try await TestServer()
        let base = await server.base
        let count = 2_000
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        for _ in 0..<count { fds.append(try RawHTTP.connect(source: nil, to: base)) }
        for fd in fds { try RawHTTP.send(fd, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n") }
        var ok = 0
        for fd in fds where (try? RawHTTP.receive(fd))?.status == 200 { ok += 1 }
        #expect(ok == count)
        // Half-open connections that send garbage or nothing do not hurt the others.
        for fd in fds.prefix(500) { try? RawHTTP.send(fd, "\u{1}\u{2}garbage\r\n\r\n") }
        #expect(try await server.request("GET", "/v1/health").status == 200)
        #expect(try await server.launch(["name": "after", "command": ["/bin/true"]]) == 1)
        await server.stop()
    }
}
