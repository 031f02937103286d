import ArgumentParser
import Foundation
import JobModel

@main
struct JobRunner: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobrunner",
        abstract:
            "A concurrent job manager: launches jobs over HTTP, watches, retries and remembers every one. serve/start run it; submit, ls, logs, … talk to it.",
        discussion: """
            Configuration comes from --config (default ./config.json), then JOBRUNNER_* environment \
            variables (key jobs.maxConcurrent -> JOBRUNNER_JOBS_MAX_CONCURRENT), then --set key=value. \
            A wrong key or value stops start-up with a message naming the key. `jobrunner keys` lists them.
            """,
        version: ProductVersion.current,
        subcommands: [
            Serve.self, Start.self, Upgrade.self, Token.self, Keys.self,
            Submit.self, List.self, Show.self, Logs.self, Cancel.self, Wait.self, Stats.self, Rerun.self,
        ],
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

    /// ``load()``, or exit 78 (EX_CONFIG) with the message naming the key.
    func loadOrExit() throws -> JobRunnerConfiguration {
        do {
            return try load()
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            throw ExitCode(78)  // EX_CONFIG
        }
    }
}
