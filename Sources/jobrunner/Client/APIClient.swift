import AsyncHTTPClient
import Foundation
import JobModel
import NIOCore
import NIOHTTP1

/// The client's HTTP client: a refused connection fails at once (the pool's default is to
/// retry until the request's deadline, which made an unreachable service a minute's wait).
/// A process-wide value that lives as long as the command, so it is never shut down.
let cliHTTPClient: HTTPClient = {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool.retryConnectionEstablishment = false
    configuration.timeout.connect = .seconds(5)
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
}()

/// The client side of the API, for the `jobrunner` subcommands people use every day.
///
/// One line on stderr and a sysexits code for every failure: 69 when the service cannot be
/// reached (or answers 503), 77 when the token is missing or lacks a scope, 66 for an
/// unknown job, 65 for a request the service refused, 1 otherwise.
struct APIClient: Sendable {
    /// `http://HOST:PORT`, without a trailing slash.
    let base: String
    let token: String?

    struct Failure: Error, CustomStringConvertible {
        var description: String
        var exitCode: Int32
        /// The HTTP status of a refusal (`nil`: the service was not reached).
        var status: Int?
    }

    /// The methods the client uses.
    enum Method: String, Sendable {
        case GET, POST, DELETE

        var http: HTTPMethod {
            switch self {
            case .GET: .GET
            case .POST: .POST
            case .DELETE: .DELETE
            }
        }
    }

    struct Reply: Sendable {
        var status: Int
        var body: Data

        /// The body as a JSON object (empty when it is not one).
        var object: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    /// Sends one request; throws ``Failure`` for any answer outside 2xx.
    func send(
        _ method: Method,
        _ path: String,
        json: Any? = nil,
        headers: [String: String] = [:]
    ) async throws
        -> Reply
    {
        var request = HTTPClientRequest(url: base + path)
        request.method = method.http
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        }
        let response: HTTPClientResponse
        do {
            response = try await cliHTTPClient.execute(request, timeout: .seconds(60))
        } catch {
            throw unreachable(error)
        }
        var body = Data()
        do {
            for try await chunk in response.body { body.append(contentsOf: chunk.readableBytesView) }
        } catch {
            throw unreachable(error)
        }
        let reply = Reply(status: Int(response.status.code), body: body)
        guard (200..<300).contains(reply.status) else { throw failure(reply, method: method, path: path) }
        return reply
    }

    /// Streams the body of a GET (a followed log) to `write` as it arrives.
    func stream(_ path: String, _ write: (ByteBuffer) throws -> Void) async throws {
        var request = HTTPClientRequest(url: base + path)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response: HTTPClientResponse
        do {
            response = try await cliHTTPClient.execute(request, timeout: .hours(24 * 365))
        } catch {
            throw unreachable(error)
        }
        guard (200..<300).contains(Int(response.status.code)) else {
            var body = Data()
            for try await chunk in response.body { body.append(contentsOf: chunk.readableBytesView) }
            throw failure(Reply(status: Int(response.status.code), body: body), method: .GET, path: path)
        }
        do {
            for try await chunk in response.body { try write(chunk) }
        } catch let error as Failure {
            throw error
        } catch {
            throw unreachable(error)
        }
    }

    private func unreachable(_ error: any Error) -> Failure {
        Failure(description: "cannot reach the jobrunner service at \(base): \(Self.reason(error))", exitCode: 69)
    }

    /// A short reason for a transport error (connection refused, timeout, …).
    static func reason(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        if text.contains("deadlineExceeded") || text.contains("connectTimeout") { return "timed out" }
        return text
    }

    private func failure(_ reply: Reply, method: Method, path: String) -> Failure {
        var failure = classify(reply, method: method, path: path)
        failure.status = reply.status
        return failure
    }

    private func classify(_ reply: Reply, method: Method, path: String) -> Failure {
        let error = reply.object["error"] as? [String: Any]
        let message = error?["message"] as? String ?? String(decoding: reply.body.prefix(200), as: UTF8.self)
        let scope = method == .GET ? "read" : "launch"
        switch reply.status {
        case 401:
            return Failure(
                description:
                    "the service needs a token with the '\(scope)' scope: set JOBRUNNER_TOKEN or --token-file (\(message))",
                exitCode: 77
            )
        case 403 where (error?["code"] as? String) == "forbidden":
            return Failure(
                description: "the token lacks the '\(scope)' scope that \(method.rawValue) \(path) needs",
                exitCode: 77
            )
        case 403:
            return Failure(description: message, exitCode: 77)
        case 404:
            return Failure(description: message, exitCode: 66)
        case 503:
            return Failure(description: "the service is unavailable: \(message)", exitCode: 69)
        case 400..<500:
            return Failure(description: message, exitCode: 65)
        default:
            return Failure(description: "the service answered \(reply.status): \(message)", exitCode: 1)
        }
    }

    // MARK: - Typed calls

    func job(_ id: Int) async throws -> Job {
        try Self.decode(Job.self, try await send(.GET, "/v1/jobs/\(id)").body)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw Failure(description: "the service's answer could not be read: \(error)", exitCode: 1)
        }
    }

    /// Waits until job `id` and its retries have ended; returns the last job of the chain.
    /// `onRetry` is told of each retry as it is found.
    func waitForChainEnd(_ id: Int, onRetry: (Job, Int) -> Void = { _, _ in }) async throws -> Job {
        var current = id
        var delay = 0.1
        while true {
            let job = try await job(current)
            if job.status.isFinal {
                guard let retry = job.retriedBy else { return job }
                onRetry(job, retry)
                current = retry
                delay = 0.1
                continue
            }
            try await Task.sleep(for: .seconds(delay))
            delay = min(delay * 1.5, 1)
        }
    }

    /// The exit code a finished job stands for, as timeout(1) and shells count: its exit
    /// code, 128 + the signal that killed it, 124 for a timeout, 1 for any other end.
    static func exitCode(of job: Job) -> Int32 {
        switch job.status {
        case .succeeded: return 0
        case .timedOut: return 124
        case .failed, .crashed:
            if let signal = job.signal { return Int32(128 + signal) }
            if let code = job.exitCode { return Int32(truncatingIfNeeded: code) }
            return 1
        case .cancelled: return 130
        default: return 1
        }
    }
}
