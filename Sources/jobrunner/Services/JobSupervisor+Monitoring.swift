import Foundation
import JobModel
import ProcessMonitor

#if canImport(Glibc)
import Glibc
#endif

/// The timer and the monitor's samples.
extension JobSupervisor {
    // MARK: - Timers and monitoring

    /// Timeouts, kill escalation, due retries, adopted jobs that ended, pending launches.
    func tick() {
        let now = monotonicSeconds()
        for (id, r) in running {
            if r.kill == nil, let deadline = r.deadline, now >= deadline {
                handle(id, .timeoutDue)
            } else if let killAt = r.killAt, now >= killAt {
                if let pid = r.jobPid ?? readPid(id) { kill(-pid, SIGKILL) }
                running[id]?.killAt = now + 1
            }
            if r.adopted, let record = files.readRunFile(id).file?.exit {
                handle(id, .exited(record))
            }
        }
        for (id, retry) in unreadExits where now >= retry.nextAt { settleExit(id) }
        if !delayed.isEmpty {
            let wall = Date().timeIntervalSince1970
            var waiting: [Int] = []
            for id in delayed {
                if (specs[id]?.notBefore ?? 0) <= wall { handle(id, .retryDue) } else { waiting.append(id) }
            }
            delayed = waiting
        }
        launchPending()
    }

    struct MonitorTarget: Sendable {
        var id: Int
        /// The shim (its descendants are the job), or the job's pid (its session) when
        /// the shim of an adopted job was not found.
        var root: Int32
        var scope: TreeMonitor.Scope
        var launchedAt: Double
    }

    /// Running jobs whose process is known, for the monitor.
    func monitorTargets() -> [MonitorTarget] {
        var targets: [MonitorTarget] = []
        targets.reserveCapacity(running.count)
        for (id, r) in running {
            if r.jobPid == nil { _ = readPid(id) }  // the record shows the job's pid once known
            if let shim = r.shimPid {
                targets.append(MonitorTarget(id: id, root: shim, scope: .descendants, launchedAt: r.launchedAt))
            } else if r.adopted, let pid = r.jobPid ?? readPid(id) {
                // (A job being launched waits for its shim's pid: one root for its life.)
                targets.append(MonitorTarget(id: id, root: pid, scope: .session, launchedAt: r.launchedAt))
            }
        }
        return targets
    }

    /// The newest figures of each running job that has been sampled, in id order.
    func liveFigures() -> [LiveFigure] {
        live.values.filter { running[$0.id] != nil }.sorted { $0.id < $1.id }
    }

    struct Sample: Sendable {
        var id: Int
        var metrics: JobMetrics
        var rssNow: Int64
        var cpuSecondsNow = 0.0
    }

    /// Live metrics from the monitor; the machine stops a job past its memory limit.
    func apply(_ samples: [Sample]) {
        let now = monotonicSeconds()
        for sample in samples where running[sample.id] != nil {
            live[sample.id] = LiveFigure(
                id: sample.id,
                cpuSeconds: sample.cpuSecondsNow,
                rssBytes: sample.rssNow,
                sampledAt: now
            )
            handle(sample.id, .sampled(sample.metrics, rssNow: sample.rssNow, limit: specs[sample.id]?.maxRssBytes))
        }
    }
}
