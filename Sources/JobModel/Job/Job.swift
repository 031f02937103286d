public import Foundation

/// One job: a launch of one command, from request to outcome.
///
/// A retry is a new job with `attempt` + 1 and `parentId` set; the job it retries gets
/// `retriedBy`. Field names are the contract of the API, JSON Lines and CSV.
public struct Job: Sendable, Hashable {
    /// Unique per instance, never reused.
    public var id: Int
    /// Name of the manager instance that ran the job.
    public var instance: String
    /// Job name: 1–128 characters of `[A-Za-z0-9._:-]`.
    public var name: String
    /// argv; `command[0]` is the executable.
    public var command: [String]
    /// Working directory, `nil` for the manager's.
    public var cwd: String?
    /// Free key/values, used by patterns.
    public var labels: [String: String]
    public var status: JobStatus
    /// The job's own pid (not the shim's).
    public var pid: Int?
    public var startedAt: Date?
    public var endedAt: Date?
    public var durationSeconds: Double?
    public var exitCode: Int?
    /// Set when the job died of a signal.
    public var signal: Int?
    /// Why the manager ended it: `timeout`, `cancelled`, `memoryLimit`, `lost: …`.
    public var reason: String?
    /// 1 for a first run, 2 for its first retry, …
    public var attempt: Int
    /// The job this one retries.
    public var parentId: Int?
    /// The job that retried this one.
    public var retriedBy: Int?
    /// The queue (lane) the job ran in; `nil` for `default`.
    public var queue: String?
    /// The job this one reruns (`POST /v1/jobs/{id}/rerun`): a new chain, not a retry.
    public var rerunOf: Int?
    /// The schedule that started this job.
    public var scheduleId: Int?
    /// The limits its request set (`nil` = none): kept in the record so that a rerun of
    /// an ended job has them (its spec file goes with its env).
    public var timeoutSeconds: Double?
    public var maxRssBytes: Int?
    /// The retries its request allowed.
    public var retries: Int?
    /// The last bytes (`jobs.errorTailBytes`, 4 KiB) of the stderr of a job that did not
    /// succeed; `nil` when it wrote none or succeeded.
    public var errorTail: String?
    /// ``errorTail`` with numbers, hex, UUIDs, paths and times masked (``ErrorSignature``):
    /// the same failure gives the same signature from run to run.
    public var errorSignature: String?
    public var metrics: JobMetrics

    public init(
        id: Int,
        instance: String = "",
        name: String,
        command: [String],
        cwd: String? = nil,
        labels: [String: String] = [:],
        status: JobStatus,
        pid: Int? = nil,
        startedAt: Date? = nil,
        endedAt: Date? = nil,
        durationSeconds: Double? = nil,
        exitCode: Int? = nil,
        signal: Int? = nil,
        reason: String? = nil,
        attempt: Int = 1,
        parentId: Int? = nil,
        retriedBy: Int? = nil,
        queue: String? = nil,
        rerunOf: Int? = nil,
        scheduleId: Int? = nil,
        timeoutSeconds: Double? = nil,
        maxRssBytes: Int? = nil,
        retries: Int? = nil,
        errorTail: String? = nil,
        errorSignature: String? = nil,
        metrics: JobMetrics = JobMetrics()
    ) {
        self.id = id
        self.instance = instance
        self.name = name
        self.command = command
        self.cwd = cwd
        self.labels = labels
        self.status = status
        self.pid = pid
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.durationSeconds = durationSeconds
        self.exitCode = exitCode
        self.signal = signal
        self.reason = reason
        self.attempt = attempt
        self.parentId = parentId
        self.retriedBy = retriedBy
        self.queue = queue
        self.rerunOf = rerunOf
        self.scheduleId = scheduleId
        self.timeoutSeconds = timeoutSeconds
        self.maxRssBytes = maxRssBytes
        self.retries = retries
        self.errorTail = errorTail
        self.errorSignature = errorSignature
        self.metrics = metrics
    }

    /// Whether `name` is a valid job name: 1–128 characters of `[A-Za-z0-9._:-]`.
    public static func isValidName(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard (1...128).contains(utf8.count) else { return false }
        return utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: ":")
                || c == UInt8(ascii: "-")
        }
    }
}
