import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension JobRunner {
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
}
