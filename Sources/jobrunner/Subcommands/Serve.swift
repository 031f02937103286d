import ArgumentParser
import Foundation
import Hummingbird
import Logging

#if canImport(Glibc)
import Glibc
#endif

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
}
