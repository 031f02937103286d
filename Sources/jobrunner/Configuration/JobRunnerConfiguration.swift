import Foundation
import JobModel

/// Everything `jobrunner` reads from `config.json`, the environment and the command line.
///
/// Keys (dotted, as in `config.json`; the environment variable is `JOBRUNNER_` + the key in
/// upper snake case, e.g. `jobs.maxConcurrent` → `JOBRUNNER_JOBS_MAX_CONCURRENT`):
/// see ``JobRunnerConfiguration/keys`` for types and defaults.
struct JobRunnerConfiguration: Sendable {
    /// `instance`: the name of this manager, recorded in every job.
    var instance = "local"
    var stateDirectory = "./state"
    var logLevel = "info"
    /// `runDirectory`: where the shims keep their run files; `nil` = on tmpfs (see
    /// ``effectiveRunDirectory``).
    var runDirectory: String? = nil
    /// `listen.*` and `http.*`: for the HTTP server (`buildApplication`).
    var http = HTTPConfiguration()
    /// `snapshot.*`: for ``SnapshotService``.
    var snapshot = SnapshotConfiguration()
    /// `monitor.*`: for ``SupervisorService``'s /proc monitor.
    var monitor = MonitorConfiguration()
    /// `jobs.*`: for ``JobSupervisor``, the shim launcher and request checks.
    var jobs = JobsConfiguration()
    /// `security.*`: for the API's middleware.
    var security = SecurityConfiguration()
    /// `audit.*`: for ``AuditLog``.
    var audit = AuditConfiguration()
    /// `watchdog.*`: for ``Watchdog``.
    var watchdog = WatchdogConfiguration()
    /// `notify.*`: for ``WebhookService`` (and the supervisor, which writes the outbox).
    var notify = NotifyConfiguration()
    /// `patterns.*`: for `GET /v1/stats` (``SystemController``).
    var patterns = PatternsConfiguration()

    /// The run files' directory: `runDirectory`, else `/dev/shm/jobrunner-HASH` (HASH of
    /// the absolute state directory) when /dev/shm exists, else `STATE/run`. Run files (a
    /// running job's pid, then its exit record) matter only while the machine is up —
    /// after a reboot no job runs — so tmpfs spares every job an inode on the disk.
    var effectiveRunDirectory: String {
        if let runDirectory { return runDirectory }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDirectory), isDirectory.boolValue
        else { return stateDirectory + "/run" }
        let absolute =
            stateDirectory.hasPrefix("/")
            ? stateDirectory : FileManager.default.currentDirectoryPath + "/" + stateDirectory
        let path = URL(fileURLWithPath: absolute).standardizedFileURL.path
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "/dev/shm/jobrunner-" + String(hash, radix: 16)
    }

    /// The audit log's path: `audit.file`, or `state/audit.jsonl`.
    var auditPath: String { audit.file ?? stateDirectory + "/audit.jsonl" }

    /// One configuration key: its type, default and meaning (the README table is made from the same words).
    struct Key: Sendable {
        enum Kind: Sendable {
            case string, int, double, bool, intList, stringMap, optionalInt, optionalString, optionalStringList
            /// Any JSON value; the key checks its shape.
            case json
        }
        var name: String
        var kind: Kind
        var summary: String
        var apply: @Sendable (inout JobRunnerConfiguration, Any) throws(ConfigurationError) -> Void
    }

    /// Every key, in README order.
    static let keys: [Key] = [
        Key(name: "instance", kind: .string, summary: "name of this manager, recorded in every job") {
            c,
            v throws(ConfigurationError) in
            c.instance = try nonEmpty(try value(v, as: String.self), "instance")
        },
        Key(name: "listen.host", kind: .string, summary: "address to listen on") { c, v throws(ConfigurationError) in
            c.http.host = try value(v, as: String.self)
        },
        Key(name: "listen.port", kind: .int, summary: "TCP port; 0 picks a free one") {
            c,
            v throws(ConfigurationError) in
            c.http.port = try within(try value(v, as: Int.self), 0...65_535, "listen.port")
        },
        Key(name: "stateDirectory", kind: .string, summary: "journal, snapshots, logs, exit records") {
            c,
            v throws(ConfigurationError) in
            c.stateDirectory = try nonEmpty(try value(v, as: String.self), "stateDirectory")
        },
        Key(
            name: "runDirectory",
            kind: .optionalString,
            summary: "run files of running jobs (pid, exit record); null = /dev/shm/jobrunner-HASH, else STATE/run"
        ) { c, v throws(ConfigurationError) in
            if let path = v as? String, path.isEmpty {
                throw ConfigurationError(key: "runDirectory", "must be a path or null")
            }
            c.runDirectory = v as? String
        },
        Key(name: "log.level", kind: .string, summary: "trace, debug, info, notice, warning, error, critical") {
            c,
            v throws(ConfigurationError) in
            let level = try value(v, as: String.self)
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level) else {
                throw ConfigurationError(
                    key: "log.level",
                    "must be one of trace, debug, info, notice, warning, error, critical, not '\(level)'"
                )
            }
            c.logLevel = level
        },
        Key(name: "http.maxBodyBytes", kind: .int, summary: "largest request body accepted (413 beyond)") {
            c,
            v throws(ConfigurationError) in
            c.http.maxBodyBytes = try within(try value(v, as: Int.self), 1_024...(64 << 20), "http.maxBodyBytes")
        },
        Key(
            name: "http.headerTimeoutSeconds",
            kind: .double,
            summary: "a new connection's request head must arrive within it (slow clients are closed)"
        ) { c, v throws(ConfigurationError) in
            c.http.headerTimeoutSeconds = try within(
                try value(v, as: Double.self),
                0.1...3_600,
                "http.headerTimeoutSeconds"
            )
        },
        Key(
            name: "http.bodyTimeoutSeconds",
            kind: .double,
            summary: "a request's body must arrive within it of its head"
        ) { c, v throws(ConfigurationError) in
            c.http.bodyTimeoutSeconds = try within(
                try value(v, as: Double.self),
                0.1...3_600,
                "http.bodyTimeoutSeconds"
            )
        },
        Key(
            name: "http.idleTimeoutSeconds",
            kind: .double,
            summary: "how long a keep-alive connection waits for its next request"
        ) { c, v throws(ConfigurationError) in
            c.http.idleTimeoutSeconds = try within(
                try value(v, as: Double.self),
                0.1...86_400,
                "http.idleTimeoutSeconds"
            )
        },
        Key(
            name: "http.maxConnections",
            kind: .int,
            summary: "open connections at most; beyond it the oldest idle ones are closed"
        ) { c, v throws(ConfigurationError) in
            c.http.maxConnections = try within(try value(v, as: Int.self), 1...1_000_000, "http.maxConnections")
        },
        Key(name: "snapshot.intervalSeconds", kind: .double, summary: "seconds between snapshots") {
            c,
            v throws(ConfigurationError) in
            c.snapshot.intervalSeconds = try positive(try value(v, as: Double.self), "snapshot.intervalSeconds")
        },
        Key(name: "snapshot.keep", kind: .int, summary: "newest snapshots kept") { c, v throws(ConfigurationError) in
            c.snapshot.keep = try within(try value(v, as: Int.self), 1...1_000, "snapshot.keep")
        },
        Key(name: "monitor.sampleIntervalSeconds", kind: .double, summary: "seconds between /proc samples") {
            c,
            v throws(ConfigurationError) in
            c.monitor.sampleIntervalSeconds = try within(
                try value(v, as: Double.self),
                0.05...3_600,
                "monitor.sampleIntervalSeconds"
            )
        },
        Key(name: "monitor.rollingWindowSeconds", kind: .double, summary: "window of the I/O and network peak rates") {
            c,
            v throws(ConfigurationError) in
            c.monitor.rollingWindowSeconds = try positive(try value(v, as: Double.self), "monitor.rollingWindowSeconds")
        },
        Key(
            name: "monitor.leakMinSlopeBytesPerSecond",
            kind: .double,
            summary: "RSS slope from which a job is a leak suspect"
        ) { c, v throws(ConfigurationError) in
            c.monitor.leakMinSlopeBytesPerSecond = try positive(
                try value(v, as: Double.self),
                "monitor.leakMinSlopeBytesPerSecond"
            )
        },
        Key(name: "monitor.leakMinR2", kind: .double, summary: "fit (R²) the RSS trend needs to be a leak suspect") {
            c,
            v throws(ConfigurationError) in
            c.monitor.leakMinR2 = try within(try value(v, as: Double.self), 0...1, "monitor.leakMinR2")
        },
        Key(
            name: "jobs.maxConcurrent",
            kind: .optionalInt,
            summary: "running jobs at most; null = no limit; beyond it jobs wait as pending"
        ) { c, v throws(ConfigurationError) in
            if let n = v as? Int {
                c.jobs.maxConcurrent = try within(n, 1...1_000_000, "jobs.maxConcurrent")
            } else {
                c.jobs.maxConcurrent = nil
            }
        },
        Key(name: "jobs.defaultRetries", kind: .int, summary: "retries of a job whose request gives none") {
            c,
            v throws(ConfigurationError) in
            c.jobs.defaultRetries = try within(try value(v, as: Int.self), 0...100, "jobs.defaultRetries")
        },
        Key(name: "jobs.maxRetries", kind: .int, summary: "most retries a request may ask for") {
            c,
            v throws(ConfigurationError) in
            c.jobs.maxRetries = try within(try value(v, as: Int.self), 0...100, "jobs.maxRetries")
        },
        Key(name: "jobs.retryDelaySeconds", kind: .double, summary: "first retry delay; doubles with each attempt") {
            c,
            v throws(ConfigurationError) in
            c.jobs.retryDelaySeconds = try within(try value(v, as: Double.self), 0...86_400, "jobs.retryDelaySeconds")
        },
        Key(name: "jobs.maxRetryDelaySeconds", kind: .double, summary: "cap of the retry delay") {
            c,
            v throws(ConfigurationError) in
            c.jobs.maxRetryDelaySeconds = try within(
                try value(v, as: Double.self),
                0...86_400,
                "jobs.maxRetryDelaySeconds"
            )
        },
        Key(name: "jobs.noRetryExitCodes", kind: .intList, summary: "exit codes never retried") {
            c,
            v throws(ConfigurationError) in
            c.jobs.noRetryExitCodes = try value(v, as: [Int].self)
        },
        Key(
            name: "jobs.killGraceSeconds",
            kind: .double,
            summary: "SIGTERM to SIGKILL delay on timeout, memory limit, cancel"
        ) { c, v throws(ConfigurationError) in
            c.jobs.killGraceSeconds = try within(try value(v, as: Double.self), 0...3_600, "jobs.killGraceSeconds")
        },
        Key(name: "jobs.maxTimeoutSeconds", kind: .double, summary: "largest timeoutSeconds a request may ask for") {
            c,
            v throws(ConfigurationError) in
            c.jobs.maxTimeoutSeconds = try positive(try value(v, as: Double.self), "jobs.maxTimeoutSeconds")
        },
        Key(
            name: "jobs.baseEnvironment",
            kind: .stringMap,
            summary: "environment every job starts from (the request's env is added)"
        ) { c, v throws(ConfigurationError) in
            c.jobs.baseEnvironment = try value(v, as: [String: String].self)
        },
        Key(
            name: "jobs.shimPath",
            kind: .optionalString,
            summary: "path of jobshim; null = next to the jobrunner binary"
        ) { c, v in
            c.jobs.shimPath = v as? String
        },
        Key(
            name: "jobs.allowedCommands",
            kind: .optionalStringList,
            summary: "absolute paths or globs command[0] must match (403 otherwise); null = any"
        ) { c, v throws(ConfigurationError) in
            guard let list = v as? [String] else {
                c.jobs.allowedCommands = nil
                return
            }
            for pattern in list where !pattern.hasPrefix("/") {
                throw ConfigurationError(
                    key: "jobs.allowedCommands",
                    "entries must be absolute paths or globs, not '\(pattern)'"
                )
            }
            c.jobs.allowedCommands = list
        },
        Key(
            name: "jobs.runAsUser",
            kind: .optionalString,
            summary:
                "user (name or uid) jobs run as, with its groups; needs the service to run as root; null = the service's user"
        ) { c, v throws(ConfigurationError) in
            if let name = v as? String, name.isEmpty {
                throw ConfigurationError(key: "jobs.runAsUser", "must be a user name or uid, or null")
            }
            c.jobs.runAsUser = v as? String
        },
        Key(
            name: "jobs.maxLogBytes",
            kind: .optionalInt,
            summary: "bytes kept of each job's stdout and stderr (the newest; a note marks the cut); null = unlimited"
        ) { c, v throws(ConfigurationError) in
            if let n = v as? Int {
                c.jobs.maxLogBytes = try within(n, 4_096...(1 << 50), "jobs.maxLogBytes")
            } else {
                c.jobs.maxLogBytes = nil
            }
        },
        Key(
            name: "jobs.errorTailBytes",
            kind: .int,
            summary:
                "the last bytes of stderr kept in the record of a job that did not succeed (errorTail, errorSignature); 0 = none"
        ) { c, v throws(ConfigurationError) in
            c.jobs.errorTailBytes = try within(try value(v, as: Int.self), 0...(1 << 20), "jobs.errorTailBytes")
        },
        Key(
            name: "jobs.leftoverProcesses",
            kind: .string,
            summary:
                "descendants left when the job's process exits: kill (SIGTERM, grace, SIGKILL) or wait (the job ends with the last)"
        ) { c, v throws(ConfigurationError) in
            guard let policy = LeftoverPolicy(rawValue: try value(v, as: String.self)) else {
                throw ConfigurationError(key: "jobs.leftoverProcesses", "must be kill or wait, not '\(v)'")
            }
            c.jobs.leftoverProcesses = policy
        },
        Key(
            name: "jobs.cgroups",
            kind: .string,
            summary:
                "one cgroup v2 group per job (cgroup.kill, memory.peak, memory.max, OOM kills): auto (where delegated), off, or required (no start without)"
        ) { c, v throws(ConfigurationError) in
            guard let text = v as? String, let mode = CgroupMode(rawValue: text) else {
                throw ConfigurationError(key: "jobs.cgroups", "must be auto, off or required, not '\(v)'")
            }
            c.jobs.cgroups = mode
        },
        Key(
            name: "jobs.cgroupPath",
            kind: .optionalString,
            summary:
                "cgroup v2 directory (under its mount, writable) the jobs' groups go in; null = the service's own group when delegated"
        ) { c, v throws(ConfigurationError) in
            if let path = v as? String, !path.hasPrefix("/") {
                throw ConfigurationError(key: "jobs.cgroupPath", "must be an absolute path, not '\(path)'")
            }
            c.jobs.cgroupPath = v as? String
        },
        Key(
            name: "jobs.idempotencyWindowSeconds",
            kind: .double,
            summary: "seconds an Idempotency-Key of POST /v1/jobs answers the job it created (same token, same body)"
        ) { c, v throws(ConfigurationError) in
            c.jobs.idempotencyWindowSeconds = try within(
                try value(v, as: Double.self),
                1...(366 * 86_400),
                "jobs.idempotencyWindowSeconds"
            )
        },
        Key(
            name: "queues",
            kind: .json,
            summary:
                "launch queues: {\"NAME\": {\"maxConcurrent\": N or null}}; `default` always exists; jobs.maxConcurrent caps them all"
        ) { c, v throws(ConfigurationError) in
            guard let object = v as? [String: Any] else {
                throw ConfigurationError(
                    key: "queues",
                    "must be an object of {\"maxConcurrent\": N or null} by queue name"
                )
            }
            var queues: [String: Int?] = [:]
            for (name, value) in object {
                guard Job.isValidName(name) else {
                    throw ConfigurationError(
                        key: "queues",
                        "queue name '\(name)' must be 1-128 characters of A-Z a-z 0-9 . _ : -"
                    )
                }
                guard let settings = value as? [String: Any] else {
                    throw ConfigurationError(key: "queues.\(name)", "must be an object such as {\"maxConcurrent\": 2}")
                }
                if let unknown = settings.keys.first(where: { $0 != "maxConcurrent" }) {
                    throw ConfigurationError(key: "queues.\(name).\(unknown)", "is unknown; a queue has maxConcurrent")
                }
                switch settings["maxConcurrent"] {
                case nil, is NSNull:
                    queues[name] = .some(nil)
                case let n as NSNumber where !isJSONBool(n) && Int(exactly: n.doubleValue) != nil:
                    queues[name] = try within(
                        Int(exactly: n.doubleValue)!,
                        1...1_000_000,
                        "queues.\(name).maxConcurrent"
                    )
                default:
                    throw ConfigurationError(key: "queues.\(name).maxConcurrent", "must be an integer or null")
                }
            }
            c.jobs.queues = queues
        },
        Key(
            name: "notify.webhooks",
            kind: .json,
            summary:
                "receivers: [{\"url\", \"events\": [jobFailedFinally, jobSucceeded, jobSkipped, jobCancelled, queueDrained], \"secret\"}]; signed X-Jobrunner-Signature: sha256=HMAC"
        ) { c, v throws(ConfigurationError) in
            guard let list = v as? [Any] else {
                throw ConfigurationError(key: "notify.webhooks", "must be a list of {url, events, secret}")
            }
            var hooks: [WebhookConfiguration] = []
            for (i, item) in list.enumerated() {
                let key = "notify.webhooks[\(i)]"
                guard let object = item as? [String: Any] else {
                    throw ConfigurationError(key: key, "must be an object {url, events, secret}")
                }
                if let unknown = object.keys.sorted().first(where: { !["url", "events", "secret"].contains($0) }) {
                    throw ConfigurationError(key: "\(key).\(unknown)", "is unknown; a webhook has url, events, secret")
                }
                guard let url = object["url"] as? String, let parsed = URL(string: url),
                    parsed.scheme == "http" || parsed.scheme == "https", parsed.host != nil
                else {
                    throw ConfigurationError(key: "\(key).url", "must be an http:// or https:// URL")
                }
                guard let names = object["events"] as? [String], !names.isEmpty else {
                    throw ConfigurationError(
                        key: "\(key).events",
                        "must be a non-empty list of \(NotifyEvent.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                var events: Set<NotifyEvent> = []
                for name in names {
                    guard let event = NotifyEvent(rawValue: name) else {
                        throw ConfigurationError(
                            key: "\(key).events",
                            "'\(name)' is not one of \(NotifyEvent.allCases.map(\.rawValue).joined(separator: ", "))"
                        )
                    }
                    events.insert(event)
                }
                var secret: String?
                switch object["secret"] {
                case nil, is NSNull: secret = nil
                case let text as String where !text.isEmpty: secret = text
                default: throw ConfigurationError(key: "\(key).secret", "must be a non-empty string or null")
                }
                hooks.append(WebhookConfiguration(url: url, events: events, secret: secret))
            }
            c.notify.webhooks = hooks
        },
        Key(
            name: "notify.maxAgeSeconds",
            kind: .double,
            summary: "a webhook message not delivered after this long is dropped (audited webhookDropped)"
        ) { c, v throws(ConfigurationError) in
            c.notify.maxAgeSeconds = try within(
                try value(v, as: Double.self),
                60...(366 * 86_400),
                "notify.maxAgeSeconds"
            )
        },
        Key(name: "notify.timeoutSeconds", kind: .double, summary: "seconds a webhook receiver has to answer") {
            c,
            v throws(ConfigurationError) in
            c.notify.timeoutSeconds = try within(try value(v, as: Double.self), 0.1...300, "notify.timeoutSeconds")
        },
        Key(
            name: "security.allowedClients",
            kind: .optionalStringList,
            summary: "CIDR networks (IPv4, IPv6) allowed to call the API, others get 403; null = any"
        ) { c, v throws(ConfigurationError) in
            guard let list = v as? [String] else {
                c.security.allowedClients = nil
                return
            }
            for entry in list where IPNetwork(entry) == nil {
                throw ConfigurationError(
                    key: "security.allowedClients",
                    "entries must be addresses or CIDR networks such as 10.0.0.0/8 or ::1/128, not '\(entry)'"
                )
            }
            c.security.allowedClients = list
        },
        Key(
            name: "security.tokensFile",
            kind: .optionalString,
            summary: "bearer tokens file (`jobrunner token add`); null = no tokens needed"
        ) { c, v in
            c.security.tokensFile = v as? String
        },
        Key(
            name: "patterns.file",
            kind: .optionalString,
            summary:
                "a JSON file of pattern rules that GET /v1/stats runs after the built-in patterns (as jobstats --patterns)"
        ) { c, v throws(ConfigurationError) in
            if let path = v as? String, path.isEmpty {
                throw ConfigurationError(key: "patterns.file", "must be a path or null")
            }
            c.patterns.file = v as? String
        },
        Key(name: "audit.file", kind: .optionalString, summary: "audit log (JSON Lines); null = STATE/audit.jsonl") {
            c,
            v in
            c.audit.file = v as? String
        },
        Key(name: "audit.maxBytes", kind: .int, summary: "size at which the audit log is rotated to FILE.1 … FILE.N") {
            c,
            v throws(ConfigurationError) in
            c.audit.maxBytes = try within(try value(v, as: Int.self), 4_096...(1 << 40), "audit.maxBytes")
        },
        Key(name: "audit.keep", kind: .int, summary: "rotated audit files kept") { c, v throws(ConfigurationError) in
            c.audit.keep = try within(try value(v, as: Int.self), 0...1_000, "audit.keep")
        },
        Key(
            name: "watchdog.intervalSeconds",
            kind: .double,
            summary: "seconds between health checks of `jobrunner start`"
        ) {
            c,
            v throws(ConfigurationError) in
            c.watchdog.intervalSeconds = try within(
                try value(v, as: Double.self),
                0.1...3_600,
                "watchdog.intervalSeconds"
            )
        },
        Key(
            name: "watchdog.failuresBeforeRestart",
            kind: .int,
            summary:
                "with intervalSeconds: a server whose last check failed and that answered none for interval x this is hung (killed, restarted)"
        ) {
            c,
            v throws(ConfigurationError) in
            c.watchdog.failuresBeforeRestart = try within(
                try value(v, as: Int.self),
                1...1_000,
                "watchdog.failuresBeforeRestart"
            )
        },
        Key(
            name: "watchdog.maxRestartsPerMinute",
            kind: .int,
            summary: "restarts in the last minute beyond which the watchdog gives up"
        ) {
            c,
            v throws(ConfigurationError) in
            c.watchdog.maxRestartsPerMinute = try within(
                try value(v, as: Int.self),
                1...1_000,
                "watchdog.maxRestartsPerMinute"
            )
        },
    ]

    /// The value of a key's kind (the loader converted it to that kind before `apply`); a
    /// mismatch would be a bug in this file, reported as an error rather than a crash.
    private static func value<T>(_ v: Any, as type: T.Type) throws(ConfigurationError) -> T {
        guard let typed = v as? T else {
            throw ConfigurationError(
                key: nil,
                "internal error: \(Swift.type(of: v)) given where \(T.self) was expected"
            )
        }
        return typed
    }

    private static func nonEmpty(_ v: String, _ key: String) throws(ConfigurationError) -> String {
        if v.isEmpty { throw ConfigurationError(key: key, "must not be empty") }
        return v
    }

    private static func within<T: Comparable>(
        _ v: T,
        _ range: ClosedRange<T>,
        _ key: String
    ) throws(ConfigurationError) -> T {
        if !range.contains(v) {
            throw ConfigurationError(key: key, "must be between \(range.lowerBound) and \(range.upperBound), not \(v)")
        }
        return v
    }

    private static func positive(_ v: Double, _ key: String) throws(ConfigurationError) -> Double {
        if !(v > 0) || !v.isFinite { throw ConfigurationError(key: key, "must be a number above 0, not \(v)") }
        return v
    }

    /// The environment variable of a key: `jobs.maxConcurrent` → `JOBRUNNER_JOBS_MAX_CONCURRENT`.
    static func environmentName(_ key: String) -> String {
        var out = "JOBRUNNER_"
        for c in key {
            if c == "." {
                out.append("_")
            } else if c.isUppercase {
                out.append("_")
                out.append(c)
            } else {
                out.append(contentsOf: c.uppercased())
            }
        }
        return out
    }
}

/// A configuration key or value is wrong: start-up stops with this message.
struct ConfigurationError: Error, CustomStringConvertible {
    var key: String?
    var message: String

    init(key: String?, _ message: String) {
        self.key = key
        self.message = message
    }

    var description: String { key.map { "configuration key '\($0)' \(message)" } ?? message }
}

/// `listen.*` and `http.*`.
struct HTTPConfiguration: Sendable {
    var host = "127.0.0.1"
    var port = 8080
    var maxBodyBytes = 1 << 20
    /// `http.headerTimeoutSeconds`: a new connection's first request head must come within it.
    var headerTimeoutSeconds = 10.0
    /// `http.bodyTimeoutSeconds`: a request's body must come within it of its head.
    var bodyTimeoutSeconds = 30.0
    /// `http.idleTimeoutSeconds`: a keep-alive connection waits this long for its next request.
    var idleTimeoutSeconds = 60.0
    /// `http.maxConnections`: open connections at most; the oldest idle ones make room.
    var maxConnections = 4_096
}

/// `snapshot.*`.
struct SnapshotConfiguration: Sendable {
    var intervalSeconds = 300.0
    var keep = 3
}

/// `monitor.*`.
struct MonitorConfiguration: Sendable {
    var sampleIntervalSeconds = 1.0
    var rollingWindowSeconds = 10.0
    var leakMinSlopeBytesPerSecond = 65_536.0
    var leakMinR2 = 0.8
}

/// `jobs.*`.
struct JobsConfiguration: Sendable {
    var maxConcurrent: Int? = nil
    var defaultRetries = 1
    var maxRetries = 5
    var retryDelaySeconds = 1.0
    var maxRetryDelaySeconds = 300.0
    var noRetryExitCodes: [Int] = []
    var killGraceSeconds = 5.0
    var maxTimeoutSeconds = 7 * 86_400.0
    var baseEnvironment: [String: String] = ["PATH": "/usr/local/bin:/usr/bin:/bin"]
    var shimPath: String? = nil
    /// Absolute paths or globs `command[0]` must match; `nil` allows any command.
    var allowedCommands: [String]? = nil
    /// `jobs.runAsUser`: the user (name or uid) jobs run as; the service must be root.
    var runAsUser: String? = nil
    /// `jobs.maxLogBytes`: each of a job's stdout and stderr files keeps at most this many
    /// bytes (the newest); `nil` = unlimited.
    var maxLogBytes: Int? = 64 << 20
    /// `jobs.errorTailBytes`: the last bytes of stderr a record of a job that did not
    /// succeed keeps (`errorTail`, and `errorSignature` from it); 0 = none.
    var errorTailBytes = 4_096
    /// `jobs.leftoverProcesses`: what happens to descendants still running when the job's
    /// own process exits.
    var leftoverProcesses = LeftoverPolicy.kill
    /// `jobs.cgroups`: one cgroup v2 group per job where the host delegates a subtree.
    var cgroups = CgroupMode.auto
    /// `jobs.cgroupPath`: the cgroup v2 directory the jobs' groups go in; `nil` = the
    /// service's own group (systemd `Delegate=yes`).
    var cgroupPath: String? = nil
    /// `jobs.idempotencyWindowSeconds`: how long an `Idempotency-Key` answers its first job.
    var idempotencyWindowSeconds = 86_400.0
    /// `queues`: launch queues by name and their `maxConcurrent` (`nil` = no cap of their
    /// own); `default` exists whether listed or not.
    var queues: [String: Int?] = [:]

    /// Whether `name` is a queue jobs may be sent to.
    func hasQueue(_ name: String) -> Bool { name == LaunchQueues.defaultName || queues[name] != nil }
}

/// `security.*`.
struct SecurityConfiguration: Sendable {
    /// CIDR networks whose peers may call the API (`nil` = any peer).
    var allowedClients: [String]? = ["127.0.0.0/8", "::1/128"]
    /// The tokens file; when set every call but the health check needs a bearer token.
    var tokensFile: String? = nil
}

/// `patterns.*`.
struct PatternsConfiguration: Sendable {
    /// Pattern rules (`PatternRule`), read when the service starts.
    var file: String? = nil

    /// The rules of ``file``; a file that cannot be used stops the start (exit 78).
    func rules() throws(ConfigurationError) -> [PatternRule] {
        guard let file else { return [] }
        do {
            return try PatternRule.load(path: file)
        } catch {
            throw ConfigurationError(key: "patterns.file", "cannot be used: \(error.message)")
        }
    }
}

/// `audit.*`.
struct AuditConfiguration: Sendable {
    var file: String? = nil
    var maxBytes = 64 << 20
    var keep = 5
}

/// `watchdog.*`.
struct WatchdogConfiguration: Sendable {
    var intervalSeconds = 1.0
    var failuresBeforeRestart = 3
    var maxRestartsPerMinute = 10
}
