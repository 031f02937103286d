import Foundation
import Hummingbird
import JobModel
import NIOCore

/// Health, version and stats.
struct SystemController: Sendable {
    let supervisor: any JobService
    /// `patterns.file`: rules run after the built-in patterns.
    var rules: [PatternRule] = []

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/v1/health", use: health)
        router.get("/healthCheck", use: health)
        router.get("/v1/version", use: version)
        router.get("/v1/stats", use: stats)
        router.get("/stats", use: stats)
        router.get("/metrics", use: metrics)
        router.get("/openapi.yaml", use: openAPI)
    }

    /// Prometheus text format; the job gauges are read from the supervisor at each scrape.
    @Sendable func metrics(request: Request, context: AppRequestContext) async throws -> Response {
        let h = await supervisor.health()
        ServiceMetrics.setJobCounts(running: h.running, pending: h.pending, history: h.jobs)
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: ServiceMetrics.render()))
        )
    }

    /// The OpenAPI 3.1 document of this API (the repository's `openapi.yaml`).
    @Sendable func openAPI(request: Request, context: AppRequestContext) async throws -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/yaml; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml))
        )
    }

    /// What an unauthenticated caller sees when tokens are required: status and version only.
    struct BriefHealth: Encodable {
        var status: String
        var version: String
    }

    /// Written by ``json`` (not an encoder): health is polled often.
    struct Health {
        struct Snapshot {
            var createdAt: String
            var jobCount: Int
        }
        var status: String
        var version: String
        var containment: String
        var uptimeSeconds: Double
        var runningJobs: Int
        var pendingJobs: Int
        var jobCount: Int
        var lastSnapshot: Snapshot?
        var problems: [String]

        /// The JSON an encoder with sorted keys would write (omitting a nil `lastSnapshot`).
        var json: String {
            func quoted(_ s: String) -> String {
                var out: [UInt8] = []
                JobJSON.appendString(s, to: &out)
                return String(decoding: out, as: UTF8.self)
            }
            var text = "{\"containment\":\(quoted(containment)),\"jobCount\":\(jobCount)"
            if let lastSnapshot {
                text +=
                    ",\"lastSnapshot\":{\"createdAt\":\(quoted(lastSnapshot.createdAt)),\"jobCount\":\(lastSnapshot.jobCount)}"
            }
            text += ",\"pendingJobs\":\(pendingJobs),\"problems\":[\(problems.map(quoted).joined(separator: ","))]"
            var uptime: [UInt8] = []
            JobJSON.appendDouble(uptimeSeconds, to: &uptime)
            text +=
                ",\"runningJobs\":\(runningJobs),\"status\":\(quoted(status)),\"uptimeSeconds\":\(String(decoding: uptime, as: UTF8.self))"
            text += ",\"version\":\(quoted(version))}"
            return text
        }
    }

    @Sendable func health(request: Request, context: AppRequestContext) async throws -> Response {
        let h = await supervisor.health()
        var problems: [String] = []
        if let e = h.journalError { problems.append("journal: \(e)") }
        if let e = h.lastSnapshotError { problems.append("snapshot: \(e)") }
        if !context.mayRead {
            return try JSONResponse.make(
                BriefHealth(status: problems.isEmpty ? "ok" : "degraded", version: ProductVersion.current)
            )
        }
        let body = Health(
            status: problems.isEmpty ? "ok" : "degraded",
            version: ProductVersion.current,
            containment: h.containment,
            uptimeSeconds: (Date().timeIntervalSince(supervisor.startedAt) * 1000).rounded() / 1000,
            runningJobs: h.running,
            pendingJobs: h.pending,
            jobCount: h.jobs,
            lastSnapshot: h.lastSnapshot.map {
                .init(createdAt: Timestamp.format($0.createdAt), jobCount: $0.recordCount)
            },
            problems: problems
        )
        return JSONResponse.bytes(Array(body.json.utf8))
    }

    struct Version: Encodable {
        var api: String
        var manager: String
        var snapshotFormat: UInt32
        var commit: String?
    }

    @Sendable func version(request: Request, context: AppRequestContext) async throws -> Response {
        try JSONResponse.make(
            Version(
                api: "v1",
                manager: ProductVersion.current,
                snapshotFormat: SnapshotFormat.currentVersion,
                commit: nil
            )
        )
    }

    /// The pattern suite over the live store: the JSON of `jobstats analyze --format json`.
    /// Query: `tz`, `minMatches`, `all`, `fdr`, `stalledAfter`, `burstFactor`, `pattern`
    /// (repeatable), checked by the same code as `jobstats analyze`'s options.
    @Sendable func stats(request: Request, context: AppRequestContext) async throws -> Response {
        let parameters = request.uri.queryParameters.map { (name: String($0.key), value: String($0.value)) }
        let (options, patterns): (AnalysisOptions, [String])
        do {
            (options, patterns) = try AnalysisOptions.parse(parameters, rules: rules)
        } catch {
            throw APIError.invalid(error.description)
        }
        let report = await supervisor.stats(
            options: options,
            patterns: patterns,
            key: options.cacheKey(patterns: patterns)
        )
        return try JSONResponse.make(report)
    }
}
