import Foundation
import JobModel
import Testing

@Suite(.serialized, .timeLimit(.minutes(2)))
struct ObservabilityTests {
    /// The samples of a Prometheus text exposition: `name{labels}` → value. Fails on a
    /// line that is not a comment, a sample or empty.
    static func parseMetrics(_ text: String) throws -> [String: Double] {
        var samples: [String: Double] = [:]
        let sample = #/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$/#
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) where !line.hasPrefix("#") {
            guard let match = String(line).wholeMatch(of: sample), let value = Double(match.output.4) else {
                throw TestFailure("not a Prometheus sample line: \(line)")
            }
            samples[String(match.output.1) + String(match.output.2 ?? "")] = value
        }
        return samples
    }

    @Test func metricsAreExposedInPrometheusFormat() async throws {
        let server = try await TestServer(settings: ["snapshot.intervalSeconds": "0.5"])
        let ok = try await server.launch(["name": "ok", "command": ["/bin/true"]])
        let bad = try await server.launch(["name": "bad", "command": ["/bin/false"], "retries": 1])
        _ = try await server.waitForEnd(ok)
        _ = try await server.waitForEnd(bad)
        _ = try await server.waitForEnd(bad + 1)
        _ = try await server.launch(["name": "sleeper", "command": ["/bin/sleep", "30"]])
        try await Task.sleep(for: .milliseconds(1_200))
        let reply = try await server.request("GET", "/metrics")
        #expect(reply.status == 200)
        #expect(reply.headers["content-type"]?.hasPrefix("text/plain") == true)
        let m = try Self.parseMetrics(reply.text)
        #expect(m["jobrunner_jobs_started_total"] == 4)
        #expect(m[#"jobrunner_jobs_finished_total{status="succeeded"}"#] == 1)
        #expect(m[#"jobrunner_jobs_finished_total{status="failed"}"#] == 2)
        #expect(m["jobrunner_job_retries_total"] == 1)
        #expect(m["jobrunner_jobs_running"] == 1)
        #expect(m["jobrunner_jobs_pending"] == 0)
        #expect(m["jobrunner_job_duration_seconds_count"] == 3)
        #expect((m["jobrunner_monitor_pass_seconds_count"] ?? 0) >= 1)
        #expect((m["jobrunner_journal_fsync_seconds_count"] ?? 0) >= 1)
        #expect((m["jobrunner_snapshot_write_seconds_count"] ?? 0) >= 1)
        #expect((m["jobrunner_snapshot_bytes"] ?? 0) > 0)
        let created = m.first {
            $0.key.hasPrefix("jobrunner_http_requests_total{") && $0.key.contains(#"http_route="/v1/jobs""#)
                && $0.key.contains(#"http_request_method="POST""#)
                && $0.key.contains(#"http_response_status_code="201""#)
        }
        #expect(created?.value == 3)
        await server.stop()
    }

    @Test func logsAreCappedKeepingTheNewestBytes() async throws {
        let server = try await TestServer(settings: ["jobs.maxLogBytes": "4096"])
        let script = "i=0; while [ $i -lt 3000 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done"
        let id = try await server.launch(["name": "chatty", "command": ["/bin/sh", "-c", script]])
        let job = try await server.waitForEnd(id)
        #expect(job.status == .succeeded)
        for (stream, prefix) in [("stdout", "out"), ("stderr", "err")] {
            let text = try await server.request("GET", "/v1/jobs/\(id)/logs?stream=\(stream)").text
            // Exactly: the note with every dropped byte, then the newest 4096 bytes.
            let written = (0..<3000).map { "\(prefix)\($0)\n" }.joined()
            let note = "[jobrunner: \(written.utf8.count - 4096) earlier bytes dropped (jobs.maxLogBytes)]\n"
            #expect(text == note + String(decoding: Array(written.utf8).suffix(4096), as: UTF8.self), "\(stream)")
            let lines = text.split(separator: "\n")
            #expect(lines.first?.hasPrefix("[jobrunner: ") == true && lines.first?.contains("dropped") == true)
            #expect(lines.last.map(String.init) == "\(prefix)2999", "the newest bytes are kept")
            let tail = try await server.request("GET", "/v1/jobs/\(id)/logs?stream=\(stream)&tail=2").text
            #expect(tail == "\(prefix)2998\n\(prefix)2999\n")
        }
        // Small outputs are untouched.
        let small = try await server.launch(["name": "small", "command": ["/bin/echo", "hello"]])
        _ = try await server.waitForEnd(small)
        #expect(try await server.request("GET", "/v1/jobs/\(small)/logs").text == "hello\n")
        await server.stop()
    }

    @Test func hostileInputLeavesTheServiceAnsweringAndTheStoreUnchanged() async throws {
        let server = try await TestServer()
        let big = String(repeating: "a", count: 65_537)
        let exact = String(repeating: "b", count: 65_536)
        let nested = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let deepObject = String(repeating: #"{"a":"#, count: 50_000) + "1" + String(repeating: "}", count: 50_000)
        let bodies: [(String, Int)] = [
            (#"{"name":"\#(big)","command":["/bin/true"]}"#, 400),
            (#"{"name":"x","command":["/bin/echo","\#(big)"]}"#, 400),
            (#"{"name":"x","command":["/bin/true"],"env":{"K":"\#(big)"}}"#, 400),
            (#"{"name":"x","command":["/bin/true"],"env":{"\#(big)":"v"}}"#, 400),
            (#"{"name":"x","command":["/bin/true"],"labels":{"k":"\#(big)"}}"#, 400),
            (nested, 400),
            (deepObject, 400),
            (#"{"name":"x","command":["/bin/true"],"retries":1e308}"#, 400),
            (#"{"name":"x","command":["/bin/true"],"timeoutSeconds":1e999}"#, 400),
            (#"{"name":"x","command":["/bin/true"],"maxRssBytes":-9223372036854775808}"#, 400),
            (#"{"name":"..","command":["/bin/true"]}"#, 400),
            (#"{"name":"a/b","command":["/bin/true"]}"#, 400),
            (#"{"name":"x","command":["/bin/true"],"env":{"A\u0000B":"v"}}"#, 400),
            ("\u{0}\u{0}\u{0}", 400),
            ("", 400),
        ]
        for (body, status) in bodies {
            let reply = try await server.request("POST", "/v1/jobs", body: Data(body.utf8))
            #expect(reply.status == status, "\(body.prefix(60))… → \(reply.status) \(reply.text.prefix(200))")
            #expect((reply.json["error"] as? [String: Any])?["code"] != nil, "a JSON error")
        }
        for path in [
            "/v1/jobs?cursor=%00%01", "/v1/jobs?limit=99999999999999999999", "/v1/jobs/-1",
            "/v1/jobs/99999999999999999999",
            "/v1/jobs/1%2F..%2F..%2Fetc%2Fpasswd/logs", "/v1/jobs?since=yesterday", "/v1/stats?tz=Mars%2FOlympus",
        ] {
            let reply = try await server.request("GET", path)
            #expect((400..<500).contains(reply.status), "\(path) → \(reply.status)")
        }
        let list = try await server.request("GET", "/v1/jobs").json
        #expect((list["jobs"] as? [Any])?.isEmpty == true, "nothing was recorded")
        // A 64 KiB argument (the limit) is accepted, and the service still answers.
        let id = try await server.launch(["name": "exact", "command": ["/bin/echo", exact]])
        let job = try await server.waitForEnd(id)
        #expect(job.status == .succeeded && job.command[1].count == 65_536)
        #expect(try await server.request("GET", "/v1/health").status == 200)
        await server.stop()
    }
}
