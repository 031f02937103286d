import Foundation
import JobModel

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real `jobrunner serve` process on an ephemeral port with its own state directory.
actor TestServer {
    let state: String
    let settings: [String: String]
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

    init(settings: [String: String] = [:], state: String? = nil) async throws {
        self.state =
            state
            ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("jobrunner-tests-\(UUID().uuidString)").path
        self.settings = Self.defaults.merging(settings) { $1 }
        (process, base) = try await Self.start(state: self.state, settings: self.settings)
    }

    private static func start(state: String, settings: [String: String]) async throws -> (Process, URL) {
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let addressFile = state + "/jobrunner.addr"
        try? FileManager.default.removeItem(atPath: addressFile)
        let process = Process()
        process.executableURL = buildDirectory.appendingPathComponent("jobrunner")
        var arguments = ["serve", "--set", "stateDirectory=\(state)"]
        for (k, v) in settings.sorted(by: { $0.key < $1.key }) { arguments += ["--set", "\(k)=\(v)"] }
        process.arguments = arguments
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

    /// Stops and starts again on the same state directory.
    func restart() async throws {
        stop()
        (process, base) = try await Self.start(state: state, settings: settings)
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

    func request(_ method: String, _ path: String, body: Data? = nil) async throws -> Reply {
        var request = URLRequest(url: URL(string: path, relativeTo: base)!)
        request.httpMethod = method
        request.httpBody = body
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

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
