import Foundation
import JobModel
import Testing

@testable import jobrunner

/// Webhooks through a real server to a real receiver (a Python http.server process that
/// checks each signature with Python's own hmac and writes every request to a file).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct WebhookTests {
    static let receiverScript = #"""
        import hashlib, hmac, json, sys, time
        from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
        port, out, secret, delay = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(delay)
                expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
                record = {"event": self.headers["X-Jobrunner-Event"], "delivery": self.headers["X-Jobrunner-Delivery"],
                          "signed": hmac.compare_digest(expected, self.headers.get("X-Jobrunner-Signature", "")),
                          "body": json.loads(body)}
                with open(out, "a") as f:
                    f.write(json.dumps(record) + "\n")
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            def log_message(self, *args):
                pass
        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        with open(out + ".port", "w") as f:
            f.write(str(server.server_address[1]))
        server.serve_forever()
        """#

    /// A receiver on `port` (0: any free one) that answers after `delay` seconds.
    final class Receiver {
        let process = Process()
        let out: String
        let port: Int

        init(directory: String, port: Int = 0, secret: String = "s3cr3t", delay: Double = 0) async throws {
            let script = directory + "/receiver.py"
            try WebhookTests.receiverScript.write(toFile: script, atomically: true, encoding: .utf8)
            out = directory + "/received.jsonl"
            try? FileManager.default.removeItem(atPath: out + ".port")
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script, String(port), out, secret, String(delay)]
            try process.run()
            for _ in 0..<400 {
                if let text = try? String(contentsOfFile: out + ".port", encoding: .utf8), let p = Int(text) {
                    self.port = p
                    return
                }
                try await Task.sleep(for: .milliseconds(25))
            }
            throw TestFailure("the webhook receiver did not start")
        }

        /// SIGKILL: the test process's threads block SIGTERM, and its children inherit the mask.
        func stop() {
            guard process.isRunning else { return }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        deinit { stop() }

        /// Every request received so far.
        var received: [[String: Any]] {
            ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }

        /// Waits until `predicate` holds for the requests received (or 20 s pass).
        func wait(until predicate: ([[String: Any]]) -> Bool) async throws -> [[String: Any]] {
            for _ in 0..<400 {
                let now = received
                if predicate(now) { return now }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw TestFailure("the receiver did not get what was expected; it got \(received)")
        }
    }

    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("webhooks-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func settings(port: Int, events: [String]) -> [String: String] {
        let hooks: [[String: Any]] = [["url": "http://127.0.0.1:\(port)/hook", "events": events, "secret": "s3cr3t"]]
        let json = String(decoding: try! JSONSerialization.data(withJSONObject: hooks), as: UTF8.self)
        return ["notify.webhooks": json]
    }

    @Test func endsAreAnnouncedSignedAndAFailureOnlyWhenNoRetryFollows() async throws {
        let receiver = try await Receiver(directory: try Self.directory())
        let server = try await TestServer(
            settings: Self.settings(port: receiver.port, events: ["jobFailedFinally", "jobSucceeded", "queueDrained"])
        )
        let failing = try await server.launch(["name": "bad", "command": ["/bin/sh", "-c", "exit 4"], "retries": 1])
        let retry = try #require(try await server.waitForEnd(failing).retriedBy)
        #expect(try await server.waitForEnd(retry).status == .failed)
        let good = try await server.launch(["name": "good", "command": ["/bin/true"], "retries": 0])
        _ = try await server.waitForEnd(good)
        let received = try await receiver.wait { got in
            got.contains { $0["event"] as? String == "jobSucceeded" }
                && got.filter { $0["event"] as? String == "queueDrained" }.count == 2
        }
        let failures = received.filter { $0["event"] as? String == "jobFailedFinally" }
        #expect(failures.count == 1, "the first attempt was retried: no final failure for it")
        let job = try #require((failures.first?["body"] as? [String: Any])?["job"] as? [String: Any])
        #expect(job["id"] as? Int == retry)
        #expect(job["status"] as? String == "failed" && job["exitCode"] as? Int == 4)
        #expect(received.allSatisfy { $0["signed"] as? Bool == true }, "every body carries a valid HMAC-SHA256")
        let deliveries = received.compactMap { ($0["delivery"] as? String).flatMap(Int.init) }
        #expect(Set(deliveries).count == deliveries.count, "delivery ids are unique")
        let drained = try #require(received.last { $0["event"] as? String == "queueDrained" })
        #expect(((drained["body"] as? [String: Any])?["queue"] as? [String: Any])?["name"] as? String == "default")
        await server.stop()
    }

    @Test func aReceiverThatIsDownGetsTheMessageWhenItIsBackEvenAfterACrash() async throws {
        let directory = try Self.directory()
        // A free port with nothing listening on it yet.
        let probe = try await Receiver(directory: directory)
        let port = probe.port
        probe.stop()
        try? FileManager.default.removeItem(atPath: probe.out)
        let server = try await TestServer(settings: Self.settings(port: port, events: ["jobFailedFinally"]))
        let id = try await server.launch(["name": "lonely", "command": ["/bin/sh", "-c", "exit 9"], "retries": 0])
        _ = try await server.waitForEnd(id)
        try await Task.sleep(for: .milliseconds(300))  // a first attempt or two fail
        try await server.crashAndRestart()
        let receiver = try await Receiver(directory: directory, port: port)
        let received = try await receiver.wait { !$0.isEmpty }
        #expect(received.count == 1)
        #expect(((received[0]["body"] as? [String: Any])?["job"] as? [String: Any])?["id"] as? Int == id)
        // Acknowledged in the journal: a restart does not send it again.
        try await server.restart()
        try await Task.sleep(for: .milliseconds(500))
        #expect(receiver.received.count == 1)
        await server.stop()
    }

    @Test func aReceiverThatNeverAnswersHoldsUpNoJob() async throws {
        let receiver = try await Receiver(directory: try Self.directory(), delay: 60)
        var settings = Self.settings(port: receiver.port, events: ["jobSucceeded"])
        settings["notify.timeoutSeconds"] = "30"
        let server = try await TestServer(settings: settings)
        var ids: [Int] = []
        for i in 0..<40 { ids.append(try await server.launch(["name": "quick-\(i)", "command": ["/bin/true"]])) }
        for id in ids { #expect(try await server.waitForEnd(id, seconds: 20).status == .succeeded) }
        let health = try await server.request("GET", "/v1/health")
        #expect(health.status == 200)
        #expect(receiver.received.isEmpty, "nothing answered yet: every delivery is still waiting")
        await server.stop()
    }
}
