import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import JobModel

/// `/v1/jobs` and its seed aliases.
struct JobsController: Sendable {
    let supervisor: any JobService
    /// `jobs.*`: what a request may ask.
    let jobs: JobsConfiguration
    /// `http.maxBodyBytes`.
    let maxBodyBytes: Int
    /// Where the logs are (`STATE/logs`).
    let stateDirectory: String

    func addRoutes(to router: Router<AppRequestContext>) {
        router.post("/v1/jobs", use: create)
        router.get("/v1/jobs", use: list)
        router.get("/v1/jobs/{id}", use: get)
        router.post("/v1/jobs/{id}/cancel", use: cancel)
        router.post("/v1/jobs/{id}/rerun", use: rerun)
        router.post("/v1/jobs/rerun", use: rerunMatching)
        router.get("/v1/jobs/{id}/logs", use: logs)
        router.post("/jobs", use: create)
        router.get("/jobs", use: list)
    }

    static let idempotencyKeyHeader = HTTPField.Name("Idempotency-Key")!
    /// Set on the 200 that answers a repeated `Idempotency-Key` with the job it created.
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!

    @Sendable func create(request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await request.collectBody(upTo: maxBodyBytes)
        let spec = try JobRequest.parse(body, jobs: jobs)
        var idempotency: IdempotencyKey?
        if let key = request.headers[Self.idempotencyKeyHeader] {
            guard IdempotencyKey.isValid(key) else {
                throw APIError.invalid("'Idempotency-Key' must be 1-255 printable ASCII characters without spaces")
            }
            let digest = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
            idempotency = IdempotencyKey(scope: context.tokenID ?? "", key: key, bodySHA256: digest)
        }
        let (job, replayed) = try await supervisor.create(spec, idempotency: idempotency)
        var response = JSONResponse.job(job, status: replayed ? .ok : .created)
        response.headers[.location] = "/v1/jobs/\(job.id)"
        if replayed { response.headers[Self.replayedHeader] = "true" }
        return response
    }

    static func id(_ context: AppRequestContext) throws -> Int {
        guard let text = context.parameters.get("id"), let id = Int(text), id > 0 else {
            throw APIError.invalid("job id must be a positive integer")
        }
        return id
    }

    @Sendable func get(request: Request, context: AppRequestContext) async throws -> Response {
        let id = try Self.id(context)
        guard let job = await supervisor.job(id) else { throw APIError.notFound("job \(id) not found") }
        return JSONResponse.job(job)
    }

    @Sendable func cancel(request: Request, context: AppRequestContext) async throws -> Response {
        let id = try Self.id(context)
        return JSONResponse.job(try await supervisor.cancel(id))
    }

    /// The body of a rerun call as a JSON object (an empty body is `{}`).
    private func object(_ request: Request) async throws -> [String: Any] {
        let body = try await request.collectBody(upTo: maxBodyBytes)
        if body.isEmpty { return [:] }
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
        else { throw APIError.invalid("the body must be a JSON object") }
        return object
    }

    struct JobList: Encodable {
        var jobs: [Job]
    }

    /// `POST /v1/jobs/{id}/rerun`: a new job with the same name, command, cwd, labels and
    /// queue (`rerunOf` = id); the body may give env, limits, retries and queue.
    @Sendable func rerun(request: Request, context: AppRequestContext) async throws -> Response {
        let id = try Self.id(context)
        let overrides = try RerunOverrides.parse(try await object(request), jobs: jobs)
        let job = try await supervisor.rerun([id], overrides: overrides)[0]
        var response = JSONResponse.job(job, status: .created)
        response.headers[.location] = "/v1/jobs/\(job.id)"
        return response
    }

    /// `POST /v1/jobs/rerun`: reruns each ended job the filter matches once (the last job
    /// of each chain, never one already rerun); `status` defaults to the failures.
    @Sendable func rerunMatching(request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await object(request)
        let filter: Set<String> = ["status", "name", "since", "until", "limit"]
        let overrides = try RerunOverrides.parse(body, extra: filter, jobs: jobs)
        var query = JobListQuery()
        func strings(_ field: String) throws -> [String] {
            switch body[field] {
            case nil, is NSNull: return []
            case let text as String: return [text]
            case let list as [Any]:
                let texts = list.compactMap { $0 as? String }
                guard texts.count == list.count else {
                    throw APIError.invalid("'\(field)' must be a string or a list of strings")
                }
                return texts
            default: throw APIError.invalid("'\(field)' must be a string or a list of strings")
            }
        }
        for word in try strings("status") {
            guard let status = JobStatus(rawValue: word), status.isFinal else {
                let finals = JobStatus.allCases.filter(\.isFinal).map(\.rawValue).joined(separator: ", ")
                throw APIError.invalid("'status' \(word) is not a final status (\(finals))")
            }
            query.statuses.insert(status)
        }
        if query.statuses.isEmpty { query.statuses = Set(JobStatus.allCases.filter { $0.isFailure || $0 == .lost }) }
        query.names = try strings("name")
        for field in ["since", "until"] {
            guard let value = body[field], !(value is NSNull) else { continue }
            guard let text = value as? String, let date = Timestamp.parse(text) else {
                throw APIError.invalid("'\(field)' must be an RFC 3339 time")
            }
            if field == "since" {
                query.sinceMicros = Timestamp.micros(date)
            } else {
                query.untilMicros = Timestamp.micros(date)
            }
        }
        query.limit = 100
        if let value = body["limit"], !(value is NSNull) {
            guard let n = value as? Int, !isJSONBool(value), (1...1000).contains(n) else {
                throw APIError.invalid("'limit' must be an integer from 1 to 1000")
            }
            query.limit = n
        }
        return try JSONResponse.make(JobList(jobs: try await supervisor.rerunMatching(query, overrides: overrides)))
    }

    /// `?follow=true`: `first`, then what is appended to the file from byte `offset` on,
    /// until the job has ended and its output is drained. The file is read every 100 ms (a
    /// follower costs the supervisor one status read per quiet tick); a writer that cannot
    /// keep up only slows its own connection. A file cut by `jobs.maxLogBytes` meanwhile
    /// goes on from its end, after a note.
    static func following(
        path: String,
        from offset: Int,
        first: Data,
        job id: Int,
        supervisor: any JobService
    ) -> ResponseBody {
        ResponseBody { writer in
            if !first.isEmpty { try await writer.write(ByteBuffer(bytes: first)) }
            var offset = offset
            var ended = false
            while true {
                var appended = false
                let fd = open(path, O_RDONLY | O_CLOEXEC)
                if fd >= 0 {
                    defer { close(fd) }
                    let size = Int(lseek(fd, 0, SEEK_END))
                    if size >= 0, size < offset {
                        let note = "\n[jobrunner: the output was cut (jobs.maxLogBytes); following from its end]\n"
                        try await writer.write(ByteBuffer(string: note))
                        offset = size
                    }
                    var buffer = [UInt8](repeating: 0, count: 64 << 10)
                    while true {
                        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
                        guard n > 0 else { break }
                        offset += n
                        appended = true
                        try await writer.write(ByteBuffer(bytes: buffer[0..<n]))
                    }
                }
                if ended { break }  // drained after the end was seen
                if !appended {
                    ended = await supervisor.job(id)?.status.isFinal ?? true
                    if !ended { try await Task.sleep(for: .milliseconds(100)) }
                }
            }
            try await writer.finish(nil)
        }
    }

    static func encodeCursor(_ id: Int) -> String {
        Data("after:\(id)".utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
    }

    static func decodeCursor(_ text: String) -> Int? {
        var padded = text
        while padded.count % 4 != 0 { padded += "=" }
        guard let data = Data(base64Encoded: padded), let s = String(data: data, encoding: .utf8),
            s.hasPrefix("after:"),
            let id = Int(s.dropFirst(6)), id >= 0
        else { return nil }
        return id
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> Response {
        let q = request.uri.queryParameters
        var query = JobListQuery()
        for (key, _) in q where !["status", "name", "since", "until", "limit", "cursor"].contains(String(key)) {
            throw APIError.invalid("unknown query parameter '\(key)'; use status, name, since, until, limit, cursor")
        }
        for value in q.getAll("status") {
            for word in value.split(separator: ",") {
                guard let status = JobStatus(rawValue: String(word)) else {
                    throw APIError.invalid(
                        "'status' \(word) is not one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                query.statuses.insert(status)
            }
        }
        query.names = q.getAll("name")
        if let since = q.get("since") {
            guard let date = Timestamp.parse(since) else { throw APIError.invalid("'since' must be an RFC 3339 time") }
            query.sinceMicros = Timestamp.micros(date)
        }
        if let until = q.get("until") {
            guard let date = Timestamp.parse(until) else { throw APIError.invalid("'until' must be an RFC 3339 time") }
            query.untilMicros = Timestamp.micros(date)
        }
        if let limit = q.get("limit") {
            guard let n = Int(limit), (1...1000).contains(n) else {
                throw APIError.invalid("'limit' must be an integer from 1 to 1000")
            }
            query.limit = n
        }
        if let cursor = q.get("cursor") {
            guard let after = Self.decodeCursor(cursor) else {
                throw APIError.invalid("'cursor' is not a cursor this server gave")
            }
            query.afterID = after
        }
        let (jobs, next) = await supervisor.list(query)
        var body: [UInt8] = Array(#"{"jobs":["#.utf8)
        body.reserveCapacity(jobs.count * 900 + 64)
        for (i, job) in jobs.enumerated() {
            if i > 0 { body.append(UInt8(ascii: ",")) }
            JobJSON.append(job, to: &body)
        }
        body += Array("]".utf8)
        if let next { body += Array(#","nextCursor":""#.utf8) + Array(Self.encodeCursor(next).utf8) + [34] }
        body.append(UInt8(ascii: "}"))
        return JSONResponse.bytes(body)
    }

    @Sendable func logs(request: Request, context: AppRequestContext) async throws -> Response {
        let id = try Self.id(context)
        guard await supervisor.job(id) != nil else { throw APIError.notFound("job \(id) not found") }
        let q = request.uri.queryParameters
        let stream = q.get("stream") ?? "stdout"
        guard stream == "stdout" || stream == "stderr" else {
            throw APIError.invalid("'stream' must be stdout or stderr")
        }
        var tail: Int?
        if let t = q.get("tail") {
            guard let n = Int(t), n >= 0, n <= 1_000_000 else {
                throw APIError.invalid("'tail' must be an integer from 0 to 1000000")
            }
            tail = n
        }
        var follow = false
        if let f = q.get("follow") {
            guard f == "true" || f == "false" else { throw APIError.invalid("'follow' must be true or false") }
            follow = f == "true"
        }
        for (key, _) in q where !["stream", "tail", "follow"].contains(String(key)) {
            throw APIError.invalid("unknown query parameter '\(key)'; use stream, tail, follow")
        }
        let path = "\(stateDirectory)/logs/\(id).\(stream == "stdout" ? "out" : "err")"
        var data = FileManager.default.contents(atPath: path) ?? Data()
        let size = data.count
        if let tail {
            var newlines = 0
            var start = data.endIndex
            var index = data.endIndex
            if index > data.startIndex, data[data.index(before: index)] == 10 { index = data.index(before: index) }
            while index > data.startIndex {
                let previous = data.index(before: index)
                if data[previous] == 10 {
                    newlines += 1
                    if newlines == tail { break }
                }
                index = previous
            }
            start = tail == 0 ? data.endIndex : index
            data = data[start...]
        }
        if follow {
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: Self.following(path: path, from: size, first: data, job: id, supervisor: supervisor)
            )
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}

/// JSON responses with the project's encoder settings (sorted keys, unescaped slashes).
enum JSONResponse {
    /// A job, written by ``JobJSON`` (the same bytes as the encoder, much faster).
    static func job(_ job: Job, status: HTTPResponse.Status = .ok) -> Response {
        bytes(JobJSON.encode(job), status: status)
    }

    static func bytes(_ body: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: body))
        )
    }

    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try JobJSONLines.makeEncoder().encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
