import Foundation
import JobModel
import Testing

/// The live page and the HTML report rendered in headless Chromium (`scripts/render-page.py`
/// over the DevTools protocol): a test fails on a blank page, a console error, an uncaught
/// exception, a failed request, or missing text. The pictures stay in
/// `.build/test-output/` for a person to look at.
///
/// Chromium comes from Debian (`make deps`, `.ci/run`); without it these tests fail and
/// say how to install it, unless `JOBRUNNER_SKIP_BROWSER=1`.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct BrowserTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let outputDirectory = packageRoot.appendingPathComponent(".build/test-output")

    static var skipped: Bool { ProcessInfo.processInfo.environment["JOBRUNNER_SKIP_BROWSER"] == "1" }

    struct Rendering {
        var status: Int32
        var report: [String: Any]
        var output: String
        var png: String
    }

    /// Renders `url` to `.build/test-output/NAME.png`.
    static func render(_ url: String, name: String, arguments: [String] = []) throws -> Rendering {
        try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        let png = outputDirectory.appendingPathComponent(name + ".png").path
        try? FileManager.default.removeItem(atPath: png)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["python3", packageRoot.appendingPathComponent("scripts/render-page.py").path, url, png] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let report = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        if process.terminationStatus == 2 {
            throw TestFailure(
                "Chromium cannot be run (install Debian's chromium: apt-get install chromium, or set JOBRUNNER_SKIP_BROWSER=1): \(text)"
            )
        }
        return Rendering(status: process.terminationStatus, report: report, output: text, png: png)
    }

    static func pngSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    @Test func theLivePageShowsRunningJobsFailuresAndFindings() async throws {
        guard !Self.skipped else { return }
        let server = try await TestServer()
        for i in 1...3 {
            _ = try await server.launch([
                "name": "etl-\(i)", "retries": 0,
                "command": ["/bin/sh", "-c", "echo 'error: disk full' >&2; exit \(i)"],
            ])
        }
        let busy = try await server.launch(["name": "busy-loop", "command": ["/bin/sh", "-c", "while :; do :; done"]])
        _ = try await server.launch(["name": "sleeper", "command": ["/bin/sleep", "60"]])
        _ = try await server.waitForEnd(3)
        let base = await server.base.absoluteString
        let page = try Self.render(
            base,
            name: "live-page",
            arguments: [
                "--wait", "20", "--expect", "busy-loop", "--expect", "etl-3", "--expect", "Recent failures",
                "--expect", "What stands out", "--expect", "live",
            ]
        )
        #expect(page.status == 0, "\(page.output)")
        #expect(Self.pngSize(page.png) > 20_000, "a page with content, not a blank one")
        // A job that ends while the page is open moves from Running to the failures, from the events.
        let watched = try Self.render(
            base,
            name: "live-page-after-cancel",
            arguments: [
                "--wait", "20", "--eval",
                "fetch('/v1/jobs/\(busy)/cancel', {method: 'POST'})", "--expect", "sleeper", "--absent", "busy-loop",
            ]
        )
        #expect(watched.status == 0, "the cancelled job left Running: \(watched.output)")
        await server.stop()
    }

    @Test func theLivePageAsksForATokenAndSendsItAsAHeader() async throws {
        guard !Self.skipped else { return }
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("jobrunner-page-\(UUID())").path
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let file = state + "/tokens.json"
        let reader = try SecurityTests.tokenCommand(["add", "--file", file, "--scope", "read", "--id", "page"])
        let launcher = try SecurityTests.tokenCommand(["add", "--file", file, "--scope", "launch", "--id", "ci"])
        let server = try await TestServer(settings: ["security.tokensFile": file], state: state)
        let created = try await server.request(
            "POST",
            "/v1/jobs",
            body: Data(#"{"name":"guarded-job","retries":0,"command":["/bin/sh","-c","exit 1"]}"#.utf8),
            headers: ["Authorization": "Bearer \(launcher.output)"]
        )
        #expect(created.status == 201)
        let base = await server.base.absoluteString
        let prompt = try Self.render(
            base,
            name: "live-page-token",
            arguments: ["--wait", "20", "--allow-status", "401", "--expect", "needs a read token"]
        )
        #expect(prompt.status == 0, "\(prompt.output)")
        let signedIn = try Self.render(
            base,
            name: "live-page-signed-in",
            arguments: [
                "--wait", "20", "--allow-status", "401", "--eval",
                "document.getElementById('token').value = '\(reader.output)'; document.querySelector('#auth button').click()",
                "--expect", "guarded-job",
            ]
        )
        #expect(signedIn.status == 0, "\(signedIn.output)")
        await server.stop()
        // The token went in headers only: never in a URL the audit log saw.
        let audit = try String(contentsOfFile: state + "/audit.jsonl", encoding: .utf8)
        #expect(!audit.contains(reader.output))
        #expect(audit.contains(#""path":"\/v1\/events""#) || audit.contains(#""path":"/v1/events""#))
        try? FileManager.default.removeItem(atPath: state)
    }

    @Test func theReportRendersWithoutErrorsAndPrints() throws {
        guard !Self.skipped else { return }
        let jobstats = TestServer.buildDirectory.appendingPathComponent("jobstats")
        let html = Self.outputDirectory.appendingPathComponent("report.html").path
        try FileManager.default.createDirectory(at: Self.outputDirectory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = jobstats
        process.arguments = [
            "report", Self.packageRoot.appendingPathComponent("samples/synth-small.jrsnap").path, "--tz", "UTC",
            "-o", html,
        ]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let pdf = Self.outputDirectory.appendingPathComponent("report.pdf").path
        let page = try Self.render(
            "file://" + html,
            name: "report",
            arguments: [
                "--wait", "20", "--full-page", "--width", "1100", "--print-pdf", pdf,
                "--expect", "What stands out", "--expect", "When jobs fail", "--expect", "index-build",
            ]
        )
        #expect(page.status == 0, "\(page.output)")
        #expect(Self.pngSize(page.png) > 100_000)
        #expect(Self.pngSize(pdf) > 20_000, "printed")
    }
}
