import Foundation
import Testing

/// Start-up refuses a wrong configuration with a message that names the key.
@Suite(.timeLimit(.minutes(1)))
struct ConfigurationTests {
    static func run(
        _ arguments: [String],
        environment: [String: String] = [:],
        config: String? = nil
    ) throws -> (Int32, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jobrunner-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var args = arguments
        if let config {
            let path = dir.appendingPathComponent("config.json")
            try Data(config.utf8).write(to: path)
            args += ["--config", path.path]
        }
        let process = Process()
        process.executableURL = TestServer.buildDirectory.appendingPathComponent("jobrunner")
        process.arguments = args + ["--set", "stateDirectory=\(dir.path)/state", "--set", "listen.port=0"]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // A valid configuration starts the server: stop it once it listens.
        let addr = dir.path + "/state/jobrunner.addr"
        for _ in 0..<200 where process.isRunning {
            if FileManager.default.fileExists(atPath: addr) {
                process.terminate()
                break
            }
            Thread.sleep(forTimeInterval: 0.025)
        }
        let output = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    @Test(arguments: [
        (#"{"jobs": {"maxConcurent": 3}}"#, "'jobs.maxConcurent' is unknown"),
        (#"{"listen": {"port": "eighty"}}"#, "'listen.port' must be an integer"),
        (#"{"listen": {"port": 70000}}"#, "'listen.port' must be between 0 and 65535"),
        (#"{"jobs": {"maxConcurrent": 0}}"#, "'jobs.maxConcurrent' must be between"),
        (#"{"log": {"level": "loud"}}"#, "'log.level' must be one of"),
        (#"{"jobs": {"noRetryExitCodes": "3"}}"#, "'jobs.noRetryExitCodes' must be a list of integers"),
        (#"{"jobs": {"allowedCommands": ["bin/*"]}}"#, "'jobs.allowedCommands' entries must be absolute"),
        (#"{"jobs": {"allowedCommands": "/bin/*"}}"#, "'jobs.allowedCommands' must be a list of strings or null"),
        (#"{"jobs": {"cgroups": "maybe"}}"#, "'jobs.cgroups' must be auto, off or required"),
        (#"{"jobs": {"cgroupPath": "jobs"}}"#, "'jobs.cgroupPath' must be an absolute path"),
        (
            #"{"jobs": {"cgroups": "required", "cgroupPath": "/tmp/not-a-cgroup"}}"#,
            "'jobs.cgroups' is required but no cgroup v2 group can be used"
        ),
        (#"{"queues": {"gpu": {"maxConcurrent": 0}}}"#, "'queues.gpu.maxConcurrent' must be between"),
        (#"{"queues": {"gpu": {"max": 1}}}"#, "'queues.gpu.max' is unknown"),
        (#"{"queues": {"g p u": {}}}"#, "'queues' queue name 'g p u' must be"),
        (#"{"notify": {"webhooks": [{"url": "ftp://x", "events": ["jobSucceeded"]}]}}"#, "'notify.webhooks[0].url'"),
        (
            #"{"notify": {"webhooks": [{"url": "http://x", "events": ["jobExploded"]}]}}"#,
            "'notify.webhooks[0].events' 'jobExploded' is not one of"
        ),
        ("{", "is not valid JSON"),
    ])
    func wrongFileValuesStopStartUp(config: String, message: String) throws {
        let (status, stderr) = try Self.run(["serve"], config: config)
        #expect(status == 78)
        #expect(stderr.contains(message), "\(stderr)")
    }

    @Test func environmentOverridesTheFileAndIsChecked() throws {
        let (status, stderr) = try Self.run(["serve"], environment: ["JOBRUNNER_JOBS_MAX_RETRIES": "many"])
        #expect(status == 78)
        #expect(stderr.contains("'jobs.maxRetries'"), "\(stderr)")
    }

    @Test func theDefaultConfigStartsAndStopsCleanly() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let (status, stderr) = try Self.run(["serve", "--config", root.appendingPathComponent("config.json").path])
        #expect(status == 0, "SIGTERM is a clean shutdown: \(stderr)")
    }

    @Test func keysListsEveryKeyWithItsVariable() throws {
        let process = Process()
        process.executableURL = TestServer.buildDirectory.appendingPathComponent("jobrunner")
        process.arguments = ["keys"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(text.contains("jobs.maxConcurrent  (JOBRUNNER_JOBS_MAX_CONCURRENT)"))
        #expect(text.contains("monitor.sampleIntervalSeconds"))
    }
}
