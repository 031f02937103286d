import CSystemSupport
import Foundation
import JobModel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `jobrunner start`: runs `jobrunner serve` as its child and restarts it when it exits
/// abnormally or stops answering health checks (a hung server — its last check failed and
/// none succeeded for `watchdog.intervalSeconds × watchdog.failuresBeforeRestart` — is
/// killed first), with backoff (0.1 s doubling to 30 s, reset after 60 s of stable running)
/// and at most `watchdog.maxRestartsPerMinute` restarts. SIGHUP restarts the server from
/// the binary now on disk (upgrade); SIGTERM/SIGINT stop it and exit 0, at once, even
/// during a backoff. One watchdog per state directory (`watchdog.lock`); a server that
/// holds the directory without one (its watchdog was killed) is stopped — it snapshots
/// and exits, its jobs run on — and the new server adopts its jobs.
/// Each start, restart and its cause is appended to the audit log (`audit.file`).
struct Watchdog {
    let configuration: JobRunnerConfiguration
    /// The serve command line, without the executable.
    let serveArguments: [String]
    let executable: String

    enum Signal { case none, upgrade, stop }

    private static let pending = Mutex(Signal.none)

    private func audit(_ event: String, _ fields: [String: String] = [:]) {
        AuditLog.append(event, fields, toPath: configuration.auditPath)
    }

    private func spawn() -> pid_t? {
        var pid: pid_t = 0
        let arguments = [executable] + serveArguments
        let env = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        let rc = withCStrings(arguments) { argv in
            withCStrings(env) { envp in posix_spawn(&pid, executable, nil, nil, argv, envp) }
        }
        return rc == 0 ? pid : nil
    }

    /// One `GET /v1/health` (``ServerProbe``): true on a 200 answer within the timeout.
    private func healthy() -> Bool {
        ServerProbe.health(configuration.stateDirectory, timeoutMilliseconds: probeTimeoutMilliseconds) != nil
    }

    /// A probe takes at most this long: a busy server that answers within it is not hung.
    private let probeTimeoutMilliseconds: Int32 = 2_000

    /// The signal received since the last call, if any.
    private static func takeSignal() -> Signal {
        pending.withLock { s in
            defer { s = .none }
            return s
        }
    }

    /// Sleeps `seconds` unless a signal comes first; returns that signal.
    private static func sleep(_ seconds: Double) -> Signal {
        let until = Date().addingTimeInterval(seconds)
        while Date() < until {
            let signal = takeSignal()
            if signal != .none { return signal }
            usleep(20_000)
        }
        return .none
    }

    /// A server that holds the state directory with no watchdog (its watchdog was killed):
    /// stopped with SIGTERM (it snapshots and exits; jobs run on under their shims and the
    /// next server adopts them) rather than raced. Returns false when it would not stop.
    private func stopOrphan() -> Bool {
        let state = configuration.stateDirectory
        guard case .held(let holder) = StateLock.holder(state: state, name: "server") else { return true }
        guard let holder, holder > 0, kill(holder, 0) == 0 else {
            FileHandle.standardError.write(
                Data(
                    "Error: \(StateLock.path(state: state, name: "server")) is held by a process that cannot be found\n"
                        .utf8
                )
            )
            return false
        }
        FileHandle.standardError.write(
            Data(
                "A server without a watchdog (pid \(holder)) holds \(state): stopping it, its jobs keep running\n".utf8
            )
        )
        audit("orphanStopping", ["pid": "\(holder)"])
        kill(holder, SIGTERM)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if StateLock.holder(state: state, name: "server") == .free {
                audit("orphanStopped", ["pid": "\(holder)"])
                return true
            }
            if Self.sleep(0.05) == .stop { return false }
        }
        kill(holder, SIGKILL)
        for _ in 0..<100 where StateLock.holder(state: state, name: "server") != .free { usleep(50_000) }
        audit("orphanStopped", ["pid": "\(holder)", "killed": "true"])
        return StateLock.holder(state: state, name: "server") == .free
    }

    private static func exitStatus(_ status: Int32) -> String {
        if csys_wifexited(status) != 0 { return "exit \(csys_wexitstatus(status))" }
        if csys_wifsignaled(status) != 0 { return "signal \(csys_wtermsig(status))" }
        return "status \(status)"
    }

    /// Runs until stopped; returns the exit code of the watchdog.
    func run() -> Int32 {
        for sig in [SIGTERM, SIGINT, SIGHUP] { signal(sig, SIG_IGN) }
        var sources: [any DispatchSourceSignal] = []
        for (sig, action) in [(SIGTERM, Signal.stop), (SIGINT, .stop), (SIGHUP, .upgrade)] {
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { @Sendable in Self.pending.withLock { $0 = action } }
            source.resume()
            sources.append(source)
        }
        let state = configuration.stateDirectory
        try? FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        // One watchdog per state directory.
        let lock: StateLock
        do {
            lock = try StateLock.acquire(state: state, name: "watchdog")
        } catch {
            FileHandle.standardError.write(Data("Error: \(error) (another `jobrunner start`)\n".utf8))
            return 75  // EX_TEMPFAIL
        }
        defer { withExtendedLifetime(lock) {} }
        audit("watchdogStarted", ["version": ProductVersion.current, "pid": "\(getpid())"])
        // `jobrunner upgrade` finds the watchdog of a state directory here.
        let pidFile = state + "/watchdog.pid"
        try? OutputFile.write(Array("\(getpid())\n".utf8), toAtomicPath: pidFile, sync: false)
        defer { unlink(pidFile) }
        guard stopOrphan() else {
            audit("watchdogStopped", ["cause": "the state directory is held by a server that did not stop"])
            return 75
        }
        var restarts: [Date] = []
        var backoff = 0.1
        var cause = "start"
        let hungAfter = configuration.watchdog.intervalSeconds * Double(configuration.watchdog.failuresBeforeRestart)
        while true {
            try? FileManager.default.removeItem(atPath: state + "/jobrunner.addr")
            guard let child = spawn() else {
                audit("serverSpawnFailed", ["error": String(cString: strerror(errno))])
                return 1
            }
            audit("serverStarted", ["pid": "\(child)", "cause": cause])
            let started = Date()
            var failures = 0
            var status: Int32 = 0
            var nextProbe = Date()
            // Hung: the last probe failed and no probe succeeded for interval ×
            // failuresBeforeRestart. Probes start every interval (one at a time), so a hang is
            // acted on within that time plus one probe timeout, whatever the probes cost.
            var lastHealthy: Date?
            var killedHung = false
            var requested = Signal.none
            loop: while true {
                if waitpid(child, &status, WNOHANG) == child { break loop }
                let signal = Self.takeSignal()
                if signal != .none {
                    requested = signal
                    kill(child, SIGTERM)
                    while waitpid(child, &status, 0) < 0 && errno == EINTR {}
                    break loop
                }
                if Date() >= nextProbe {
                    nextProbe = nextProbe.addingTimeInterval(configuration.watchdog.intervalSeconds)
                    if nextProbe < Date() {
                        nextProbe = Date().addingTimeInterval(configuration.watchdog.intervalSeconds)
                    }
                    // A server still starting (no address yet) is not counted as failing.
                    if FileManager.default.fileExists(atPath: state + "/jobrunner.addr") {
                        let probeStarted = Date()
                        if healthy() {
                            failures = 0
                            lastHealthy = Date()
                        } else {
                            failures += 1
                            let since =
                                lastHealthy ?? probeStarted.addingTimeInterval(-configuration.watchdog.intervalSeconds)
                            if Date().timeIntervalSince(since) >= hungAfter {
                                kill(child, SIGKILL)
                                while waitpid(child, &status, 0) < 0 && errno == EINTR {}
                                killedHung = true
                                break loop
                            }
                        }
                    }
                }
                usleep(20_000)
            }
            switch requested {
            case .stop:
                audit("watchdogStopped", ["server": Self.exitStatus(status)])
                return 0
            case .upgrade:
                cause = "upgrade"
                audit("serverUpgrading", ["server": Self.exitStatus(status)])
                continue
            case .none:
                break
            }
            if !killedHung, csys_wifexited(status) != 0, csys_wexitstatus(status) == 78 {
                audit("serverConfigurationError", [:])
                return 78
            }
            cause =
                killedHung
                ? "hung: no healthy answer for \(String(format: "%.1f", hungAfter)) s, \(failures) failed health checks"
                : "exited: \(Self.exitStatus(status))"
            if Date().timeIntervalSince(started) > 60 { backoff = 0.1 }
            restarts = restarts.filter { Date().timeIntervalSince($0) < 60 } + [Date()]
            if restarts.count > configuration.watchdog.maxRestartsPerMinute {
                audit("watchdogGaveUp", ["cause": cause, "restartsInLastMinute": "\(restarts.count)"])
                return 1
            }
            audit("serverRestarting", ["cause": cause, "delaySeconds": "\(backoff)"])
            // SIGTERM during the backoff stops at once; SIGHUP starts the server at once.
            switch Self.sleep(backoff) {
            case .stop:
                audit("watchdogStopped", ["server": Self.exitStatus(status)])
                return 0
            case .upgrade:
                cause = "upgrade"
            case .none:
                break
            }
            backoff = min(backoff * 2, 30)
            // A server of this directory that runs without us (started by hand meanwhile).
            if csys_wifexited(status) != 0, csys_wexitstatus(status) == 75, !stopOrphan() {
                audit("watchdogStopped", ["cause": "the state directory is held by a server that did not stop"])
                return 75
            }
        }
    }
}
