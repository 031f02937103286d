import Foundation
import Hummingbird
import JobModel

/// An error the API answers with `{"error": {"code", "message"}}` and its status.
struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    var status: HTTPResponse.Status
    /// Stable machine-readable code: `invalidRequest`, `notFound`, `payloadTooLarge`, …
    var code: String
    var message: String

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    static func invalid(_ message: String) -> APIError { APIError(.badRequest, "invalidRequest", message) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, "notFound", message) }
    static func conflict(_ message: String) -> APIError { APIError(.conflict, "conflict", message) }
    static func unavailable(_ message: String) -> APIError { APIError(.serviceUnavailable, "unavailable", message) }

    var description: String { message }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Self.response(status: status, code: code, message: message)
    }

    static func response(status: HTTPResponse.Status, code: String, message: String) -> Response {
        struct Body: Encodable {
            struct Inner: Encodable {
                var code: String
                var message: String
            }
            var error: Inner
        }
        let data = (try? JobJSONLines.makeEncoder().encode(Body(error: .init(code: code, message: message)))) ?? Data()
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}

extension Request {
    /// The whole body, at most `limit` bytes (`http.maxBodyBytes`); beyond it the 413
    /// `payloadTooLarge` every write endpoint answers.
    func collectBody(upTo limit: Int) async throws -> Data {
        do {
            return Data(try await body.collect(upTo: limit).readableBytesView)
        } catch {
            throw APIError(
                .contentTooLarge,
                "payloadTooLarge",
                "the body is larger than \(limit) bytes (http.maxBodyBytes)"
            )
        }
    }
}
