import Foundation
import JobModel

/// A schedule: `POST /v1/schedules`. Its job template is a `POST /v1/jobs` body.
struct JobSchedule: Sendable, Codable, Equatable {
    /// When a run is due while the schedule's previous job has not ended.
    enum Overlap: String, Sendable, Codable, CaseIterable {
        /// No new run (logged); the next one is due at the next time.
        case skip
        /// The run waits for the previous job to end (`dependsOn: ended`).
        case queue
        /// The run starts beside the previous one.
        case allow
    }

    /// The job each run launches (`env` included: kept in `STATE/schedules.json`, mode 0600,
    /// never returned by the API).
    struct Template: Sendable, Codable, Equatable {
        var name: String
        var command: [String]
        var cwd: String?
        var env: [String: String]
        var labels: [String: String]
        var retries: Int?
        var timeoutSeconds: Double?
        var maxRssBytes: Int?
        var queue: String?

        init(_ request: JobRequest) {
            name = request.name
            command = request.command
            cwd = request.cwd
            env = request.env
            labels = request.labels
            retries = request.retries
            timeoutSeconds = request.timeoutSeconds
            maxRssBytes = request.maxRssBytes
            queue = request.queue
        }

        func request(scheduleId: Int) -> JobRequest {
            JobRequest(
                name: name,
                command: command,
                cwd: cwd,
                env: env,
                labels: labels,
                retries: retries,
                timeoutSeconds: timeoutSeconds,
                maxRssBytes: maxRssBytes,
                queue: queue,
                scheduleId: scheduleId
            )
        }
    }

    var id: Int
    var name: String
    var cron: String
    var timeZone: String
    var job: Template
    var overlap: Overlap
    /// Runs missed while the service was down: one at start-up (true) or none (false).
    var catchUp: Bool
    /// Unix seconds.
    var createdAt: Double
    /// The time (Unix seconds) of the last run started (or skipped for an overlap).
    var lastRunAt: Double?
    /// The job of the last run started.
    var lastJobId: Int?
    /// Runs not started because the previous job had not ended (`overlap: skip`).
    var skippedRuns = 0

    /// The cron expression in its zone (both checked when the schedule was made).
    var cronSchedule: CronSchedule? {
        guard let zone = TimeZone(identifier: timeZone) else { return nil }
        return try? CronSchedule(cron, timeZone: zone)
    }

    /// The next run after the last one (or the creation).
    var nextRunAt: Date? {
        cronSchedule?.next(after: Date(timeIntervalSince1970: lastRunAt ?? createdAt))
    }
}

/// The schedules, in `STATE/schedules.json` (atomic, synced, mode 0600: job templates hold
/// their env), rewritten at every change and every run. A run's job is created with an
/// idempotency key of (schedule, time) before the file records the run, so a crash between
/// the two starts the run once, not twice.
enum ScheduleFile {
    static func path(state: String) -> String { state + "/schedules.json" }

    struct Contents: Codable {
        var nextId = 1
        var schedules: [JobSchedule] = []
    }

    static func load(state: String) throws -> Contents {
        guard let data = FileManager.default.contents(atPath: path(state: state)) else { return Contents() }
        return try JSONDecoder().decode(Contents.self, from: data)
    }

    static func save(_ contents: Contents, state: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try OutputFile.write(try encoder.encode(contents), toAtomicPath: path(state: state), mode: 0o600)
    }
}
