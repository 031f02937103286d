import CSystemSupport
import Foundation
import JobModel
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One manager per state directory, descriptor exhaustion, slow clients, the log cap, and
/// the watchdog's promptness: faults that used to lose acknowledged data or the service.
@Suite(.serialized, .timeLimit(.minutes(4)))
struct ExhaustionTests {
    /// Names, sizes and modification times of every file below `directory`.
    static func listing(_ directory: String) -> [String: String] {
        var out: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let name = enumerator?.nextObject() as? String {
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)
            out[name] = "\(attributes?[.size] ?? 0) \(attributes?[.modificationDate] ?? "")"
        }
        return out
    }

    /// Runs `jobrunner ARGS…` to its end; its exit status and standard error.
    static func run(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = TestServer.buildDirectory.appendingPathComponent("jobrunner")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    /// A socket listening on 127.0.0.1:`port` (0: any free port), with SO_REUSEADDR as the
    /// server binds: its descriptor and port, or nil when it cannot be bound.
    static func listener(port: Int) -> (fd: Int32, port: Int)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard listening else {
            close(fd)
            return nil
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// Whether `pid` has exited (gone, or a zombie not yet reaped by its new parent).
    static func isGone(_ pid: Int32) -> Bool {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return stat.isEmpty || stat.contains(") Z ")
    }

    /// A connection that sent half a request head and nothing more.
    static func slowClient(_ base: URL) throws -> Int32 {
        let fd = try RawHTTP.connect(source: nil, to: base)
        try RawHTTP.send(fd, "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        return fd
    }

    /// Whether the server closed `fd` (a read returns end of file or a reset).
    static func isClosed(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 0) > 0 else { return false }
        return recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) <= 0
    }

    @Test func aSecondManagerOnTheSameStateDirectoryExits75AndChangesNothing() async throws {
        let server = try await TestServer()
        let id = try await server.launch(["name": "first", "command": ["/bin/true"]])
        _ = try await server.waitForEnd(id)
        try await Task.sleep(for: .milliseconds(300))  // its end record is synced within 50 ms
        let before = Self.listing(server.state + "/journal")
        let pid = await server.pid
        let second = try Self.run([
            "serve", "--set", "stateDirectory=\(server.state)", "--set", "listen.port=0",
            "--set", "runDirectory=\(server.state)/run",
        ])
        #expect(second.status == 75)
        #expect(second.stderr.contains("process \(pid) holds"), "names the holder: \(second.stderr)")
        #expect(Self.listing(server.state + "/journal") == before, "the journal is untouched")
        // The first one still serves, and ids go on from where they were.
        let next = try await server.launch(["name": "second", "command": ["/bin/true"]])
        #expect(next == id + 1)
        await server.stop()
    }

    @Test func aManagerThatCannotBindItsPortRecoversAndDeletesNothing() async throws {
        let server = try await TestServer(settings: ["snapshot.intervalSeconds": "3600"])
        _ = try await server.waitForEnd(try await server.launch(["name": "kept", "command": ["/bin/true"]]))
        let port = await server.base.port!
        // Killed, so that its journal is not yet covered by a snapshot; its port taken.
        let pid = await server.pid
        kill(pid, SIGKILL)
        // Taken once the killed server has let go of it: on a loaded machine its exit (and
        // with it the socket's close) can take longer than any fixed pause.
        for _ in 0..<1000 where !Self.isGone(pid) { try await Task.sleep(for: .milliseconds(10)) }
        var taken: (fd: Int32, port: Int)?
        for _ in 0..<500 {
            taken = Self.listener(port: port)
            if taken != nil { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        let (blocker, _) = try #require(taken, "port \(port) still in use 5 s after the server exited")
        defer { close(blocker) }
        let before = Self.listing(server.state)
        let result = try Self.run([
            "serve", "--set", "stateDirectory=\(server.state)", "--set", "listen.port=\(port)",
            "--set", "runDirectory=\(server.state)/run",
        ])
        #expect(result.status == 75)
        #expect(result.stderr.contains("cannot listen"), "\(result.stderr)")
        var after = Self.listing(server.state)
        after["server.lock"] = before["server.lock"]  // the lock file's pid line is rewritten
        #expect(after == before, "nothing recovered, snapshotted or deleted")
    }

    @Test func aRestartedWatchdogStopsAnOrphanedServerAndKeepsItsJobs() async throws {
        let first = try WatchdogTests.Watched()
        let (orphan, base) = try await first.waitHealthy()
        let running = try await WatchdogTests.launch(
            base,
            ["name": "long", "command": ["/bin/sh", "-c", "sleep 2; exit 5"], "retries": 0]
        )
        // The watchdog dies, its server serves on. (Waited for by /proc: Foundation's
        // waitUntilExit does not return for a child killed this way here.)
        let watchdog = first.process.processIdentifier
        kill(watchdog, SIGKILL)
        for _ in 0..<200 where !Self.isGone(watchdog) { try await Task.sleep(for: .milliseconds(10)) }
        let acknowledged = try await WatchdogTests.launch(
            base,
            ["name": "to-orphan", "command": ["/bin/sh", "-c", "exit 6"], "retries": 0]
        )
        // A new watchdog on the same directory stops the orphan and takes over.
        let second = try WatchdogTests.Watched(state: first.state)
        let (server, newBase) = try await second.waitHealthy(notPid: orphan)
        #expect(server != orphan)
        #expect(Self.isGone(orphan), "the orphan was stopped")
        // A third watchdog is refused while the second runs.
        let third = try Self.run(["start", "--set", "stateDirectory=\(first.state)"])
        #expect(third.status == 75, "\(third.stderr)")
        var long = try await WatchdogTests.job(newBase, running)
        for _ in 0..<100 where !long.status.isFinal {
            try await Task.sleep(for: .milliseconds(100))
            long = try await WatchdogTests.job(newBase, running)
        }
        #expect(long.status == .failed && long.exitCode == 5, "\(long.status)")
        let orphaned = try await WatchdogTests.job(newBase, acknowledged)
        #expect(orphaned.name == "to-orphan", "a job acknowledged by the orphan is kept")
        let next = try await WatchdogTests.launch(base: newBase, name: "after")
        #expect(next == acknowledged + 1, "no id handed out twice")
        #expect(second.auditEvents.contains("orphanStopped"))
        second.stop()
    }

    @Test func outOfDescriptorsNoJobIsLostAndTheServiceLives() async throws {
        let server = try await TestServer(
            settings: ["jobs.defaultRetries": "0", "http.headerTimeoutSeconds": "30"],
            prefix: ["/usr/bin/prlimit", "--nofile=256:256", "--"]
        )
        let base = await server.base
        var slow: [Int32] = []
        defer { for fd in slow { close(fd) } }
        for _ in 0..<400 { slow.append(try Self.slowClient(base)) }
        // 800 jobs: 300 sleep for 2 s (running together), 500 end at once.
        var ids: [Int] = []
        var refused = 0
        for n in 0..<800 {
            let command = n < 300 ? ["sleep", "2"] : ["/bin/true"]
            var id: Int?
            for _ in 0..<200 where id == nil {
                if let reply = try? await server.post("/v1/jobs", json: ["name": "x\(n)", "command": command]) {
                    if reply.status == 201 {
                        id = reply.json["id"] as? Int
                    } else {
                        #expect(reply.status == 503, "\(reply.status) \(reply.text)")
                        refused += 1
                    }
                }
                if id == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            ids.append(try #require(id, "job \(n) accepted in the end"))
        }
        var statuses: [JobStatus: Int] = [:]
        for id in ids { statuses[try await server.waitForEnd(id, seconds: 60).status, default: 0] += 1 }
        print("descriptor exhaustion: \(statuses), \(refused) answers 503 before acceptance")
        #expect(statuses == [.succeeded: 800], "\(statuses)")
        #expect(await server.process.isRunning, "the manager lives")
        #expect(try await server.request("GET", "/v1/health").status == 200)
        await server.stop()
    }

    @Test func slowClientsAreClosedAndHealthKeepsAnswering() async throws {
        let server = try await TestServer(settings: [
            "http.headerTimeoutSeconds": "1", "http.idleTimeoutSeconds": "1", "http.maxConnections": "1000",
        ])
        let base = await server.base
        var slow: [Int32] = []
        defer { for fd in slow { close(fd) } }
        // 3,000 half-sent heads: past the cap of 1,000 the oldest make room.
        for _ in 0..<3_000 { slow.append(try Self.slowClient(base)) }
        for _ in 0..<5 {
            let started = Date()
            #expect(try await server.request("GET", "/v1/health").status == 200)
            #expect(Date().timeIntervalSince(started) < 2, "health answers at once")
        }
        // Past the header timeout every slow connection is closed.
        try await Task.sleep(for: .milliseconds(2_500))
        let open = slow.filter { !Self.isClosed($0) }.count
        #expect(open == 0, "\(open) slow connections still open")
        // An idle keep-alive connection is closed after http.idleTimeoutSeconds.
        let idle = try RawHTTP.connect(source: nil, to: base)
        defer { close(idle) }
        try RawHTTP.send(idle, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try RawHTTP.receive(idle).status == 200)
        try await Task.sleep(for: .milliseconds(2_000))
        #expect(Self.isClosed(idle))
        await server.stop()
    }

    @Test func theLogCapKeepsTheNewestBytesOfAGigabyte() async throws {
        // On tmpfs: a gigabyte goes through the shim.
        let state = "/dev/shm/jobrunner-logcap-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: state) }
        let server = try await TestServer(state: state)  // the default cap: 64 MiB
        let lines = 120_000_000
        let id = try await server.launch(["name": "flood", "command": ["seq", "1", "\(lines)"], "retries": 0])
        let job = try await server.waitForEnd(id, seconds: 120)
        #expect(job.status == .succeeded)
        let data = try #require(FileManager.default.contents(atPath: state + "/logs/\(id).out"))
        // seq's output: the numbers 1…N, one a line.
        var total = 0
        var width = 1
        var low = 1
        while low <= lines {
            let high = min(lines, low * 10 - 1)
            total += (high - low + 1) * (width + 1)
            low *= 10
            width += 1
        }
        let cap = 64 << 20
        let note = "[jobrunner: \(total - cap) earlier bytes dropped (jobs.maxLogBytes)]\n"
        #expect(data.count == note.utf8.count + cap, "size \(data.count)")
        #expect(data.prefix(note.utf8.count) == Data(note.utf8))
        // The kept bytes are the newest: consecutive numbers ending with N.
        let kept = data.dropFirst(note.utf8.count)
        let numbers = kept.split(separator: 10).dropFirst().compactMap { Int(String(decoding: $0, as: UTF8.self)) }
        #expect(numbers.last == lines)
        #expect(numbers.first.map { $0 + numbers.count - 1 } == lines, "no gap")
        await server.stop()
    }

    @Test func specFilesGoWhenTheJobEnds() async throws {
        let server = try await TestServer()
        let id = try await server.launch([
            "name": "secret", "command": ["/bin/sh", "-c", "sleep 0.3"], "env": ["TOKEN": "s3cr3t"], "retries": 0,
        ])
        let spec = server.state + "/specs/\(id).json"
        #expect(FileManager.default.fileExists(atPath: spec))
        _ = try await server.waitForEnd(id)
        var gone = false
        for _ in 0..<40 where !gone {
            gone = !FileManager.default.fileExists(atPath: spec)
            if !gone { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(gone, "the spec file (with env) is removed once the job's end is journaled")
        await server.stop()
    }

    @Test func theWatchdogStopsAtOnceDuringItsBackoff() async throws {
        // A port taken: every server exits 75 and the watchdog backs off (0.1 s doubling).
        let (blocker, port) = try #require(Self.listener(port: 0))
        defer { close(blocker) }
        let watched = try WatchdogTests.Watched(settings: ["listen.port": "\(port)"])
        // Wait for a backoff of at least 1.6 s (the fifth restart).
        var delays: [Double] = []
        for _ in 0..<200 where (delays.last ?? 0) < 1.6 {
            try await Task.sleep(for: .milliseconds(50))
            delays = watched.auditLines.filter { $0["event"] as? String == "serverRestarting" }
                .compactMap { ($0["delaySeconds"] as? String).flatMap(Double.init) }
        }
        try #require((delays.last ?? 0) >= 1.6, "\(delays)")
        let sent = Date()
        watched.process.terminate()
        watched.process.waitUntilExit()
        let took = Date().timeIntervalSince(sent)
        #expect(took < 0.5, "stopped \(took) s after SIGTERM")
        #expect(watched.process.terminationStatus == 0)
        #expect(watched.auditEvents.last == "watchdogStopped")
    }

    @Test func aHungServerIsDetectedWithinTheConfiguredChecks() async throws {
        // interval 1 s × 3 failures + one probe timeout (2 s) = 5 s.
        let watched = try WatchdogTests.Watched(settings: ["watchdog.intervalSeconds": "1"])
        let (pid, _) = try await watched.waitHealthy()
        let stopped = Date()
        kill(pid, SIGSTOP)
        var detected: Date?
        while detected == nil, Date().timeIntervalSince(stopped) < 15 {
            try await Task.sleep(for: .milliseconds(20))
            if watched.auditEvents.contains("serverRestarting") { detected = Date() }
        }
        let took = try #require(detected).timeIntervalSince(stopped)
        print("hang detected \(took) s after SIGSTOP (bound 5 s)")
        #expect(took <= 5.5, "\(took) s")
        watched.stop()
    }
}

extension WatchdogTests {
    static func launch(base: URL, name: String) async throws -> Int {
        try await launch(base, ["name": name, "command": ["/bin/true"]])
    }
}
