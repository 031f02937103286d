import Foundation
import JobModel

#if canImport(Glibc)
import Glibc
#endif

/// What the HTTP API needs of the service: ``JobSupervisor``, or in the router tests an
/// in-memory stand-in (``buildRouter(service:configuration:audit:tokens:)``).
protocol JobService: Sendable {
    /// When the service started (health's uptime).
    var startedAt: Date { get }
    /// Records a job (answers once its record is durable) and launches it when it can; with
    /// an `Idempotency-Key` seen before (same body), the job it created (`replayed`).
    func create(_ request: JobRequest, idempotency: IdempotencyKey?) async throws -> (job: Job, replayed: Bool)
    func job(_ id: Int) async -> Job?
    /// Jobs in id order after `query.afterID` that match; the next cursor id when more remain.
    func list(_ query: JobListQuery) async -> (jobs: [Job], next: Int?)
    /// Cancels a pending job, stops a running one; `APIError.conflict` for an ended one.
    func cancel(_ id: Int) async throws -> Job
    /// Reruns ended jobs (new jobs with `rerunOf`); checked in full before anything is recorded.
    func rerun(_ ids: [Int], overrides: RerunOverrides) async throws -> [Job]
    /// Reruns the ended, never-rerun chain ends that `query` matches.
    func rerunMatching(_ query: JobListQuery, overrides: RerunOverrides) async throws -> [Job]
    /// The pattern suite over the history, cached under `key` until the history changes.
    func stats(options: AnalysisOptions, patterns: [String], key: String) async -> AnalysisReport
    func health() async -> ServiceHealth
    /// Adds a schedule (durable before it returns); its id is assigned here.
    func addSchedule(_ schedule: JobSchedule) async throws -> JobSchedule
    /// Removes a schedule; `APIError.notFound` for an unknown id.
    func deleteSchedule(_ id: Int) async throws -> JobSchedule
    func scheduleList() async -> [JobSchedule]
    /// Every queue with its running and pending counts.
    func queueStatuses() async -> [QueueStatus]
    /// Pauses or resumes a queue; `APIError.notFound` for an unknown one.
    func setPaused(_ name: String, _ paused: Bool) async throws -> QueueStatus
}

/// A consistent cut of the supervisor for a snapshot (``JobSupervisor/snapshotCut(force:)``).
struct SnapshotCut: Sendable {
    var table: JobTable
    /// The first journal segment the snapshot does not hold.
    var segment: Int
    /// Jobs that ended since the previous cut: their files go once the snapshot is written.
    var ended: [Int]
    var version: Int
    /// What the journal segments the snapshot replaces held beside the records.
    var idempotency: [IdempotencyEntry]
    var outbox: OutboxEntry.Saved
    /// The last event sequence number the segments hold.
    var lastEventSeq: Int
    /// The replay buffer of `GET /v1/events` (``EventFile``).
    var recentEvents: [ServerEvent]
}

/// One queue in `GET /v1/queues`.
struct QueueStatus: Sendable, Codable, Equatable {
    var name: String
    var maxConcurrent: Int?
    var paused: Bool
    var running: Int
    var pending: Int
    /// False for a queue the configuration no longer lists that recovered jobs still use.
    var configured: Bool

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(maxConcurrent, forKey: .maxConcurrent)  // null, not absent, for "no cap"
        try c.encode(paused, forKey: .paused)
        try c.encode(running, forKey: .running)
        try c.encode(pending, forKey: .pending)
        try c.encode(configured, forKey: .configured)
    }
}

/// `GET /v1/jobs`'s filters and page.
struct JobListQuery: Sendable {
    var statuses: Set<JobStatus> = []
    /// fnmatch patterns; a job matches any of them.
    var names: [String] = []
    /// `since` and `until` (microseconds since 1970, as the columns hold start times):
    /// converted once, not for every row tested.
    var sinceMicros: Int64?
    var untilMicros: Int64?
    var afterID = 0
    var limit = 100

    /// Whether a job passes the filters; `name` and `startedAtMicros` are read only when a
    /// filter needs them (the supervisor reads them from its columns).
    func matches(
        status: JobStatus,
        name: @autoclosure () -> String,
        startedAtMicros: @autoclosure () -> Int64?
    ) -> Bool {
        if !statuses.isEmpty, !statuses.contains(status) { return false }
        if !names.isEmpty {
            let name = name()
            if !names.contains(where: { fnmatch($0, name, 0) == 0 }) { return false }
        }
        if sinceMicros != nil || untilMicros != nil {
            let started = startedAtMicros()
            if let sinceMicros, (started ?? .min) < sinceMicros { return false }
            if let untilMicros, (started ?? .max) >= untilMicros { return false }
        }
        return true
    }
}

/// What `GET /v1/health` and `/metrics` report of the service.
struct ServiceHealth: Sendable {
    var running: Int
    var pending: Int
    var jobs: Int
    var journalError: String?
    var lastSnapshot: SnapshotInfo?
    var lastSnapshotError: String?
    /// `cgroup` (a cgroup v2 group per job) or `proc`.
    var containment: String
}
