import Foundation
import JobModel
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `jobrunner start`: the watchdog restarts a crashed or hung server; jobs survive.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct WatchdogTests {
    final class Watched {
        let state: String
        let process = Process()

        /// A watchdog on `state` (a new directory by default), with `settings` over the tests' defaults.
        init(state: String? = nil, settings: [String: String] = [:]) throws {
            self.state =
                state
                ?? FileManager.default.temporaryDirectory.appendingPathComponent("jobrunner-wd-\(UUID().uuidString)")
                .path
            try FileManager.default.createDirectory(atPath: self.state, withIntermediateDirectories: true)
            process.executableURL = TestServer.buildDirectory.appendingPathComponent("jobrunner")
            var arguments = [
                "start", "--set", "stateDirectory=\(self.state)", "--set", "runDirectory=\(self.state)/run",
            ]
            let all = TestServer.defaults.merging(["watchdog.intervalSeconds": "0.2"]) { $1 }.merging(settings) { $1 }
            for (k, v) in all.sorted(by: { $0.key < $1.key }) { arguments += ["--set", "\(k)=\(v)"] }
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        var serverPid: Int32? {
            (try? String(contentsOfFile: state + "/jobrunner.pid", encoding: .utf8))
                .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }

        /// Waits until a server other than `previous` answers /v1/health; returns its pid and base URL.
        func waitHealthy(notPid previous: Int32? = nil, seconds: Double = 20) async throws -> (Int32, URL) {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if let pid = serverPid, pid != previous,
                    let text = try? String(contentsOfFile: state + "/jobrunner.addr", encoding: .utf8),
                    text.hasSuffix("\n")
                {
                    let base = URL(string: "http://" + text.trimmingCharacters(in: .whitespacesAndNewlines))!
                    if let (_, response) = try? await URLSession.shared.data(
                        from: base.appendingPathComponent("v1/health")
                    ),
                        (response as? HTTPURLResponse)?.statusCode == 200
                    {
                        return (pid, base)
                    }
                }
                try await Task.sleep(for: .milliseconds(25))
            }
            throw TestFailure("no healthy server within \(seconds) s")
        }

        var auditLines: [[String: Any]] {
            ((try? String(contentsOfFile: state + "/audit.jsonl", encoding: .utf8)) ?? "").split(separator: "\n")
                .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }

        var auditEvents: [String] { auditLines.compactMap { $0["event"] as? String } }

        func stop() {
            process.terminate()
            process.waitUntilExit()
        }
    }

    static func launch(_ base: URL, _ spec: [String: Any]) async throws -> Int {
        var request = URLRequest(url: base.appendingPathComponent("v1/jobs"))
        request.httpMethod = "POST"
        request.httpBody = try JSONSerialization.data(withJSONObject: spec)
        let (data, _) = try await URLSession.shared.data(for: request)
        return try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["id"] as? Int)
    }

    static func job(_ base: URL, _ id: Int) async throws -> Job {
        let (data, _) = try await URLSession.shared.data(from: base.appendingPathComponent("v1/jobs/\(id)"))
        return try JSONDecoder().decode(Job.self, from: data)
    }

    @Test func killedServerIsRestartedAndItsJobsKept() async throws {
        let watched = try Watched()
        let (pid, base) = try await watched.waitHealthy()
        let id = try await Self.launch(
            base,
            ["name": "survivor", "command": ["/bin/sh", "-c", "sleep 1.5; exit 4"], "retries": 0]
        )
        try await Task.sleep(for: .milliseconds(300))
        let killed = Date()
        kill(pid, SIGKILL)
        let (newPid, newBase) = try await watched.waitHealthy(notPid: pid)
        let downtime = Date().timeIntervalSince(killed)
        #expect(newPid != pid)
        #expect(downtime < 10, "healthy again \(downtime) s after kill -9")
        var job = try await Self.job(newBase, id)
        for _ in 0..<100 where !job.status.isFinal {
            try await Task.sleep(for: .milliseconds(100))
            job = try await Self.job(newBase, id)
        }
        #expect(job.status == .failed)
        #expect(job.exitCode == 4, "the exit code of a job that ended while the server was down is kept")
        #expect(watched.auditEvents.contains("serverRestarting"))
        watched.stop()
        #expect(watched.process.terminationStatus == 0)
        #expect(watched.auditEvents.last == "watchdogStopped")
    }

    @Test func hungServerIsKilledAndRestarted() async throws {
        let watched = try Watched()
        let (pid, _) = try await watched.waitHealthy()
        kill(pid, SIGSTOP)
        let (newPid, _) = try await watched.waitHealthy(notPid: pid)
        #expect(newPid != pid)
        let events = watched.auditEvents
        #expect(events.contains("serverRestarting"))
        let audit = (try? String(contentsOfFile: watched.state + "/audit.jsonl", encoding: .utf8)) ?? ""
        #expect(audit.contains("hung: no healthy answer for 0.6 s"))
        watched.stop()
    }

    @Test func theUpgradeCommandRestartsTheServerAndKeepsJobs() async throws {
        let watched = try Watched()
        let (pid, base) = try await watched.waitHealthy()
        let id = try await Self.launch(base, ["name": "long", "command": ["sleep", "2"]])
        try await Task.sleep(for: .milliseconds(300))
        let upgrade = Process()
        upgrade.executableURL = TestServer.buildDirectory.appendingPathComponent("jobrunner")
        upgrade.arguments = ["upgrade", "--set", "stateDirectory=\(watched.state)", "--timeout", "30"]
        let pipe = Pipe()
        upgrade.standardOutput = pipe
        try upgrade.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        upgrade.waitUntilExit()
        #expect(upgrade.terminationStatus == 0)
        #expect(output.hasPrefix("upgraded: server pid \(pid) -> "), "\(output)")
        #expect(output.contains("version \(ProductVersion.current) -> \(ProductVersion.current)"))
        let (newPid, newBase) = try await watched.waitHealthy(notPid: pid)
        var job = try await Self.job(newBase, id)
        for _ in 0..<100 where !job.status.isFinal {
            try await Task.sleep(for: .milliseconds(100))
            job = try await Self.job(newBase, id)
        }
        #expect(newPid != pid)
        #expect(job.status == .succeeded && job.retriedBy == nil, "the job continued and ran once")
        watched.stop()
        // Without a watchdog the command fails clearly.
        let alone = Process()
        alone.executableURL = TestServer.buildDirectory.appendingPathComponent("jobrunner")
        alone.arguments = ["upgrade", "--set", "stateDirectory=\(watched.state)"]
        let errors = Pipe()
        alone.standardError = errors
        try alone.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        alone.waitUntilExit()
        #expect(alone.terminationStatus == 1)
        #expect(message.contains("no `jobrunner start` watchdog"))
    }

    @Test func sighupUpgradesWithoutLosingRunningJobs() async throws {
        let watched = try Watched()
        let (pid, base) = try await watched.waitHealthy()
        let id = try await Self.launch(base, ["name": "long", "command": ["sleep", "2"]])
        try await Task.sleep(for: .milliseconds(300))
        kill(watched.process.processIdentifier, SIGHUP)
        let (newPid, newBase) = try await watched.waitHealthy(notPid: pid)
        #expect(newPid != pid)
        var job = try await Self.job(newBase, id)
        for _ in 0..<100 where !job.status.isFinal {
            try await Task.sleep(for: .milliseconds(100))
            job = try await Self.job(newBase, id)
        }
        #expect(job.status == .succeeded, "the running job continued through the upgrade")
        #expect(job.retriedBy == nil, "and was not started twice")
        #expect(watched.auditEvents.contains("serverUpgrading"))
        watched.stop()
    }
}
