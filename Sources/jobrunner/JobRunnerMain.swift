import ArgumentParser
import Foundation
import Hummingbird
import JobModel
import Logging

@main
struct JobRunner: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobrunner",
        abstract: "A concurrent job manager: launches jobs over HTTP, watches, retries and remembers every one.",
        discussion: """
            Configuration comes from --config (default ./config.json), then JOBRUNNER_* environment \
            variables (key jobs.maxConcurrent -> JOBRUNNER_JOBS_MAX_CONCURRENT), then --set key=value. \
            A wrong key or value stops start-up with a message naming the key. `jobrunner keys` lists them.
            """,
        version: ProductVersion.current,
        subcommands: [Serve.self, Start.self, Keys.self],
        defaultSubcommand: Serve.self
    )
}

struct ConfigOptions: ParsableArguments {
    @Option(help: "Configuration file (JSON). Default: ./config.json when it exists.")
    var config: String?

    @Option(name: .customLong("set"), help: "Override one key: --set listen.port=9090 (repeatable).")
    var overrides: [String] = []

    func load() throws -> JobRunnerConfiguration {
        var values: [String: String] = [:]
        for item in overrides {
            guard let eq = item.firstIndex(of: "=") else {
                throw ValidationError("--set takes key=value, not '\(item)'.")
            }
            values[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        var path = config
        if path == nil, FileManager.default.fileExists(atPath: "config.json") { path = "config.json" }
        return try JobRunnerConfiguration.load(path: path, overrides: values)
    }
}

extension JobRunner {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Run the service in the foreground (SIGTERM/SIGINT: stop accepting, snapshot, exit 0; jobs keep running)."
        )

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let configuration: JobRunnerConfiguration
            do {
                configuration = try options.load()
            } catch let error as ConfigurationError {
                FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
                throw ExitCode(78)  // EX_CONFIG
            }
            let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            var logger = Logger(label: "jobrunner")
            logger.logLevel = level
            do {
                let app = try await buildApplication(configuration: configuration, logger: logger)
                try await app.runService()
            } catch let error as ConfigurationError {
                FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
                throw ExitCode(78)
            }
        }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Run the service under a watchdog that restarts it after a crash or a hang (SIGHUP: upgrade to the binary on disk)."
        )

        @OptionGroup var options: ConfigOptions

        func run() throws {
            let configuration: JobRunnerConfiguration
            do {
                configuration = try options.load()
            } catch let error as ConfigurationError {
                FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
                throw ExitCode(78)
            }
            var arguments = ["serve"]
            if let config = options.config { arguments += ["--config", config] }
            for item in options.overrides { arguments += ["--set", item] }
            let executable =
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0]
            let code = Watchdog(configuration: configuration, serveArguments: arguments, executable: executable).run()
            if code != 0 { throw ExitCode(code) }
        }
    }

    struct Keys: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the configuration keys, their environment variables and meaning."
        )

        func run() {
            for key in JobRunnerConfiguration.keys {
                print("\(key.name)  (\(JobRunnerConfiguration.environmentName(key.name)))  \(key.summary)")
            }
        }
    }
}
