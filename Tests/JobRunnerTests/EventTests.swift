import Foundation
import JobModel
import Testing

@testable import jobrunner

#if canImport(Glibc)
import Glibc
#endif

/// A `GET /v1/events` client over one TCP connection: de-chunks the body and parses events.
final class EventStream {
    struct Event: Equatable, CustomStringConvertible {
        var id: Int?
        var type: String
        var data: String
        var description: String { "\(id.map(String.init) ?? "-") \(type)" }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:] }
    }

    let fd: Int32
    let status: Int
    let head: String
    private var raw: [UInt8] = []
    private var body: [UInt8] = []
    private var chunked: Bool
    private(set) var ended = false

    init(_ base: URL, source: String? = "127.0.0.1", headers: [String: String] = [:]) throws {
        fd = try RawHTTP.connect(source: source, to: base)
        var request = "GET /v1/events HTTP/1.1\r\nHost: x\r\n"
        for (k, v) in headers { request += "\(k): \(v)\r\n" }
        try RawHTTP.send(fd, request + "\r\n")
        while raw.firstRange(of: Array("\r\n\r\n".utf8)) == nil { try Self.read(fd, into: &raw) }
        let end = raw.firstRange(of: Array("\r\n\r\n".utf8))!
        head = String(decoding: raw[..<end.lowerBound], as: UTF8.self)
        status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        raw.removeSubrange(..<end.upperBound)
        chunked = head.lowercased().contains("transfer-encoding: chunked")
    }

    deinit { close(fd) }

    private static func read(_ fd: Int32, into data: inout [UInt8]) throws {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { throw TestFailure("event stream closed or timed out (read \(n), errno \(errno))") }
        data += buffer[..<n]
    }

    /// Moves whole chunks from `raw` to `body`.
    private func dechunk() {
        guard chunked else {
            body += raw
            raw = []
            return
        }
        while let lineEnd = raw.firstRange(of: [13, 10]) {
            let size = Int(String(decoding: raw[..<lineEnd.lowerBound], as: UTF8.self), radix: 16) ?? 0
            if size == 0 {
                ended = true
                raw = []
                return
            }
            guard raw.count >= lineEnd.upperBound + size + 2 else { return }
            body += raw[lineEnd.upperBound..<(lineEnd.upperBound + size)]
            raw.removeSubrange(..<(lineEnd.upperBound + size + 2))
        }
    }

    /// The next event (comments skipped); `nil` at the end of the stream.
    func next() throws -> Event? {
        while true {
            dechunk()
            while let cut = body.firstRange(of: [10, 10]) {
                let block = String(decoding: body[..<cut.lowerBound], as: UTF8.self)
                body.removeSubrange(..<cut.upperBound)
                var event = Event(id: nil, type: "message", data: "")
                for line in block.split(separator: "\n") {
                    if line.hasPrefix("id: ") { event.id = Int(line.dropFirst(4)) }
                    if line.hasPrefix("event: ") { event.type = String(line.dropFirst(7)) }
                    if line.hasPrefix("data: ") { event.data += line.dropFirst(6) }
                }
                if !event.data.isEmpty { return event }
            }
            if ended { return nil }
            try Self.read(fd, into: &raw)
        }
    }

    /// The next `count` job changes (live `metrics` skipped).
    func changes(_ count: Int) throws -> [Event] {
        var out: [Event] = []
        while out.count < count {
            guard let event = try next() else { throw TestFailure("stream ended after \(out)") }
            if event.type != "metrics" { out.append(event) }
        }
        return out
    }
}

@Suite(.serialized, .timeLimit(.minutes(3)))
struct EventTests {
    // MARK: - The hub alone

    static func change(_ seq: Int, _ type: String = "created") -> ServerEvent {
        ServerEvent(seq: seq, type: type, data: Array(#"{"id":\#(seq)}"#.utf8))
    }

    @Test func everySubscriberGetsEveryEventInOrder() async throws {
        let hub = EventHub()
        let a = try #require(hub.subscribe(lastEventID: nil))
        let b = try #require(hub.subscribe(lastEventID: nil))
        for seq in 1...5 { hub.publish(Self.change(seq)) }
        #expect(await hub.next(a)?.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(await hub.next(b)?.map(\.seq) == [1, 2, 3, 4, 5])
        // A waiting subscriber is woken by the next publish.
        async let waiting = hub.next(a)
        try await Task.sleep(for: .milliseconds(50))
        hub.publish(Self.change(6))
        #expect(await waiting?.map(\.seq) == [6])
        hub.close()
        #expect(await hub.next(b)?.map(\.seq) == [6], "what was sent before the close is delivered")
        #expect(await hub.next(b) == nil)
        #expect(hub.subscribe(lastEventID: nil) == nil, "no new subscriber after the close")
    }

    @Test func lastEventIDResumesFromTheReplayBufferOrSaysReset() async throws {
        let hub = EventHub(replayCapacity: 10)
        hub.seed((1...3).map { Self.change($0) }, lastSeq: 3)
        for seq in 4...20 { hub.publish(Self.change(seq)) }
        #expect(hub.recent().map(\.seq) == Array(11...20))
        let resumed = try #require(hub.subscribe(lastEventID: 14))
        #expect(await hub.next(resumed)?.map(\.seq) == Array(15...20))
        let current = try #require(hub.subscribe(lastEventID: 20))
        hub.publish(Self.change(21))
        #expect(await hub.next(current)?.map(\.seq) == [21], "nothing missed, nothing twice")
        let oldest = try #require(hub.subscribe(lastEventID: 11))
        #expect(await hub.next(oldest)?.map(\.seq) == Array(12...21), "11 + 1 is the oldest kept")
        for (last, why) in [(10, "no longer kept"), (99, "newer than the last")] {
            let lost = try #require(hub.subscribe(lastEventID: last))
            let events = try #require(await hub.next(lost))
            #expect(events.map(\.type) == ["reset"])
            #expect(String(decoding: events[0].data, as: UTF8.self).contains(why))
        }
    }

    @Test func aClientThatFallsBehindIsDroppedWithAFinalEventAndNeverSlowsThePublisher() async throws {
        let hub = EventHub(clientBuffer: 100)
        let stuck = try #require(hub.subscribe(lastEventID: nil))
        let live = try #require(hub.subscribe(lastEventID: nil))
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for seq in 1...100_000 { hub.publish(Self.change(seq)) }
        }
        // 100,000 events past a client that reads nothing: no wait, no growth.
        #expect(elapsed < .seconds(5))
        let last = try #require(await hub.next(stuck))
        #expect(last.map(\.type) == ["dropped"])
        #expect(String(decoding: last[0].data, as: UTF8.self).contains(#""lastEventId":100"#))
        #expect(await hub.next(stuck) == nil, "its stream ends after the notice")
        #expect(await hub.next(live)?.map(\.type) == ["dropped"], "the other one was not read either")
        #expect(await hub.next(live) == nil)
        let fresh = try #require(hub.subscribe(lastEventID: nil))
        hub.publish(Self.change(100_001))
        #expect(await hub.next(fresh)?.map(\.seq) == [100_001])
        #expect(hub.subscriberCount == 1)
    }

    @Test func aCancelledReaderEndsItsSubscription() async throws {
        let hub = EventHub()
        let id = try #require(hub.subscribe(lastEventID: nil))
        let reader = Task { await hub.next(id) }
        try await Task.sleep(for: .milliseconds(50))
        reader.cancel()
        #expect(await reader.value == nil)
        #expect(hub.subscriberCount == 0)
    }

    @Test func theJournalTagRoundTripsAndNamesTheChange() throws {
        for (seq, type) in [(1, "created"), (42, "started"), (1_234_567, "ended")] {
            var line = Array(#"{"id":7,"name":"x","event":"not the tag","z":1}"#.utf8)
            line.removeLast()
            line += ServerEvent.journalTag(seq: seq, type: type) + [125]
            let tag = try #require(ServerEvent.parseTag(Data(line)))
            #expect(tag.seq == seq && tag.type == type)
            #expect((try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])?["z"] as? Int == 1)
        }
        #expect(ServerEvent.parseTag(Data(#"{"id":7,"name":"x"}"#.utf8)) == nil)
        var job = Job(id: 1, instance: "i", name: "n", command: ["c"], status: .pending)
        #expect(ServerEvent.changeType(of: job, before: nil) == "created")
        job.parentId = 3
        #expect(ServerEvent.changeType(of: job, before: nil) == "retried")
        job.status = .running
        #expect(ServerEvent.changeType(of: job, before: .pending) == "started")
        job.status = .pending
        #expect(ServerEvent.changeType(of: job, before: .running) == "updated", "a requeue")
        #expect(ServerEvent.changeType(of: job, before: .pending) == "updated", "a dependency's reason")
        for status in JobStatus.allCases where status.isFinal {
            job.status = status
            #expect(ServerEvent.changeType(of: job, before: .running) == (status == .cancelled ? "cancelled" : "ended"))
        }
    }

    @Test func theEventFileRoundTrips() throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("jobrunner-events-\(UUID())").path
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: state) }
        #expect(EventFile.load(state: state).lastSeq == 0)
        let job = Job(id: 5, instance: "i", name: #"quote " and \ slash"#, command: ["c"], status: .failed)
        let events = [
            ServerEvent(seq: 8, type: "ended", data: JobJSON.encode(job)),
            ServerEvent(seq: 9, type: "retried", data: JobJSON.encode(job)),
        ]
        try EventFile.save(lastSeq: 12, events: events, state: state)
        let loaded = EventFile.load(state: state)
        #expect(loaded.lastSeq == 12)
        #expect(loaded.events == events)
    }

    @Test func metricsEventsCarryCPUOverTheIntervalAndMemory() throws {
        let before = LiveFigure(id: 3, cpuSeconds: 1.0, rssBytes: 100, sampledAt: 10)
        let now = LiveFigure(id: 3, cpuSeconds: 2.0, rssBytes: 4_096, sampledAt: 12)
        let fresh = LiveFigure(id: 4, cpuSeconds: 0.5, rssBytes: 7, sampledAt: 12)
        let event = EventService.metricsEvent([now, fresh], previous: [3: before])
        #expect(event.seq == nil && event.type == "metrics")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(event.data)) as? [String: Any])
        let jobs = try #require(object["jobs"] as? [[String: Any]])
        #expect(jobs[0]["cpuPercent"] as? Double == 50)
        #expect(jobs[0]["rssBytes"] as? Int == 4_096)
        #expect(jobs[1]["cpuPercent"] is NSNull, "no figure before its first interval")
        #expect(Timestamp.parse(object["at"] as? String ?? "") != nil)
    }

    // MARK: - A real server

    @Test func everyChangeIsAnnouncedOnceInOrderWithTheSameNumbersAfterARestart() async throws {
        let server = try await TestServer(settings: ["jobs.defaultRetries": "1"])
        let stream = try EventStream(await server.base)
        #expect(stream.status == 200)
        #expect(stream.head.lowercased().contains("content-type: text/event-stream"))
        let failing = try await server.launch(["name": "flaky", "command": ["/bin/sh", "-c", "exit 3"]])
        var seen = try stream.changes(6)
        let ok = try await server.launch(["name": "ok", "command": ["/bin/true"], "retries": 0])
        seen += try stream.changes(3)
        let long = try await server.launch(["name": "long", "command": ["/bin/sleep", "30"]])
        seen += try stream.changes(2)
        #expect(try await server.post("/v1/jobs/\(long)/cancel", json: [:]).status == 200)
        seen += try stream.changes(1)

        #expect(seen.map(\.id) == (1...12).map { Optional($0) }, "numbered 1, 2, 3, … with no gap: \(seen)")
        func ofJob(_ id: Int) -> [String] { seen.filter { $0.json["id"] as? Int == id }.map(\.type) }
        #expect(ofJob(failing) == ["created", "started", "ended"])
        #expect(ofJob(failing + 1) == ["retried", "started", "ended"])
        #expect(ofJob(ok) == ["created", "started", "ended"])
        #expect(ofJob(long) == ["created", "started", "cancelled"])
        #expect(seen.last?.json["status"] as? String == "cancelled")
        #expect(seen[2].json["retriedBy"] as? Int == failing + 1, "the end of a retried attempt links its retry")

        // A clean restart (a snapshot cut; the journal segments go): the same events, the same numbers.
        try await server.restart()
        let resumed = try EventStream(await server.base, headers: ["Last-Event-ID": "4"])
        #expect(try resumed.changes(8) == Array(seen[4...]))
        let after = try await server.launch(["name": "after", "command": ["/bin/true"], "retries": 0])
        let next = try resumed.changes(3)
        #expect(next.map(\.id) == [13, 14, 15])
        #expect(next.allSatisfy { $0.json["id"] as? Int == after })

        // kill -9: the changes since the cut come from the journal.
        try await server.crashAndRestart()
        let replayed = try EventStream(await server.base, headers: ["Last-Event-ID": "0"])
        #expect(try replayed.changes(15) == seen + next)
        let last = try await server.launch(["name": "last", "command": ["/bin/true"], "retries": 0])
        let tail = try replayed.changes(3)
        #expect(tail.map(\.id) == [16, 17, 18] && tail[0].json["id"] as? Int == last)

        let bad = try await server.request("GET", "/v1/events", headers: ["Last-Event-ID": "soon"])
        #expect(bad.status == 400 && bad.text.contains("Last-Event-ID"))
    }

    @Test func metricsOfRunningJobsArrivePeriodically() async throws {
        let server = try await TestServer()
        let stream = try EventStream(await server.base)
        let id = try await server.launch(["name": "busy", "command": ["/bin/sh", "-c", "while :; do :; done"]])
        defer { Task { _ = try? await server.post("/v1/jobs/\(id)/cancel", json: [:]) } }
        var figures: [[String: Any]] = []
        while figures.count < 2 {
            guard let event = try stream.next() else { break }
            if event.type == "metrics", let jobs = event.json["jobs"] as? [[String: Any]],
                let mine = jobs.first(where: { $0["id"] as? Int == id })
            {
                figures.append(mine)
            }
        }
        #expect((figures.last?["rssBytes"] as? Int ?? 0) > 0)
        #expect((figures.last?["cpuPercent"] as? Double ?? 0) > 10, "a busy loop shows: \(figures)")
        _ = try await server.post("/v1/jobs/\(id)/cancel", json: [:])
    }

    @Test func theLivePageAndTheEventsObeyTheAllowListAndTheTokens() async throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("jobrunner-live-\(UUID())").path
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let file = state + "/tokens.json"
        let reader = try SecurityTests.tokenCommand(["add", "--file", file, "--scope", "read", "--id", "page"])
        let launcher = try SecurityTests.tokenCommand(["add", "--file", file, "--scope", "launch", "--id", "ci"])
        let server = try await TestServer(
            settings: ["security.tokensFile": file, "security.allowedClients": #"["127.0.0.1/32"]"#],
            state: state
        )
        let base = await server.base
        // The page holds no data: served without a token, with a policy that loads nothing from elsewhere.
        let page = try await server.request("GET", "/")
        #expect(page.status == 200)
        #expect(page.headers["content-type"]?.hasPrefix("text/html") == true)
        #expect(page.headers["content-security-policy"]?.contains("default-src 'none'") == true)
        #expect(page.text.contains("/v1/events") && page.text.contains("Authorization"))
        #expect(!page.text.contains("http://") && !page.text.contains("https://"), "nothing from elsewhere")
        // The events need a read token, as every read does.
        #expect(try EventStream(base).status == 401)
        #expect(try EventStream(base, headers: ["Authorization": "Bearer \(launcher.output)"]).status == 403)
        let allowed = try EventStream(base, headers: ["Authorization": "Bearer \(reader.output)"])
        #expect(allowed.status == 200)
        // A peer outside security.allowedClients gets neither.
        for path in ["/", "/v1/events"] {
            let fd = try RawHTTP.connect(source: "127.0.0.2", to: base)
            defer { close(fd) }
            try RawHTTP.send(fd, "GET \(path) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(reader.output)\r\n\r\n")
            let reply = try RawHTTP.receive(fd)
            #expect(reply.status == 403 && reply.body.contains("clientNotAllowed"), "\(path)")
        }
        await server.stop()
        try? FileManager.default.removeItem(atPath: state)
    }

    @Test func lsWatchRedrawsWhenAJobChanges() async throws {
        let server = try await TestServer()
        let process = Process()
        process.executableURL = TestServer.buildDirectory.appendingPathComponent("jobrunner")
        process.arguments = ["ls", "--watch", "--url", await server.base.absoluteString]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let reader = out.fileHandleForReading
        var text = ""
        func readUntil(_ needle: String) -> Bool {
            let deadline = Date().addingTimeInterval(15)
            while Date() < deadline, !text.contains(needle) {
                let data = reader.availableData
                if data.isEmpty { return false }
                text += String(decoding: data, as: UTF8.self)
            }
            return text.contains(needle)
        }
        #expect(readUntil("no jobs"))
        _ = try await server.launch(["name": "watched-job", "command": ["/bin/sleep", "1"]])
        #expect(readUntil("watched-job"), "redrawn after the submit: \(text)")
        #expect(readUntil("succeeded"), "and after its end: \(text)")
    }
}
