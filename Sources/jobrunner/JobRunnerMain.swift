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
        subcommands: [Serve.self, Start.self, Upgrade.self, Token.self, Keys.self],
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

extension JobRunner {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Run the service in the foreground (SIGTERM/SIGINT: stop accepting, snapshot if anything changed, exit 0; jobs keep running).",
            discussion: """
                One server per state directory (STATE/server.lock). Exit status: 0 stopped; 75 another \
                process holds the state directory (its pid is named) or the listening address cannot be \
                bound (nothing in the state directory was read or changed); 78 a configuration key or \
                value is wrong (the key is named).
                """
        )

        @OptionGroup var options: ConfigOptions

        @Flag(help: .hidden)
        var listRoutes = false

        func run() async throws {
            let configuration = try options.loadOrExit()
            let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            var logger = Logger(label: "jobrunner")
            logger.logLevel = level
            // A file-size limit reached must fail the write (EFBIG), not kill the manager.
            signal(SIGXFSZ, SIG_IGN)
            ServiceMetrics.bootstrap()
            do {
                var routes: [String] = []
                let app = try await buildApplication(configuration: configuration, logger: logger) { routes = $0 }
                if listRoutes {
                    for route in routes { print(route) }
                    return
                }
                try await app.runService()
            } catch let error as ConfigurationError {
                FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
                throw ExitCode(78)
            } catch let error as StateLock.Failure {
                FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
                throw ExitCode(75)  // EX_TEMPFAIL: the directory is busy now
            } catch let error as ListenError {
                FileHandle.standardError.write(Data("Error: \(error); nothing was recovered or changed\n".utf8))
                throw ExitCode(75)
            }
        }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Run the service under a watchdog that restarts it after a crash or a hang (SIGHUP: upgrade to the binary on disk).",
            discussion: """
                One watchdog per state directory (STATE/watchdog.lock). A server that holds the directory \
                without a watchdog is stopped (it snapshots and exits; its jobs run on and are adopted). \
                Exit status: 0 stopped by SIGTERM/SIGINT; 75 another watchdog runs, or the directory is \
                held by a server that would not stop; 78 configuration error; 1 gave up after \
                watchdog.maxRestartsPerMinute restarts.
                """
        )

        @OptionGroup var options: ConfigOptions

        func run() throws {
            let configuration = try options.loadOrExit()
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

    struct Upgrade: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upgrade a running `jobrunner start` to the binary now on disk, without stopping jobs.",
            discussion: """
                Sends SIGHUP to the watchdog of the configured state directory (STATE/watchdog.pid): the \
                server snapshots and exits, the watchdog starts the binary on disk, which adopts the running \
                jobs. Waits until the new server is healthy and prints the versions and the downtime. \
                Exit 0 once healthy, 1 when no watchdog runs or the new server is not healthy in time.
                """
        )

        @OptionGroup var options: ConfigOptions

        @Option(help: "Seconds to wait for the new server to be healthy.")
        var timeout: Double = 60

        func run() throws {
            let configuration = try options.loadOrExit()
            let state = configuration.stateDirectory
            func fail(_ message: String) -> ExitCode {
                FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
                return ExitCode(1)
            }
            guard
                let text = try? String(contentsOfFile: state + "/watchdog.pid", encoding: .utf8),
                let watchdog = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(watchdog, 0) == 0,
                let command = FileManager.default.contents(atPath: "/proc/\(watchdog)/cmdline"),
                String(decoding: command, as: UTF8.self).split(separator: "\0").contains("start")
            else {
                throw fail(
                    "no `jobrunner start` watchdog runs for \(state) (STATE/watchdog.pid); start the service with it"
                )
            }
            let oldPid = ServerProbe.serverPid(state)
            let oldVersion = ServerProbe.health(state)?.version ?? "unknown"
            let sent = Date()
            guard kill(watchdog, SIGHUP) == 0 else { throw fail("cannot signal the watchdog \(watchdog)") }
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let pid = ServerProbe.serverPid(state), pid != oldPid, let health = ServerProbe.health(state) {
                    print(
                        "upgraded: server pid \(oldPid.map(String.init) ?? "none") -> \(pid), version \(oldVersion) -> "
                            + "\(health.version), status \(health.status), "
                            + String(format: "%.2f s", Date().timeIntervalSince(sent))
                    )
                    return
                }
                usleep(20_000)
            }
            throw fail("the new server was not healthy within \(timeout) s; see \(configuration.auditPath)")
        }
    }

    struct Token: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Manage the bearer tokens of security.tokensFile (the file holds SHA-256 hashes only).",
            discussion: """
                A running server re-reads the file within a second of a change. Scopes: read (GET calls), \
                launch (POST calls: launch and cancel jobs). Give both for a token that does both.
                """,
            subcommands: [Add.self, List.self, Remove.self]
        )

        struct FileOptions: ParsableArguments {
            @OptionGroup var options: ConfigOptions

            @Option(help: "Tokens file (default: security.tokensFile of the configuration).")
            var file: String?

            func path() throws -> String {
                if let file { return file }
                let configuration = try options.loadOrExit()
                guard let path = configuration.tokensFile else {
                    throw ValidationError("security.tokensFile is not set: set it in the configuration or pass --file.")
                }
                return path
            }

            func load(_ path: String) throws -> TokensFile {
                do {
                    return try TokensFile.load(path, missingIsEmpty: true)
                } catch {
                    FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
                    throw ExitCode(65)
                }
            }
        }

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create a token, store its hash and print the token (once: it cannot be shown again)."
            )
            @OptionGroup var file: FileOptions

            @Option(help: "Scope: read or launch (repeatable).")
            var scope: [String] = []

            @Option(help: "Token id, shown in the audit log (default: a random one).")
            var id: String?

            func run() throws {
                var scopes: [TokenScope] = []
                for word in scope {
                    guard let s = TokenScope(rawValue: word) else {
                        throw ValidationError("--scope must be read or launch, not '\(word)'.")
                    }
                    if !scopes.contains(s) { scopes.append(s) }
                }
                guard !scopes.isEmpty else { throw ValidationError("give at least one --scope (read, launch).") }
                let path = try file.path()
                var tokens = try file.load(path)
                let tokenID = id ?? "tok-" + String(TokensFile.newToken().suffix(8))
                guard !tokenID.isEmpty, tokenID.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
                    throw ValidationError("--id must be a non-empty word of ASCII characters.")
                }
                guard !tokens.tokens.contains(where: { $0.id == tokenID }) else {
                    throw ValidationError("a token with id '\(tokenID)' already exists in \(path).")
                }
                let token = TokensFile.newToken()
                tokens.tokens.append(
                    .init(
                        id: tokenID,
                        sha256: TokensFile.hex(TokensFile.hash(token)),
                        scopes: scopes,
                        createdAt: Timestamp.format(Date())
                    )
                )
                try tokens.write(to: path)
                FileHandle.standardError.write(
                    Data(
                        "Token '\(tokenID)' (\(scopes.map(\.rawValue).joined(separator: ", "))) added to \(path).\n"
                            .utf8
                    )
                )
                print(token)
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List token ids, scopes and creation times.")
            @OptionGroup var file: FileOptions

            func run() throws {
                for entry in try file.load(try file.path()).tokens {
                    print("\(entry.id)  \(entry.scopes.map(\.rawValue).joined(separator: ","))  \(entry.createdAt)")
                }
            }
        }

        struct Remove: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke a token by its id.")
            @OptionGroup var file: FileOptions

            @Argument(help: "Token id.")
            var id: String

            func run() throws {
                let path = try file.path()
                var tokens = try file.load(path)
                guard tokens.tokens.contains(where: { $0.id == id }) else {
                    FileHandle.standardError.write(Data("Error: no token '\(id)' in \(path)\n".utf8))
                    throw ExitCode(65)
                }
                tokens.tokens.removeAll { $0.id == id }
                try tokens.write(to: path)
            }
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
