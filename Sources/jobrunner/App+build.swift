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
    let started = ContinuousClock.now
    let snapshot = SnapshotService.loadNewest(directory: "\(state)/snapshots", logger: logger)
    let replay = Journal.replay(directory: "\(state)/journal")
    let journal = try Journal(directory: "\(state)/journal")
    let reaper = Reaper()
    let supervisor = JobSupervisor(
        configuration: configuration,
        launcher: ShimLauncher(shimPath: shim, stateDirectory: state),
        journal: journal,
        reaper: reaper,
        logger: logger
    )
    let counts = await supervisor.recover(snapshot: snapshot, journaled: replay.records)
    logger.notice(
        "Recovered",
        metadata: [
            "snapshot.jobs": "\(snapshot?.count ?? 0)", "journal.records": "\(replay.records.count)",
            "journal.tornLines": "\(replay.torn)", "pending": "\(counts.pending)", "finished": "\(counts.finished)",
            "adopted": "\(counts.adopted)", "lost": "\(counts.lost)", "duration": "\(ContinuousClock.now - started)",
        ]
    )

    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: APIMiddleware())
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
            SnapshotService(supervisor: supervisor, journal: journal, configuration: configuration, logger: logger),
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

/// Turns every error into `{"error": {"code", "message"}}` and stamps every response with
/// the manager version.
struct APIMiddleware<Context: RequestContext>: RouterMiddleware {
    static var versionHeader: HTTPField.Name { HTTPField.Name("X-Jobrunner-Version")! }

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
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
        return response
    }
}
