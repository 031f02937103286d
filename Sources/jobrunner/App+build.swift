import Foundation
import HTTPTypes
import Hummingbird
import JobModel
import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Builds the service: recovers the history, then wires the supervisor, the journal, the
/// snapshots and the HTTP API.
func buildApplication(configuration: JobRunnerConfiguration, logger: Logger) async throws -> some ApplicationProtocol {
    let state = configuration.stateDirectory
    for sub in ["journal", "snapshots", "logs", "run", "specs"] {
        try FileManager.default.createDirectory(atPath: "\(state)/\(sub)", withIntermediateDirectories: true)
    }
    let shim = try ShimLauncher.locateShim(configured: configuration.shimPath)
    let audit = AuditLog(
        path: configuration.auditPath,
        maxBytes: configuration.auditMaxBytes,
        keep: configuration.auditKeep
    )
    audit.record(
        "managerStarted",
        [
            "version": ProductVersion.current, "pid": Int(getpid()),
            "configDigest": configurationDigest(configuration),
            "listen": "\(configuration.listenHost):\(configuration.listenPort)",
        ]
    )
    let started = ContinuousClock.now
    let snapshot = SnapshotService.loadNewest(directory: "\(state)/snapshots", logger: logger)
    let replay = Journal.replay(directory: "\(state)/journal")
    let journal = try Journal(directory: "\(state)/journal", onSync: { audit.sync() })
    let reaper = Reaper()
    let supervisor = JobSupervisor(
        configuration: configuration,
        launcher: ShimLauncher(shimPath: shim, stateDirectory: state),
        journal: journal,
        reaper: reaper,
        logger: logger
    )
    let counts = await supervisor.recover(snapshot: snapshot, journaled: replay.records)
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

    let router = Router(context: AppRequestContext.self)
    router.add(middleware: APIMiddleware(audit: audit))
    JobsController(supervisor: supervisor, configuration: configuration).addRoutes(to: router)
    SystemController(supervisor: supervisor, configuration: configuration).addRoutes(to: router)

    let addressFile = "\(state)/jobrunner.addr"
    return Application(
        router: router,
        configuration: .init(
            address: .hostname(configuration.listenHost, port: configuration.listenPort),
            serverName: nil
        ),
        services: [
            journal,
            SupervisorService(supervisor: supervisor, reaper: reaper, configuration: configuration, logger: logger),
            SnapshotService(
                supervisor: supervisor,
                journal: journal,
                audit: audit,
                configuration: configuration,
                logger: logger
            ),
        ],
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? configuration.listenPort
            try? "\(getpid())\n".write(toFile: "\(state)/jobrunner.pid", atomically: true, encoding: .utf8)
            let text = "\(configuration.listenHost):\(port)\n"
            try? text.write(toFile: addressFile + ".tmp", atomically: false, encoding: .utf8)
            rename(addressFile + ".tmp", addressFile)
            logger.notice(
                "Listening",
                metadata: ["address": "\(configuration.listenHost):\(port)", "version": "\(ProductVersion.current)"]
            )
        },
        logger: logger
    )
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

/// Turns every error into `{"error": {"code", "message"}}`, stamps every response with
/// the manager version, and writes one audit line per call before the response goes out.
struct APIMiddleware<Context: RemoteAddressRequestContext>: RouterMiddleware {
    let audit: AuditLog

    static var versionHeader: HTTPField.Name { HTTPField.Name("X-Jobrunner-Version")! }

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            response = APIError.response(status: error.status, code: error.code, message: error.message)
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
        var fields: [String: any Sendable] = [
            "client": context.remoteAddress?.ipAddress ?? "unknown", "method": request.method.rawValue,
            "path": request.uri.path, "status": Int(response.status.code),
            "latencyMs": milliseconds(ContinuousClock.now - started),
        ]
        let parts = request.uri.path.split(separator: "/")
        if let location = response.headers[.location], let id = Int(location.split(separator: "/").last ?? "") {
            fields["jobId"] = id
        } else if let jobs = parts.firstIndex(of: "jobs"), jobs + 1 < parts.count, let id = Int(parts[jobs + 1]) {
            fields["jobId"] = id
        }
        audit.record("apiCall", fields)
        return response
    }
}
