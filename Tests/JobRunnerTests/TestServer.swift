import CSystemSupport
import Foundation
import JobModel

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real `jobrunner serve` process on an ephemeral port with its own state directory.
actor TestServer {
    let state: String
    let settings: [String: String]
    /// A command the server is started through (`prlimit --nofile=256:256 --`), if any.
    let prefix: [String]
    private(set) var process: Process
    private(set) var base: URL

    static let buildDirectory: URL = {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()]
        where FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("jobrunner").path) {
            return candidate
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug")
    }()

    static let defaults: [String: String] = [
        "listen.port": "0",
        "monitor.sampleIntervalSeconds": "0.25",
        "monitor.rollingWindowSeconds": "1",
        "jobs.retryDelaySeconds": "0.1",
        "jobs.killGraceSeconds": "1",
        "snapshot.intervalSeconds": "3600",
        "log.level": "warning",
    ]

    init(settings: [String: String] = [:], state: String? = nil, prefix: [String] = []) async throws {
        self.prefix = prefix
        self.state =
            state
            ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("jobrunner-tests-\(UUID().uuidString)").path
        // Run files beside the state (the tmpfs default is exercised by FaultTests).
        self.settings = Self.defaults.merging(["runDirectory": self.state + "/run"]) { $1 }.merging(settings) { $1 }
        (process, base) = try await Self.start(state: self.state, settings: self.settings, prefix: prefix)
    }

    private static func start(
        state: String,
        settings: [String: String],
        prefix: [String]
    ) async throws -> (Process, URL) {
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let addressFile = state + "/jobrunner.addr"
        try? FileManager.default.removeItem(atPath: addressFile)
        let process = Process()
        let binary = buildDirectory.appendingPathComponent("jobrunner")
        var arguments = ["serve", "--set", "stateDirectory=\(state)"]
        for (k, v) in settings.sorted(by: { $0.key < $1.key }) { arguments += ["--set", "\(k)=\(v)"] }
        if let command = prefix.first {
            process.executableURL = URL(fileURLWithPath: command)
            process.arguments = Array(prefix.dropFirst()) + [binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/stderr")
        try process.run()
        for _ in 0..<400 {
            if let text = try? String(contentsOfFile: addressFile, encoding: .utf8), text.hasSuffix("\n") {
                return (process, URL(string: "http://" + text.trimmingCharacters(in: .whitespacesAndNewlines))!)
            }
            if !process.isRunning {
                throw TestFailure("jobrunner exited at start with status \(process.terminationStatus)")
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        process.terminate()
        throw TestFailure("jobrunner did not start listening within 10 s")
    }

    /// SIGTERM and wait: a clean shutdown.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// kill -9, then starts again on the same state directory.
    func crashAndRestart() async throws {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        (process, base) = try await Self.start(state: state, settings: settings, prefix: prefix)
    }

    var pid: Int32 { process.processIdentifier }

    /// Stops and starts again on the same state directory.
    func restart() async throws {
        stop()
        (process, base) = try await Self.start(state: state, settings: settings, prefix: prefix)
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    struct Reply {
        var status: Int
        var body: Data
        var headers: [String: String]

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func request(
        _ method: String,
        _ path: String,
        body: Data? = nil,
        headers: [String: String] = [:]
    ) async throws -> Reply {
        var request = URLRequest(url: URL(string: path, relativeTo: base)!)
        request.httpMethod = method
        request.httpBody = body
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields { headers[String(describing: k).lowercased()] = String(describing: v) }
        return Reply(status: http.statusCode, body: data, headers: headers)
    }

    func post(_ path: String, json: Any) async throws -> Reply {
        try await request("POST", path, body: try JSONSerialization.data(withJSONObject: json))
    }

    /// Launches a job; returns its id.
    func launch(_ spec: [String: Any]) async throws -> Int {
        let reply = try await post("/v1/jobs", json: spec)
        guard reply.status == 201, let id = reply.json["id"] as? Int else {
            throw TestFailure("launch failed: \(reply.status) \(reply.text)")
        }
        return id
    }

    func job(_ id: Int) async throws -> Job {
        let reply = try await request("GET", "/v1/jobs/\(id)")
        guard reply.status == 200 else { throw TestFailure("GET job \(id): \(reply.status) \(reply.text)") }
        return try JSONDecoder().decode(Job.self, from: reply.body)
    }

    /// Waits until job `id` has ended (or `seconds` pass).
    func waitForEnd(_ id: Int, seconds: Double = 30) async throws -> Job {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let job = try await job(id)
            if job.status.isFinal { return job }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("job \(id) did not end within \(seconds) s")
    }
}

/// A raw HTTP/1.1 exchange over one TCP connection, from a chosen local address.
struct RawHTTP {
    /// Connects from `source` (nil: any) to the server's address, with a 10 s timeout.
    static func connect(source: String?, to base: URL) throws -> Int32 {
        let fd = csys_tcp_connect(source, base.host!, Int32(base.port!), 10_000)
        guard fd >= 0 else { throw TestFailure("connect from \(source ?? "any"): errno \(errno)") }
        return fd
    }

    static func send(_ fd: Int32, _ text: String) throws {
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw TestFailure("write failed: errno \(errno)") }
            done += n
        }
    }

    /// Reads one response (headers and a Content-Length body): status and body.
    static func receive(_ fd: Int32) throws -> (status: Int, head: String, body: String) {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            if let end = data.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
                let length =
                    head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if data.count - end.upperBound >= length {
                    let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
                    let body = String(decoding: data[end.upperBound..<(end.upperBound + length)], as: UTF8.self)
                    return (status, head, body)
                }
            }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw TestFailure("connection closed or timed out after \(data.count) bytes") }
            data += buffer[..<n]
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
