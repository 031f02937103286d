/// The life-cycle state of a job.
///
/// The raw values are the words of the JSON, CSV and API contract; ``code`` is the
/// stable small integer stored in snapshots. Never renumber a code: add new ones.
public enum JobStatus: String, Codable, Sendable, CaseIterable, Hashable {
    /// Waiting for a free slot (`jobs.maxConcurrent`).
    case pending
    /// Started and not yet ended.
    case running
    /// Exited with code 0.
    case succeeded
    /// Exited with a non-zero code, or was stopped by the manager for exceeding its memory limit.
    case failed
    /// Killed by a signal that the manager did not send.
    case crashed
    /// Stopped by the manager because it ran past its timeout.
    case timedOut
    /// Stopped on request (API cancel).
    case cancelled
    /// The outcome cannot be known (for example its manager and its exit record were both lost).
    case lost
    /// Never run: a job it depended on (`dependsOn`) ended so that its condition cannot hold
    /// (`reason` says `dependencyFailed` and names the job). Not decided: statistics see the
    /// root failure, not its echoes.
    case skipped

    /// Stable code used in snapshots.
    public var code: UInt8 {
        switch self {
        case .pending: 0
        case .running: 1
        case .succeeded: 2
        case .failed: 3
        case .crashed: 4
        case .timedOut: 5
        case .cancelled: 6
        case .lost: 7
        case .skipped: 8
        }
    }

    /// The status stored under `code`, or `nil` for an unknown code.
    public init?(code: UInt8) {
        switch code {
        case 0: self = .pending
        case 1: self = .running
        case 2: self = .succeeded
        case 3: self = .failed
        case 4: self = .crashed
        case 5: self = .timedOut
        case 6: self = .cancelled
        case 7: self = .lost
        case 8: self = .skipped
        default: return nil
        }
    }

    /// Whether the job has an outcome that counts for success rates:
    /// succeeded, failed, crashed or timed out.
    public var isDecided: Bool {
        switch self {
        case .succeeded, .failed, .crashed, .timedOut: true
        default: false
        }
    }

    /// Whether the outcome counts as a failure (failed, crashed, timed out).
    public var isFailure: Bool {
        switch self {
        case .failed, .crashed, .timedOut: true
        default: false
        }
    }

    /// Whether the job has ended (any status but pending and running).
    public var isFinal: Bool {
        self != .pending && self != .running
    }
}
