import CSystemSupport
import Foundation
import JobModel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `jobrunner start`: runs `jobrunner serve` as its child and restarts it when it exits
/// abnormally or fails `watchdog.failuresBeforeRestart` health checks in a row (a hung
/// server is killed first), with backoff (0.1 s doubling to 30 s, reset after 60 s of
/// stable running) and at most `watchdog.maxRestartsPerMinute` restarts. SIGHUP restarts
/// the server from the binary now on disk (upgrade); SIGTERM/SIGINT stop it and exit 0.
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

    /// One `GET /v1/health` over a plain socket, with a timeout: true on a 200 answer.
    private func healthy() -> Bool {
        guard let text = try? String(contentsOfFile: configuration.stateDirectory + "/jobrunner.addr", encoding: .utf8),
            let colon = text.lastIndex(of: ":"),
            let port = UInt16(text[text.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines))
        else { return false }
        let host = String(text[..<colon])
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host == "0.0.0.0" ? "127.0.0.1" : host, &address.sin_addr) == 1 else { return false }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return false }
        let request = Array("GET /v1/health HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { return false }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n >= 12 && String(decoding: buffer[9..<12], as: UTF8.self) == "200"
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
        try? FileManager.default.createDirectory(
            atPath: configuration.stateDirectory,
            withIntermediateDirectories: true
        )
        audit("watchdogStarted", ["version": ProductVersion.current, "pid": "\(getpid())"])
        // `jobrunner upgrade` finds the watchdog of a state directory here.
        let pidFile = configuration.stateDirectory + "/watchdog.pid"
        try? "\(getpid())\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        defer { unlink(pidFile) }
        var restarts: [Date] = []
        var backoff = 0.1
        var cause = "start"
        while true {
            try? FileManager.default.removeItem(atPath: configuration.stateDirectory + "/jobrunner.addr")
            guard let child = spawn() else {
                audit("serverSpawnFailed", ["error": String(cString: strerror(errno))])
                return 1
            }
            audit("serverStarted", ["pid": "\(child)", "cause": cause])
            let started = Date()
            var failures = 0
            var status: Int32 = 0
            var lastCheck = Date()
            var killedHung = false
            var requested = Signal.none
            loop: while true {
                if waitpid(child, &status, WNOHANG) == child { break loop }
                let signal = Self.pending.withLock { s in
                    defer { s = .none }
                    return s
                }
                if signal != .none {
                    requested = signal
                    kill(child, SIGTERM)
                    while waitpid(child, &status, 0) < 0 && errno == EINTR {}
                    break loop
                }
                if Date().timeIntervalSince(lastCheck) >= configuration.watchdogIntervalSeconds {
                    lastCheck = Date()
                    // A server still starting (no address yet) is not counted as failing.
                    if FileManager.default.fileExists(atPath: configuration.stateDirectory + "/jobrunner.addr") {
                        failures = healthy() ? 0 : failures + 1
                        if failures >= configuration.watchdogFailuresBeforeRestart {
                            kill(child, SIGKILL)
                            while waitpid(child, &status, 0) < 0 && errno == EINTR {}
                            killedHung = true
                            break loop
                        }
                    }
                }
                usleep(50_000)
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
            cause = killedHung ? "hung: \(failures) failed health checks" : "exited: \(Self.exitStatus(status))"
            if Date().timeIntervalSince(started) > 60 { backoff = 0.1 }
            restarts = restarts.filter { Date().timeIntervalSince($0) < 60 } + [Date()]
            if restarts.count > configuration.watchdogMaxRestartsPerMinute {
                audit("watchdogGaveUp", ["cause": cause, "restartsInLastMinute": "\(restarts.count)"])
                return 1
            }
            audit("serverRestarting", ["cause": cause, "delaySeconds": "\(backoff)"])
            usleep(useconds_t(backoff * 1_000_000))
            backoff = min(backoff * 2, 30)
        }
    }
}
