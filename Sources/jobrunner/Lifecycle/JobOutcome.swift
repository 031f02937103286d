import Foundation
import JobModel

/// How a job ended, from its exit record and what the manager had asked of it.
enum JobOutcome {
    /// The status and reason of a job that ended with `record`; `stop` is the manager's
    /// request to stop it, if any; `hasMemoryLimit`: the job had `maxRssBytes` (so an OOM
    /// kill in its cgroup was the limit, enforced by the kernel between two samples).
    static func classify(
        _ record: ExitRecord,
        stop: JobLifecycle.StopReason?,
        hasMemoryLimit: Bool
    ) -> (status: JobStatus, reason: String?) {
        let oomKilled = (record.oomKills ?? 0) > 0
        if !record.error.isEmpty { return (.failed, record.error) }
        if oomKilled, hasMemoryLimit, stop == nil || stop == .memoryLimit { return (.failed, "memoryLimit") }
        switch stop {
        case .timeout: return (.timedOut, "timeout")
        case .cancelled: return (.cancelled, "cancelled")
        case .memoryLimit: return (.failed, "memoryLimit")
        case nil: break
        }
        if record.signal != nil { return (.crashed, oomKilled ? "oomKilled" : nil) }
        return (record.exitCode == 0 ? .succeeded : .failed, nil)
    }

    /// Writes the end of `job` from its exit record: times, exit code, signal, status,
    /// reason and the kernel's figures (never below what the monitor saw).
    static func apply(_ record: ExitRecord, stop: JobLifecycle.StopReason?, hasMemoryLimit: Bool, to job: inout Job) {
        job.pid = record.pid > 0 ? record.pid : job.pid
        job.startedAt = Timestamp.date(micros: record.startedAtMicros)
        job.endedAt = Timestamp.date(micros: record.endedAtMicros)
        job.durationSeconds = Double(record.endedAtMicros - record.startedAtMicros) / 1_000_000
        job.exitCode = record.exitCode
        job.signal = record.signal
        (job.status, job.reason) = classify(record, stop: stop, hasMemoryLimit: hasMemoryLimit)
        job.metrics.cpuSeconds = max(
            job.metrics.cpuSeconds,
            Double(record.userMicros + record.systemMicros) / 1_000_000
        )
        job.metrics.rssBytesMax = max(job.metrics.rssBytesMax, record.maxRssKilobytes * 1024)
        job.metrics.leftoverProcesses = record.leftoverProcesses ?? 0
        job.metrics.memoryPeakBytes = record.memoryPeakBytes ?? 0
        if job.metrics.sampleCount == 0 { job.metrics.rssBytesAvg = job.metrics.rssBytesMax }
    }
}

/// When a failed job is tried again: `jobs.retryDelaySeconds` doubling per attempt up to
/// `jobs.maxRetryDelaySeconds`, never for an exit code in `jobs.noRetryExitCodes`.
struct RetryPolicy: Sendable, Hashable {
    var baseDelaySeconds = 1.0
    var maxDelaySeconds = 300.0
    var noRetryExitCodes: [Int] = []

    /// Seconds until the retry of `job` (just ended), or `nil` when it is not retried.
    func delay(after job: Job, retries: Int) -> Double? {
        guard job.status.isFailure, job.attempt <= retries,
            !(job.exitCode.map(noRetryExitCodes.contains) ?? false)
        else { return nil }
        return min(baseDelaySeconds * pow(2, Double(job.attempt - 1)), maxDelaySeconds)
    }
}
