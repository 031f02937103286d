import Foundation
import Hummingbird

/// `/v1/queues`: the launch queues, their counts, pause and resume.
struct QueuesController: Sendable {
    let supervisor: any JobService
    let audit: AuditLog

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/v1/queues", use: list)
        router.post("/v1/queues/{queue}/pause", use: pause)
        router.post("/v1/queues/{queue}/resume", use: resume)
    }

    struct QueueList: Encodable {
        var queues: [QueueStatus]
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> Response {
        try JSONResponse.make(QueueList(queues: await supervisor.queueStatuses()))
    }

    @Sendable func pause(request: Request, context: AppRequestContext) async throws -> Response {
        try await setPaused(true, context)
    }

    @Sendable func resume(request: Request, context: AppRequestContext) async throws -> Response {
        try await setPaused(false, context)
    }

    /// Pending jobs of a paused queue wait; running ones go on. Audited with the token id.
    private func setPaused(_ paused: Bool, _ context: AppRequestContext) async throws -> Response {
        let name = context.parameters.get("queue") ?? ""
        let status = try await supervisor.setPaused(name, paused)
        audit.record(paused ? "queuePaused" : "queueResumed", ["queue": name, "tokenId": context.tokenID ?? ""])
        return try JSONResponse.make(status)
    }
}
