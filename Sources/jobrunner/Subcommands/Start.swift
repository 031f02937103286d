import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension JobRunner {
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
}
