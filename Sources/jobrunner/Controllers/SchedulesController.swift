import Foundation
import Hummingbird
import JobModel

/// `/v1/schedules`: jobs launched at the times of a cron expression.
struct SchedulesController: Sendable {
    let supervisor: any JobService
    /// `jobs.*`: what a schedule's job may ask (as `POST /v1/jobs`).
    let jobs: JobsConfiguration
    let maxBodyBytes: Int

    func addRoutes(to router: Router<AppRequestContext>) {
        router.post("/v1/schedules", use: create)
        router.get("/v1/schedules", use: list)
        router.get("/v1/schedules/{id}", use: get)
        router.delete("/v1/schedules/{id}", use: delete)
    }

    static let fields: Set<String> = ["name", "cron", "timeZone", "job", "overlap", "catchUp"]

    /// Parses and checks `POST /v1/schedules`; every error names the field.
    static func parse(_ data: Data, jobs: JobsConfiguration, now: Date) throws(APIError) -> JobSchedule {
        guard let body = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .invalid("the body must be a JSON object")
        }
        if let unknown = body.keys.sorted().first(where: { !fields.contains($0) }) {
            throw .invalid("unknown field '\(unknown)'; fields are \(fields.sorted().joined(separator: ", "))")
        }
        guard let name = body["name"] as? String else { throw .invalid("'name' is required (a string)") }
        guard Job.isValidName(name) else { throw .invalid("'name' must be 1-128 characters of A-Z a-z 0-9 . _ : -") }
        var zoneName = "UTC"
        if let value = body["timeZone"], !(value is NSNull) {
            guard let text = value as? String else { throw .invalid("'timeZone' must be a string") }
            zoneName = text
        }
        guard let zone = TimeZone(identifier: zoneName) else {
            throw .invalid("'timeZone' \(zoneName) is not an IANA time zone (such as Europe/Berlin or UTC)")
        }
        guard let cron = body["cron"] as? String else { throw .invalid("'cron' is required (five fields or @daily…)") }
        do {
            _ = try CronSchedule(cron, timeZone: zone)
        } catch {
            throw .invalid("'cron' \(error.description)")
        }
        guard let job = body["job"] as? [String: Any] else {
            throw .invalid("'job' is required: the POST /v1/jobs body each run launches")
        }
        if job["dependsOn"] != nil { throw .invalid("'job.dependsOn' is not allowed in a schedule (see overlap)") }
        let request: JobRequest
        do {
            request = try JobRequest.parse(try JSONSerialization.data(withJSONObject: job), jobs: jobs)
        } catch let error as APIError {
            throw APIError(error.status, error.code, "in 'job': " + error.message)
        } catch {
            throw .invalid("'job' is not a valid job")
        }
        var overlap = JobSchedule.Overlap.skip
        if let value = body["overlap"], !(value is NSNull) {
            guard let text = value as? String, let parsed = JobSchedule.Overlap(rawValue: text) else {
                throw .invalid("'overlap' must be skip, queue or allow")
            }
            overlap = parsed
        }
        var catchUp = false
        if let value = body["catchUp"], !(value is NSNull) {
            guard isJSONBool(value), let flag = value as? Bool else {
                throw .invalid("'catchUp' must be true or false")
            }
            catchUp = flag
        }
        let schedule = JobSchedule(
            id: 0,
            name: name,
            cron: cron,
            timeZone: zoneName,
            job: JobSchedule.Template(request),
            overlap: overlap,
            catchUp: catchUp,
            createdAt: now.timeIntervalSince1970
        )
        guard schedule.nextRunAt != nil else { throw .invalid("'cron' \(cron) never runs (no such date in ten years)") }
        return schedule
    }

    /// A schedule as the API shows it: its job without `env` (which may hold secrets).
    struct View: Encodable {
        struct JobView: Encodable {
            var name: String
            var command: [String]
            var cwd: String?
            var labels: [String: String]
            var retries: Int?
            var timeoutSeconds: Double?
            var maxRssBytes: Int?
            var queue: String?
            /// The names of its env variables, never their values.
            var envKeys: [String]
        }
        var id: Int
        var name: String
        var cron: String
        var timeZone: String
        var overlap: JobSchedule.Overlap
        var catchUp: Bool
        var job: JobView
        var createdAt: String
        var lastRunAt: String?
        var lastJobId: Int?
        var nextRunAt: String?
        var skippedRuns: Int

        init(_ s: JobSchedule) {
            id = s.id
            name = s.name
            cron = s.cron
            timeZone = s.timeZone
            overlap = s.overlap
            catchUp = s.catchUp
            job = JobView(
                name: s.job.name,
                command: s.job.command,
                cwd: s.job.cwd,
                labels: s.job.labels,
                retries: s.job.retries,
                timeoutSeconds: s.job.timeoutSeconds,
                maxRssBytes: s.job.maxRssBytes,
                queue: s.job.queue,
                envKeys: s.job.env.keys.sorted()
            )
            createdAt = Timestamp.format(Date(timeIntervalSince1970: s.createdAt))
            lastRunAt = s.lastRunAt.map { Timestamp.format(Date(timeIntervalSince1970: $0)) }
            lastJobId = s.lastJobId
            nextRunAt = s.nextRunAt.map { Timestamp.format($0) }
            skippedRuns = s.skippedRuns
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(name, forKey: .name)
            try c.encode(cron, forKey: .cron)
            try c.encode(timeZone, forKey: .timeZone)
            try c.encode(overlap, forKey: .overlap)
            try c.encode(catchUp, forKey: .catchUp)
            try c.encode(job, forKey: .job)
            try c.encode(createdAt, forKey: .createdAt)
            try c.encode(lastRunAt, forKey: .lastRunAt)  // null, not absent
            try c.encode(lastJobId, forKey: .lastJobId)
            try c.encode(nextRunAt, forKey: .nextRunAt)
            try c.encode(skippedRuns, forKey: .skippedRuns)
        }

        enum CodingKeys: String, CodingKey {
            case id, name, cron, timeZone, overlap, catchUp, job, createdAt, lastRunAt, lastJobId, nextRunAt
            case skippedRuns
        }
    }

    struct ViewList: Encodable {
        var schedules: [View]
    }

    static func id(_ context: AppRequestContext) throws -> Int {
        guard let text = context.parameters.get("id"), let id = Int(text), id > 0 else {
            throw APIError.invalid("schedule id must be a positive integer")
        }
        return id
    }

    @Sendable func create(request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await request.collectBody(upTo: maxBodyBytes)
        let schedule = try Self.parse(body, jobs: jobs, now: Date())
        let added = try await supervisor.addSchedule(schedule)
        var response = try JSONResponse.make(View(added), status: .created)
        response.headers[.location] = "/v1/schedules/\(added.id)"
        return response
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> Response {
        try JSONResponse.make(ViewList(schedules: await supervisor.scheduleList().map(View.init)))
    }

    @Sendable func get(request: Request, context: AppRequestContext) async throws -> Response {
        let id = try Self.id(context)
        guard let schedule = await supervisor.scheduleList().first(where: { $0.id == id }) else {
            throw APIError.notFound("schedule \(id) not found")
        }
        return try JSONResponse.make(View(schedule))
    }

    @Sendable func delete(request: Request, context: AppRequestContext) async throws -> Response {
        try JSONResponse.make(View(try await supervisor.deleteSchedule(try Self.id(context))))
    }
}
