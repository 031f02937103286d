import CSystemSupport
import Foundation
import HTTPTypes
import Hummingbird
import JobModel
import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Builds the service: takes the state directory's lock, checks that the listening port
/// can be bound, recovers the history, then wires the supervisor, the journal, the
/// snapshots and the HTTP API. `routes` receives every route the router serves.
///
/// Nothing in the state directory is read or written before the lock is held and the port
/// is known to be free: a manager that cannot serve changes nothing.
func buildApplication(
    configuration: JobRunnerConfiguration,
    logger: Logger,
    routes: (([String]) -> Void)? = nil
) async throws -> some ApplicationProtocol {
    let state = configuration.stateDirectory
    try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
    let lock = try StateLock.acquire(state: state, name: "server")
    try checkBindable(host: configuration.http.host, port: configuration.http.port)
    let descriptorLimit = DescriptorBudget.shared.raiseLimit()
    DescriptorBudget.shared.recount()
    var tokens: TokenAuthority?
    if let path = configuration.security.tokensFile {
        do {
            tokens = try TokenAuthority(path: path)
        } catch {
            throw ConfigurationError(key: "security.tokensFile", "cannot be used: \(error)")
        }
    }
    let runAs = try configuration.jobs.runAsUser.map { try RunAsUser.resolve($0) }
    for sub in ["journal", "snapshots", "logs", "run", "specs"] {
        try FileManager.default.createDirectory(atPath: "\(state)/\(sub)", withIntermediateDirectories: true)
    }
    let runDirectory = configuration.effectiveRunDirectory
    do {
        try FileManager.default.createDirectory(
            atPath: runDirectory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
    } catch {
        throw ConfigurationError(key: "runDirectory", "cannot be created: \(error.localizedDescription)")
    }
    let shim = try ShimLauncher.locateShim(configured: configuration.jobs.shimPath)
    let cgroups = try jobCgroups(configuration, logger: logger)
    let audit = AuditLog(
        path: configuration.auditPath,
        maxBytes: configuration.audit.maxBytes,
        keep: configuration.audit.keep
    )
    audit.record(
        "managerStarted",
        [
            "version": ProductVersion.current, "pid": Int(getpid()),
            "configDigest": configurationDigest(configuration),
            "listen": "\(configuration.http.host):\(configuration.http.port)",
            "runDirectory": runDirectory, "descriptorLimit": descriptorLimit,
            "containment": cgroups?.summary ?? "proc",
        ]
    )
    // A version other than the one that ran last on this state directory: an upgrade (or
    // a downgrade), audited from → to.
    let versionFile = "\(state)/jobrunner.version"
    let previousVersion = (try? String(contentsOfFile: versionFile, encoding: .utf8))?
        .trimmingCharacters(in: .whitespacesAndNewlines)
    if let previousVersion, !previousVersion.isEmpty, previousVersion != ProductVersion.current {
        audit.record("versionChanged", ["from": previousVersion, "to": ProductVersion.current])
        logger.notice("Version changed", metadata: ["from": "\(previousVersion)", "to": "\(ProductVersion.current)"])
    }
    if previousVersion != ProductVersion.current {
        try? OutputFile.write(Array((ProductVersion.current + "\n").utf8), toAtomicPath: versionFile)
    }
    // Temporary files of snapshots cut short by a crash.
    for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(state)/snapshots")) ?? []
    where name.contains(".jrsnap.tmp-") {
        unlink("\(state)/snapshots/\(name)")
    }
    let started = ContinuousClock.now
    let snapshot = SnapshotService.loadNewest(directory: "\(state)/snapshots", logger: logger)
    let replay = Journal.replay(directory: "\(state)/journal")
    let events = EventHub()
    let journal = try Journal(
        directory: "\(state)/journal",
        onSync: {
            audit.sync()
            events.publishStaged()  // the changes this sync made durable
        },
        onHealthChange: { error in
            if let error {
                audit.record("journalFailed", ["error": error])
                logger.critical(
                    "Journal cannot be written; new jobs are refused (503)",
                    metadata: ["error": "\(error)"]
                )
            } else {
                audit.record("journalRecovered")
                logger.notice("Journal writable again; accepting jobs")
            }
        },
        onTick: { audit.flush() }
    )
    let reaper = Reaper()
    let supervisor = JobSupervisor(
        settings: configuration.jobs,
        instance: configuration.instance,
        stateDirectory: state,
        runDirectory: runDirectory,
        launcher: ShimLauncher(
            shimPath: shim,
            stateDirectory: state,
            runDirectory: runDirectory,
            maxLogBytes: configuration.jobs.maxLogBytes,
            runAs: runAs,
            killGraceSeconds: configuration.jobs.killGraceSeconds,
            leftovers: configuration.jobs.leftoverProcesses,
            cgroups: cgroups
        ),
        journal: journal,
        reaper: reaper,
        logger: logger,
        webhooks: configuration.notify.webhooks,
        events: events
    )
    let counts = await supervisor.recover(
        snapshot: snapshot,
        journaled: replay.records,
        idempotency: IdempotencyEntry.load(state: state) + replay.idempotency,
        outbox: (OutboxEntry.load(state: state), replay.outbox),
        schedules: try loadSchedules(state: state),
        events: recoveredEvents(state: state, journal: replay)
    )
    audit.record(
        "recovered",
        [
            "snapshotJobs": snapshot?.count ?? 0, "journalRecords": replay.records.count,
            "journalTornLines": replay.torn,
            "pending": counts.pending, "finished": counts.finished, "adopted": counts.adopted, "lost": counts.lost,
            "durationMs": milliseconds(ContinuousClock.now - started),
        ]
    )
    logger.notice(
        "Recovered",
        metadata: [
            "snapshot.jobs": "\(snapshot?.count ?? 0)", "journal.records": "\(replay.records.count)",
            "journal.tornLines": "\(replay.torn)", "pending": "\(counts.pending)", "finished": "\(counts.finished)",
            "adopted": "\(counts.adopted)", "lost": "\(counts.lost)", "duration": "\(ContinuousClock.now - started)",
        ]
    )

    let router = try buildRouter(
        service: supervisor,
        configuration: configuration,
        audit: audit,
        tokens: tokens,
        events: events
    )
    routes?(router.routes.map { "\($0.method) \($0.path)" })

    let addressFile = "\(state)/jobrunner.addr"
    let connections = ConnectionRegistry()
    let guardSettings = ConnectionGuard.Settings(
        headerTimeout: .nanoseconds(Int64(configuration.http.headerTimeoutSeconds * 1e9)),
        bodyTimeout: .nanoseconds(Int64(configuration.http.bodyTimeoutSeconds * 1e9)),
        idleTimeout: .nanoseconds(Int64(configuration.http.idleTimeoutSeconds * 1e9)),
        maxConnections: configuration.http.maxConnections
    )
    return Application(
        router: router,
        server: .http1(
            configuration: .init(
                additionalChannelHandlers: [ConnectionGuard(settings: guardSettings, registry: connections)]
            )
        ),
        configuration: .init(
            address: .hostname(configuration.http.host, port: configuration.http.port),
            serverName: nil,
            backlog: 1_024,
            reuseAddress: true
        ),
        services: [
            DescriptorBudgetService(),
            journal,
            SupervisorService(supervisor: supervisor, reaper: reaper, monitor: configuration.monitor, logger: logger),
            EventService(supervisor: supervisor, hub: events),
            WebhookService(supervisor: supervisor, settings: configuration.notify, audit: audit, logger: logger),
            SnapshotService(
                supervisor: supervisor,
                journal: journal,
                audit: audit,
                settings: configuration.snapshot,
                stateDirectory: configuration.stateDirectory,
                instance: configuration.instance,
                logger: logger
            ),
        ],
        onServerRunning: { channel in
            withExtendedLifetime(lock) {}  // held for the process's life
            let port = channel.localAddress?.port ?? configuration.http.port
            try? OutputFile.write(Array("\(getpid())\n".utf8), toAtomicPath: "\(state)/jobrunner.pid", sync: false)
            let address = "\(configuration.http.host):\(port)\n"
            try? OutputFile.write(Array(address.utf8), toAtomicPath: addressFile, sync: false)
            logger.notice(
                "Listening",
                metadata: ["address": "\(configuration.http.host):\(port)", "version": "\(ProductVersion.current)"]
            )
        },
        logger: logger
    )
}

/// Throws when `host`:`port` cannot be bound now (in use, not an address of this host, no
/// permission), before anything is recovered. A socket bound with SO_REUSEADDR and
/// closed without listening leaves the port free at once for the server's own bind.
func checkBindable(host: String, port: Int) throws {
    guard port != 0 else { return }  // any free port will do
    let rc = csys_check_bindable(host, Int32(port))
    guard rc == 0 else {
        throw ListenError(message: "cannot listen on \(host):\(port): \(String(cString: strerror(rc)))")
    }
}

/// The listening address cannot be bound: start-up stops before recovery (exit 75).
struct ListenError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// `STATE/schedules.json`; one that cannot be read stops the start (exit 78) rather than
/// silently dropping every schedule.
private func loadSchedules(state: String) throws -> ScheduleFile.Contents {
    do {
        return try ScheduleFile.load(state: state)
    } catch {
        throw ConfigurationError(
            key: nil,
            "\(ScheduleFile.path(state: state)) cannot be read (\(error)); fix or move it away to start without schedules"
        )
    }
}

/// The events of the last cut (``EventFile``) followed by the journal's newer ones, and
/// the last sequence number used.
private func recoveredEvents(state: String, journal: Journal.Replay) -> (lastSeq: Int, events: [ServerEvent]) {
    let saved = EventFile.load(state: state)
    let newer = journal.events.filter { ($0.seq ?? 0) > saved.lastSeq }
    let events = Array((saved.events + newer).suffix(EventHub.defaultReplayCapacity))
    return (max(saved.lastSeq, journal.lastEventSeq), events)
}

/// Milliseconds of a duration, to 0.001.
func milliseconds(_ d: Duration) -> Double {
    ((Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15) * 1000).rounded() / 1000
}

/// A digest of the effective configuration (FNV-1a 64 of its settings in a fixed order,
/// maps sorted), for the audit log: the same configuration gives the same digest.
func configurationDigest(_ configuration: JobRunnerConfiguration) -> String {
    var text = ""
    for child in Mirror(reflecting: configuration).children {
        let value = (child.value as? [String: String]).map { "\($0.sorted { $0.key < $1.key })" } ?? "\(child.value)"
        text += "\(child.label ?? "")=\(value)\n"
    }
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
        hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
    }
    return "fnv1a64:" + String(hash, radix: 16)
}

/// The HTTP API over `service`: access control, errors and audit (``APIMiddleware``),
/// metrics, then the routes of the controllers. The service builds it over its
/// ``JobSupervisor``; the router tests over an in-memory service.
func buildRouter(
    service: some JobService,
    configuration: JobRunnerConfiguration,
    audit: AuditLog,
    tokens: TokenAuthority?,
    events: EventHub = EventHub()
) throws -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(
        middleware: APIMiddleware(
            audit: audit,
            clients: ClientAllowList(networks: configuration.security.allowedClients?.compactMap(IPNetwork.init)),
            tokens: tokens
        )
    )
    router.add(middleware: MetricsMiddleware())
    JobsController(
        supervisor: service,
        jobs: configuration.jobs,
        maxBodyBytes: configuration.http.maxBodyBytes,
        stateDirectory: configuration.stateDirectory
    ).addRoutes(to: router)
    SystemController(supervisor: service, rules: try configuration.patterns.rules()).addRoutes(to: router)
    EventsController(hub: events).addRoutes(to: router)
    LivePageController().addRoutes(to: router)
    QueuesController(supervisor: service, audit: audit).addRoutes(to: router)
    SchedulesController(
        supervisor: service,
        jobs: configuration.jobs,
        maxBodyBytes: configuration.http.maxBodyBytes
    ).addRoutes(to: router)
    try router.validate()
    return router
}

/// Access control, errors and audit, for every call:
/// - a peer outside `security.allowedClients` gets 403 before its body is read;
/// - with `security.tokensFile`, every call but the open ones (health, the OpenAPI
///   document, the live page's HTML, which holds no data) needs `Authorization: Bearer
///   TOKEN` whose scope covers it (GET: `read`,
///   POST: `launch`): 401 without a valid token, 403 when its scope does not cover the call;
/// - every error becomes `{"error": {"code", "message"}}`;
/// - every response carries `X-Jobrunner-Version`;
/// - one audit line per call (client, token id, method, path, status, job id, latency) is
///   written before the response goes out.
struct APIMiddleware: RouterMiddleware {
    let audit: AuditLog
    let clients: ClientAllowList
    let tokens: TokenAuthority?

    static let versionHeader = HTTPField.Name("X-Jobrunner-Version")!
    static let openPaths: Set<String> = ["/v1/health", "/healthCheck", "/openapi.yaml", "/"]

    func handle(
        _ request: Request,
        context: AppRequestContext,
        next: (Request, AppRequestContext) async throws -> Response
    ) async throws -> Response {
        let started = ContinuousClock.now
        // The peer's address as text, worked out once (allow-list and audit line).
        let client = context.remoteAddress?.ipAddress
        var context = context
        var response: Response
        do {
            try authorize(request, client: client, &context)
            response = try await next(request, context)
        } catch let error as APIError {
            response = APIError.response(status: error.status, code: error.code, message: error.message)
            if error.status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer realm=\"jobrunner\"" }
        } catch let error as HTTPError {
            let code: String
            switch error.status {
            case .notFound: code = "notFound"
            case .methodNotAllowed: code = "methodNotAllowed"
            case .contentTooLarge: code = "payloadTooLarge"
            case .badRequest: code = "invalidRequest"
            default: code = "error"
            }
            let message =
                error.body
                ?? (error.status == .notFound
                    ? "no route for \(request.method) \(request.uri.path)" : error.status.reasonPhrase)
            response = APIError.response(status: error.status, code: code, message: message)
        } catch {
            context.logger.error("Request failed", metadata: ["error": "\(error)"])
            response = APIError.response(status: .internalServerError, code: "internal", message: "internal error")
        }
        response.headers[Self.versionHeader] = ProductVersion.current
        var jobID: Int?
        if let location = response.headers[.location], let id = Int(location.split(separator: "/").last ?? "") {
            jobID = id
        } else if let id = context.parameters.get("id").flatMap({ Int($0) }) {
            jobID = id
        }
        // Calls that change state are on disk before their answer; reads follow within 50 ms.
        audit.apiCall(
            client: client ?? "unknown",
            tokenID: context.tokenID,
            method: request.method.rawValue,
            path: request.uri.path,
            status: Int(response.status.code),
            jobID: jobID,
            latencyMs: milliseconds(ContinuousClock.now - started),
            deferred: request.method == .get || request.method == .head
        )
        return response
    }

    /// Throws the 403 or 401 of a call that may not go on; notes the token id in `context`.
    private func authorize(_ request: Request, client: String?, _ context: inout AppRequestContext) throws {
        guard clients.allows(client) else {
            throw APIError(
                .forbidden,
                "clientNotAllowed",
                "client \(client ?? "unknown") is not in security.allowedClients"
            )
        }
        guard let tokens else { return }
        let scope: TokenScope = request.method == .get || request.method == .head ? .read : .launch
        let verdict = tokens.check(authorization: request.headers[.authorization], needs: scope)
        switch verdict {
        case .allowed(let id):
            context.tokenID = id
            context.mayRead = true
            return
        case .outOfScope(let id):
            context.tokenID = id
            context.mayRead = scope == .launch
        case .missing, .unknown:
            context.mayRead = false
        }
        if Self.openPaths.contains(request.uri.path) { return }
        switch verdict {
        case .missing:
            throw APIError(.unauthorized, "unauthorized", "this call needs an Authorization: Bearer token")
        case .unknown:
            throw APIError(.unauthorized, "unauthorized", "the bearer token is not valid")
        default:
            throw APIError(
                .forbidden,
                "forbidden",
                "the token '\(context.tokenID ?? "")' has no '\(scope.rawValue)' scope, which \(request.method) needs"
            )
        }
    }
}

/// `jobs.cgroups`: the jobs' cgroup v2 subtree, or `nil` for the /proc way alone (logged
/// with the reason); `required` without one is a configuration error (exit 78).
private func jobCgroups(_ configuration: JobRunnerConfiguration, logger: Logger) throws -> JobCgroups? {
    guard configuration.jobs.cgroups != .off else {
        logger.info("Containment: /proc (jobs.cgroups is off)")
        return nil
    }
    switch JobCgroups.detect(configuredPath: configuration.jobs.cgroupPath) {
    case .success(let groups):
        logger.notice("Containment: one cgroup v2 group per job", metadata: ["cgroup": "\(groups.summary)"])
        return groups
    case .failure(let why):
        if configuration.jobs.cgroups == .required {
            throw ConfigurationError(key: "jobs.cgroups", "is required but no cgroup v2 group can be used: \(why)")
        }
        let message: Logger.Message =
            "Containment: /proc (subreaper shim, descendants followed); no cgroup v2 group per job"
        if configuration.jobs.cgroupPath != nil {
            logger.warning(message, metadata: ["reason": "\(why)"])
        } else {
            logger.info(message, metadata: ["reason": "\(why)"])
        }
        return nil
    }
}
