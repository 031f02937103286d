import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobModel
import NIOCore
import Testing

@testable import jobrunner

/// An in-memory ``JobService``: records what the API asks, runs nothing.
actor MemoryJobs: JobService {
    nonisolated let startedAt = Date()
    private(set) var jobs: [Job] = []

    func create(_ request: JobRequest, idempotency: IdempotencyKey?) throws -> (job: Job, replayed: Bool) {
        let job = Job(
            id: jobs.count + 1,
            name: request.name,
            command: request.command,
            cwd: request.cwd,
            labels: request.labels,
            status: .pending
        )
        jobs.append(job)
        return (job, false)
    }

    /// Adds jobs as they would be at the end of their life.
    func add(_ job: Job) {
        var job = job
        job.id = jobs.count + 1
        jobs.append(job)
    }

    func job(_ id: Int) -> Job? { id >= 1 && id <= jobs.count ? jobs[id - 1] : nil }

    func list(_ query: JobListQuery) -> (jobs: [Job], next: Int?) {
        let matching = jobs.dropFirst(max(0, query.afterID)).filter {
            query.matches(
                status: $0.status,
                name: $0.name,
                startedAtMicros: $0.startedAt.map(Timestamp.micros)
            )
        }
        let page = Array(matching.prefix(query.limit))
        let more = matching.count > query.limit
        return (page, more ? page.last!.id : nil)
    }

    func cancel(_ id: Int) throws -> Job {
        guard let job = job(id) else { throw APIError.notFound("job \(id) not found") }
        guard !job.status.isFinal else {
            throw APIError.conflict("job \(id) has already ended (\(job.status.rawValue))")
        }
        jobs[id - 1].status = .cancelled
        return jobs[id - 1]
    }

    func stats(options: AnalysisOptions, patterns: [String], key: String) -> AnalysisReport {
        Analysis.run(JobTable(jobs), options: options, patterns: patterns)
    }

    private var paused: Set<String> = []
    private var schedules: [JobSchedule] = []

    func addSchedule(_ schedule: JobSchedule) -> JobSchedule {
        var schedule = schedule
        schedule.id = schedules.count + 1
        schedules.append(schedule)
        return schedule
    }

    func deleteSchedule(_ id: Int) throws -> JobSchedule {
        guard let index = schedules.firstIndex(where: { $0.id == id }) else {
            throw APIError.notFound("schedule \(id) not found")
        }
        return schedules.remove(at: index)
    }

    func scheduleList() -> [JobSchedule] { schedules }

    func queueStatuses() -> [QueueStatus] {
        [
            QueueStatus(
                name: "default",
                maxConcurrent: nil,
                paused: paused.contains("default"),
                running: jobs.filter { $0.status == .running }.count,
                pending: jobs.filter { $0.status == .pending }.count,
                configured: true
            )
        ]
    }

    func setPaused(_ name: String, _ paused: Bool) throws -> QueueStatus {
        guard name == "default" else { throw APIError.notFound("queue \(name) not found; queues: default") }
        if paused { self.paused.insert(name) } else { self.paused.remove(name) }
        return queueStatuses()[0]
    }

    func rerun(_ ids: [Int], overrides: RerunOverrides) throws -> [Job] {
        try ids.map { id in
            guard let original = job(id) else { throw APIError.notFound("job \(id) not found") }
            var job = original
            job.id = jobs.count + 1
            job.status = .pending
            job.rerunOf = id
            jobs.append(job)
            return job
        }
    }

    func rerunMatching(_ query: JobListQuery, overrides: RerunOverrides) throws -> [Job] {
        let ids = jobs.filter {
            $0.status.isFinal && query.matches(status: $0.status, name: $0.name, startedAtMicros: nil)
        }.map(\.id)
        return try rerun(ids, overrides: overrides)
    }

    func health() -> ServiceHealth {
        ServiceHealth(
            running: jobs.filter { $0.status == .running }.count,
            pending: jobs.filter { $0.status == .pending }.count,
            jobs: jobs.count,
            containment: "proc"
        )
    }
}

/// The HTTP API in-process: HummingbirdTesting's router mode over ``MemoryJobs``. What
/// needs real processes (launching, figures, retries, crashes) is in the service suites.
@Suite struct RouterTests {
    static func configuration(_ change: (inout JobRunnerConfiguration) -> Void = { _ in }) -> JobRunnerConfiguration {
        var configuration = JobRunnerConfiguration()
        configuration.stateDirectory =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("jobrunner-router-\(UUID().uuidString)").path
        configuration.security.allowedClients = nil  // the test channel has no peer address
        change(&configuration)
        return configuration
    }

    /// Runs `body` against the router over `service`.
    static func withAPI(
        _ service: MemoryJobs = MemoryJobs(),
        configuration: JobRunnerConfiguration = configuration(),
        tokens: TokenAuthority? = nil,
        _ body: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        try FileManager.default.createDirectory(atPath: configuration.stateDirectory, withIntermediateDirectories: true)
        let audit = AuditLog(path: configuration.stateDirectory + "/audit.jsonl", maxBytes: 1 << 20, keep: 1)
        let router = try buildRouter(service: service, configuration: configuration, audit: audit, tokens: tokens)
        try await Application(router: router).test(.router, body)
    }

    static func json(_ response: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any] ?? [:]
    }

    static func post(
        _ client: any TestClientProtocol,
        _ path: String,
        _ body: String,
        headers: HTTPFields = [:]
    )
        async throws -> TestResponse
    {
        try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    @Test func invalidRequestsAreRefusedNamingTheFieldAndRecordNothing() async throws {
        let service = MemoryJobs()
        let bad: [(String, String)] = [
            ("{", "not valid JSON"),
            ("[]", "JSON object"),
            (#"{"command":["/bin/true"]}"#, "'name' is required"),
            (#"{"name":"x"}"#, "'command' is required"),
            (#"{"name":"x","command":[]}"#, "'command' must not be empty"),
            (#"{"name":"x","command":"/bin/true"}"#, "'command' must be a list"),
            (#"{"name":"x","command":[1]}"#, "'command[0]' must be a string"),
            (#"{"name":"../etc","command":["/bin/true"]}"#, "'name' must be"),
            (#"{"name":"x","command":["/bin/true"],"retires":1}"#, "unknown field 'retires'"),
            (#"{"name":"x","command":["/bin/true"],"retries":99}"#, "'retries'"),
            (#"{"name":"x","command":["/bin/true"],"retries":-1}"#, "'retries'"),
            (#"{"name":"x","command":["/bin/true"],"timeoutSeconds":-5}"#, "'timeoutSeconds'"),
            (#"{"name":"x","command":["/bin/true"],"timeoutSeconds":"5"}"#, "'timeoutSeconds' must be a number"),
            (#"{"name":"x","command":["/bin/true"],"maxRssBytes":1}"#, "'maxRssBytes'"),
            (#"{"name":"x","command":["/bin/true"],"env":{"A":1}}"#, "'env.A' must be a string"),
            (#"{"name":"x","command":["/bin/true"],"cwd":"relative"}"#, "'cwd' must be an absolute path"),
            (#"{"name":"x","command":["a\u0000b"]}"#, "NUL"),
            (#"{"name":"x","command":["/bin/true"],"dependsOn":3}"#, "'dependsOn' must be a list"),
            (#"{"name":"x","command":["/bin/true"],"dependsOn":[{"job":0}]}"#, "'dependsOn[0].job' must be a job id"),
            (
                #"{"name":"x","command":["/bin/true"],"dependsOn":[{"job":1,"on":"maybe"}]}"#,
                "'dependsOn[0].on' must be"
            ),
            (
                #"{"name":"x","command":["/bin/true"],"dependsOn":[{"job":1,"after":2}]}"#,
                "unknown field 'dependsOn[0].after'"
            ),
        ]
        try await Self.withAPI(service) { client in
            for (body, expected) in bad {
                let reply = try await Self.post(client, "/v1/jobs", body)
                #expect(reply.status == .badRequest, "\(body)")
                let error = Self.json(reply)["error"] as? [String: Any]
                #expect(error?["code"] as? String == "invalidRequest", "\(body)")
                #expect((error?["message"] as? String)?.contains(expected) == true, "\(body): \(error ?? [:])")
                #expect(
                    reply.headers[APIMiddleware.versionHeader] == ProductVersion.current,
                    "errors carry the version"
                )
            }
            let created = try await Self.post(client, "/v1/jobs", #"{"name":"ok","command":["/bin/true"]}"#)
            #expect(created.status == .created)
            #expect(created.headers[.location] == "/v1/jobs/1")
        }
        #expect(await service.jobs.count == 1, "only the valid request was recorded")
    }

    @Test func commandsOutsideTheAllowListAreRefused() async throws {
        let service = MemoryJobs()
        let configuration = Self.configuration { $0.jobs.allowedCommands = ["/bin/*", "/usr/bin/env"] }
        try await Self.withAPI(service, configuration: configuration) { client in
            for command in ["/bin/true", "/usr/bin/env"] {
                let reply = try await Self.post(client, "/v1/jobs", #"{"name":"ok","command":["\#(command)"]}"#)
                #expect(reply.status == .created)
            }
            for command in ["/usr/bin/python3", "true", "/bin/../usr/bin/python3", "/bin/sub/dir"] {
                let reply = try await Self.post(client, "/v1/jobs", #"{"name":"no","command":["\#(command)"]}"#)
                #expect(reply.status == .forbidden, "\(command)")
                let error = Self.json(reply)["error"] as? [String: Any]
                #expect(error?["code"] as? String == "commandNotAllowed")
                #expect((error?["message"] as? String)?.contains("jobs.allowedCommands") == true)
            }
        }
        #expect(await service.jobs.count == 2, "refused commands record nothing")
    }

    @Test func aBodyOverTheLimitAnswers413() async throws {
        let configuration = Self.configuration { $0.http.maxBodyBytes = 2048 }
        try await Self.withAPI(configuration: configuration) { client in
            let big = #"{"name":"x","command":["/bin/echo",""# + String(repeating: "a", count: 5000) + #""]}"#
            let reply = try await Self.post(client, "/v1/jobs", big)
            #expect(reply.status == .contentTooLarge)
            #expect((Self.json(reply)["error"] as? [String: Any])?["code"] as? String == "payloadTooLarge")
        }
    }

    @Test func unknownJobsRoutesAndEndedJobsAnswerWithTheRightError() async throws {
        let service = MemoryJobs()
        await service.add(Job(id: 0, name: "done", command: ["/bin/true"], status: .succeeded))
        try await Self.withAPI(service) { client in
            for path in ["/v1/jobs/999", "/v1/jobs/999/logs", "/v1/nothing"] {
                let reply = try await client.execute(uri: path, method: .get)
                #expect(reply.status == .notFound, "\(path)")
                #expect((Self.json(reply)["error"] as? [String: Any])?["code"] as? String == "notFound")
            }
            #expect(try await client.execute(uri: "/v1/jobs/999/cancel", method: .post).status == .notFound)
            #expect(try await client.execute(uri: "/v1/jobs/abc", method: .get).status == .badRequest)
            #expect(try await client.execute(uri: "/v1/jobs/0", method: .get).status == .badRequest)
            let ended = try await client.execute(uri: "/v1/jobs/1/cancel", method: .post)
            #expect(ended.status == .conflict)
            #expect(
                (Self.json(ended)["error"] as? [String: Any])?["message"] as? String
                    == "job 1 has already ended (succeeded)"
            )
        }
    }

    @Test func listFiltersAndPagesWithACursor() async throws {
        let service = MemoryJobs()
        for i in 0..<250 {
            await service.add(
                Job(
                    id: 0,
                    name: i % 2 == 0 ? "even-\(i)" : "odd-\(i)",
                    command: ["/bin/true"],
                    status: i % 5 == 0 ? .failed : .succeeded,
                    startedAt: Date(timeIntervalSince1970: 1_767_571_200 + Double(i) * 60)
                )
            )
        }
        try await Self.withAPI(service) { client in
            var seen: [Int] = []
            var cursor: String?
            repeat {
                let page = Self.json(
                    try await client.execute(
                        uri: "/v1/jobs?limit=100" + (cursor.map { "&cursor=\($0)" } ?? ""),
                        method: .get
                    )
                )
                seen += (page["jobs"] as! [[String: Any]]).map { $0["id"] as! Int }
                cursor = page["nextCursor"] as? String
            } while cursor != nil
            #expect(seen == Array(1...250), "every job once, in order")
            let evens = Self.json(
                try await client.execute(uri: "/v1/jobs?name=even-*&status=failed&limit=1000", method: .get)
            )
            #expect((evens["jobs"] as! [[String: Any]]).count == 25)
            // 2026-01-05T00:00Z is job 1's start; 10 minutes later, job 11's.
            let window = Self.json(
                try await client.execute(
                    uri: "/v1/jobs?since=2026-01-05T00:00:00Z&until=2026-01-05T00:10:00Z",
                    method: .get
                )
            )
            #expect((window["jobs"] as! [[String: Any]]).map { $0["id"] as! Int } == Array(1...10))
            for bad in ["cursor=garbage", "limit=5000", "limit=0", "status=exploded", "colour=red", "since=yesterday"] {
                #expect(try await client.execute(uri: "/v1/jobs?\(bad)", method: .get).status == .badRequest, "\(bad)")
            }
        }
    }

    @Test func theSeedPathsAreAliases() async throws {
        let service = MemoryJobs()
        try await Self.withAPI(service) { client in
            #expect(
                try await Self.post(client, "/jobs", #"{"name":"seed","command":["/bin/true"]}"#).status == .created
            )
            let listed = Self.json(try await client.execute(uri: "/jobs", method: .get))
            #expect((listed["jobs"] as! [[String: Any]]).count == 1)
            #expect(try await client.execute(uri: "/healthCheck", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/stats", method: .get).status == .ok)
        }
    }

    @Test func healthVersionAndStatsValidation() async throws {
        try await Self.withAPI { client in
            let health = Self.json(try await client.execute(uri: "/v1/health", method: .get))
            #expect(health["status"] as? String == "ok")
            #expect(health["containment"] as? String == "proc")
            let version = Self.json(try await client.execute(uri: "/v1/version", method: .get))
            #expect(version["api"] as? String == "v1")
            #expect(version["snapshotFormat"] as? Int == 1)
            let tuned = try await client.execute(uri: "/v1/stats?stalledAfter=30&burstFactor=2&all=true", method: .get)
            #expect(tuned.status == .ok)
            for bad in [
                "pattern=nope", "tz=Mars/Olympus", "minMatches=0", "fdr=2", "stalledAfter=-1", "burstFactor=0.5",
                "minMatches=many", "colour=red",
            ] {
                #expect(try await client.execute(uri: "/v1/stats?\(bad)", method: .get).status == .badRequest, "\(bad)")
            }
        }
    }

    /// `patterns.file`: its rules run in `GET /v1/stats`; a file that cannot be used
    /// stops the start naming the key.
    @Test func patternRulesFromTheConfigurationRunInStats() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(getpid()).json").path
        try Data(#"[{"id":"by-name-rule","groupBy":"name"}]"#.utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let configuration = Self.configuration { $0.patterns.file = file }
        let service = MemoryJobs()
        try await Self.withAPI(service, configuration: configuration) { client in
            for _ in 0..<3 {
                _ = try await Self.post(client, "/v1/jobs", #"{"name":"a","command":["/bin/true"]}"#)
            }
            let stats = Self.json(
                try await client.execute(uri: "/v1/stats?pattern=by-name-rule&all=true", method: .get)
            )
            let patterns = stats["patterns"] as? [[String: Any]] ?? []
            #expect(!patterns.isEmpty && patterns.allSatisfy { $0["pattern"] as? String == "by-name-rule" })
        }
        let bad = Self.configuration { $0.patterns.file = file + ".missing" }
        await #expect {
            try await Self.withAPI(configuration: bad) { _ in }
        } throws: { error in
            (error as? ConfigurationError)?.key == "patterns.file"
        }
    }

    @Test func tokensGuardEveryCallButHealthAndTheDocument() async throws {
        let configuration = Self.configuration()
        try FileManager.default.createDirectory(atPath: configuration.stateDirectory, withIntermediateDirectories: true)
        let path = configuration.stateDirectory + "/tokens.json"
        let reader = TokensFile.newToken()
        let launcher = TokensFile.newToken()
        let file = TokensFile(tokens: [
            .init(id: "dashboard", sha256: TokensFile.hex(TokensFile.hash(reader)), scopes: [.read], createdAt: ""),
            .init(id: "ci", sha256: TokensFile.hex(TokensFile.hash(launcher)), scopes: [.launch], createdAt: ""),
        ])
        try file.write(to: path)
        let tokens = try TokenAuthority(path: path)
        let read: HTTPFields = [.authorization: "Bearer \(reader)"]
        let launch: HTTPFields = [.authorization: "Bearer \(launcher)"]
        let job = #"{"name":"t","command":["/bin/true"]}"#
        try await Self.withAPI(configuration: configuration, tokens: tokens) { client in
            let none = try await client.execute(uri: "/v1/jobs", method: .get)
            #expect(none.status == .unauthorized)
            #expect(none.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            let wrong: HTTPFields = [.authorization: "Bearer jrt_nope"]
            #expect(try await client.execute(uri: "/v1/jobs", method: .get, headers: wrong).status == .unauthorized)
            #expect(try await client.execute(uri: "/jobs", method: .get).status == .unauthorized, "aliases too")
            #expect(try await client.execute(uri: "/metrics", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/v1/jobs", method: .get, headers: read).status == .ok)
            let outOfScope = try await Self.post(client, "/v1/jobs", job, headers: read)
            #expect(outOfScope.status == .forbidden)
            #expect(try await Self.post(client, "/v1/jobs", job, headers: launch).status == .created)
            #expect(try await client.execute(uri: "/v1/jobs/1", method: .get, headers: launch).status == .forbidden)
            let brief = try await client.execute(uri: "/v1/health", method: .get)
            #expect(brief.status == .ok)
            #expect(Set(Self.json(brief).keys) == ["status", "version"], "no details without a read token")
            #expect(
                Self.json(try await client.execute(uri: "/v1/health", method: .get, headers: read))["jobCount"] as? Int
                    == 1
            )
            #expect(try await client.execute(uri: "/openapi.yaml", method: .get).status == .ok)
        }
    }
}
