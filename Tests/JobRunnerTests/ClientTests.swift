import Foundation
import JobModel
import Testing

/// The client subcommands against a real server, run as a person runs them.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ClientTests {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// `jobrunner ARGS` with `--url` of `server` (unless `url` is given).
    static func cli(_ arguments: [String], url: String? = nil, environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = TestServer.buildDirectory.appendingPathComponent("jobrunner")
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["JOBRUNNER_URL"] = url
        env["JOBRUNNER_TOKEN"] = nil
        process.environment = env.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read while it runs: a full pipe would block it.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self)
        )
    }

    static func url(_ server: TestServer) async -> String { await server.base.absoluteString }

    @Test func submitWaitStreamsTheOutputAndExitsWithTheJobsCode() async throws {
        let server = try await TestServer()
        let url = await Self.url(server)
        let plain = try Self.cli(["submit", "--", "/bin/true"], url: url)
        #expect(plain.status == 0)
        let id = try #require(Int(plain.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(try await server.waitForEnd(id).name == "true", "the default name is the command's file name")

        let failing = try Self.cli(
            [
                "submit", "--name", "talker", "--retries", "0", "--label", "team=data", "--wait", "--",
                "/bin/sh", "-c", "echo out; echo err >&2; sleep 0.3; echo more; exit 3",
            ],
            url: url
        )
        #expect(failing.status == 3)
        #expect(failing.stdout == "out\nmore\n")
        #expect(failing.stderr.contains("err\n"))
        let killed = try Self.cli(
            ["submit", "--retries", "0", "--wait", "--", "/bin/sh", "-c", "kill -9 $$"],
            url: url
        )
        #expect(killed.status == 137, "128 + SIGKILL")
        let slow = try Self.cli(
            ["submit", "--retries", "0", "--timeout", "0.5", "--wait", "--", "/bin/sleep", "30"],
            url: url
        )
        #expect(slow.status == 124, "as timeout(1)")
        // Retries are followed to the last one.
        let flag = server.state + "/flag"
        let flaky = try Self.cli(
            [
                "submit", "--retries", "1", "--wait", "--", "/bin/sh", "-c",
                "if [ -f \(flag) ]; then echo second; else touch \(flag); echo first; exit 1; fi",
            ],
            url: url
        )
        #expect(flaky.status == 0)
        #expect(flaky.stdout == "first\nsecond\n")
        #expect(flaky.stderr.contains("retry"))
        await server.stop()
    }

    @Test func badInputExits64AndSubmitsNothing() async throws {
        let server = try await TestServer()
        let url = await Self.url(server)
        for arguments in [
            ["submit", "/bin/true"],  // no --
            ["submit", "--label", "nokey", "--", "/bin/true"],
            ["submit", "--frobnicate", "--", "/bin/true"],
            ["submit", "--"],
            ["ls", "--status", "exploded"],
            ["rerun"],
        ] {
            let result = try Self.cli(arguments, url: url)
            #expect(result.status == 64, "\(arguments): \(result.status) \(result.stderr)")
            #expect(!result.stderr.isEmpty)
        }
        #expect((try await server.request("GET", "/v1/jobs").json["jobs"] as? [Any])?.isEmpty == true)
        // Refused by the service: 65 with its message.
        let refused = try Self.cli(["submit", "--cwd", "relative", "--", "/bin/true"], url: url)
        #expect(refused.status == 65)
        #expect(refused.stderr == "jobrunner: 'cwd' must be an absolute path\n")
        let unknown = try Self.cli(["show", "999"], url: url)
        #expect(unknown.status == 66)
        await server.stop()
    }

    @Test func anUnreachableServiceIsOneLineAndExit69() throws {
        let result = try Self.cli(["ls"], url: "http://127.0.0.1:1")
        #expect(result.status == 69)
        #expect(result.stderr.hasPrefix("jobrunner: cannot reach the jobrunner service at http://127.0.0.1:1"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func lsShowLogsCancelWaitStatsAndRerun() async throws {
        let server = try await TestServer()
        let url = await Self.url(server)
        let ok = try await server.launch(["name": "good", "command": ["/bin/sh", "-c", "echo hello"], "retries": 0])
        let bad = try await server.launch([
            "name": "bad", "command": ["/bin/sh", "-c", "echo oops >&2; exit 5"], "retries": 0,
        ])
        _ = try await server.waitForEnd(ok)
        _ = try await server.waitForEnd(bad)

        let table = try Self.cli(["ls"], url: url)
        #expect(table.status == 0)
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("ID  NAME") == true)
        #expect(lines.count == 3 && lines[2].contains("failed") && lines[2].hasSuffix("5"))
        #expect(!table.stdout.contains("\u{1B}["), "no colour when stdout is not a terminal")
        let json = try Self.cli(["ls", "--status", "failed", "--json"], url: url)
        let listed = try JSONDecoder().decode([Job].self, from: Data(json.stdout.utf8))
        #expect(listed.map(\.id) == [bad])

        let shown = try Self.cli(["show", String(bad)], url: url)
        #expect(shown.stdout.contains("status:") && shown.stdout.contains("exit code: 5"))
        #expect(try Self.cli(["logs", String(ok)], url: url).stdout == "hello\n")
        #expect(try Self.cli(["logs", "--stderr", String(bad)], url: url).stdout == "oops\n")

        // Follow: lines appear as the job writes them; the command ends with the job.
        let gate = server.state + "/gate"
        let talker = try await server.launch([
            "name": "talker", "retries": 0,
            "command": ["/bin/sh", "-c", "echo one; while [ ! -f \(gate) ]; do sleep 0.05; done; echo two"],
        ])
        try await Task.sleep(for: .milliseconds(300))
        let opener = Task {
            try await Task.sleep(for: .milliseconds(700))
            _ = FileManager.default.createFile(atPath: gate, contents: nil)
        }
        let followed = try Self.cli(["logs", "-f", String(talker)], url: url)
        try await opener.value
        #expect(followed.status == 0)
        #expect(followed.stdout == "one\ntwo\n")

        let sleeper = try await server.launch(["name": "sleeper", "command": ["/bin/sleep", "30"], "retries": 0])
        let cancelled = try Self.cli(["cancel", String(sleeper), "9999"], url: url)
        #expect(cancelled.status == 66, "the unknown id")
        #expect(cancelled.stdout.hasPrefix("\(sleeper) "))
        let waited = try Self.cli(["wait", String(ok), String(sleeper)], url: url)
        #expect(waited.status == 130, "the cancelled job's code")
        #expect(try Self.cli(["wait", String(ok)], url: url).status == 0)

        let stats = try Self.cli(["stats"], url: url)
        #expect(stats.status == 0 && stats.stdout.contains("jobs;"), "\(stats.stdout)")

        let rerun = try Self.cli(["rerun", String(bad), "--base-env"], url: url)
        #expect(rerun.status == 0)
        #expect(rerun.stdout.hasPrefix("\(bad) -> "))
        let failedAgain = try Self.cli(["rerun", "--failed", "--base-env"], url: url)
        #expect(failedAgain.status == 0)
        await server.stop()
    }

    @Test func aMissingOrNarrowTokenSaysWhichScope() async throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("client-tokens-\(UUID())").path
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let file = state + "/tokens.json"
        let reader = try SecurityTests.tokenCommand(["add", "--file", file, "--scope", "read", "--id", "viewer"])
        let server = try await TestServer(settings: ["security.tokensFile": file], state: state)
        let url = await Self.url(server)
        let none = try Self.cli(["ls"], url: url)
        #expect(none.status == 77)
        #expect(none.stderr.contains("needs a token with the 'read' scope"))
        let narrow = try Self.cli(
            ["submit", "--", "/bin/true"],
            url: url,
            environment: ["JOBRUNNER_TOKEN": reader.output]
        )
        #expect(narrow.status == 77)
        #expect(narrow.stderr.contains("lacks the 'launch' scope"), "\(narrow.stderr)")
        let tokenFile = state + "/reader.token"
        try reader.output.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        #expect(try Self.cli(["ls", "--token-file", tokenFile], url: url).status == 0)
        await server.stop()
    }
}
