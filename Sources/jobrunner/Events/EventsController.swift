import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// `GET /v1/events`: Server-Sent Events of job changes and live figures (``EventHub``).
struct EventsController: Sendable {
    let hub: EventHub

    static let lastEventIDHeader = HTTPField.Name("Last-Event-ID")!

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/v1/events", use: stream)
    }

    @Sendable func stream(request: Request, context: AppRequestContext) async throws -> Response {
        var lastEventID: Int?
        if let text = request.headers[Self.lastEventIDHeader]?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
            guard let n = Int(text), n >= 0 else {
                throw APIError.invalid("'Last-Event-ID' must be a non-negative integer (an event's id)")
            }
            lastEventID = n
        }
        guard !hub.isClosed else { throw APIError.unavailable("the service is shutting down") }
        let hub = self.hub
        let resumeAfter = lastEventID
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { writer in
                // Subscribed when the body starts (a connection gone before that leaves nothing behind).
                guard let subscriber = hub.subscribe(lastEventID: resumeAfter) else {
                    try await writer.finish(nil)
                    return
                }
                defer { hub.unsubscribe(subscriber) }
                try await withGracefulShutdownHandler {
                    // Reconnect after 2 s; the comment gets the headers out at once.
                    try await writer.write(ByteBuffer(string: "retry: 2000\n: last event \(hub.lastSeq)\n\n"))
                    while let batch = await hub.next(subscriber) {
                        var buffer = ByteBuffer()
                        for event in batch { buffer.writeBytes(event.wire) }
                        try await writer.write(buffer)
                    }
                    try await writer.finish(nil)
                } onGracefulShutdown: {
                    hub.end(subscriber)
                }
            }
        )
    }
}
