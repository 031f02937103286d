import Foundation
import JobModel
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// What the API, the stats and the snapshots read of the supervisor.
extension JobSupervisor {
    func job(_ id: Int) -> Job? {
        id >= 1 && id <= jobs.count ? jobs[id - 1] : nil
    }

    func list(_ query: JobListQuery) -> (jobs: [Job], next: Int?) {
        var out: [Job] = []
        var index = max(0, query.afterID)
        // Filters read the columns; only the jobs of the page are rebuilt.
        while index < jobs.count {
            let current = index
            index += 1
            guard
                query.matches(
                    status: jobs.status(at: current),
                    name: jobs.name(at: current),
                    startedAtMicros: jobs.startedAtMicros(at: current)
                )
            else { continue }
            out.append(jobs[current])
            if out.count == query.limit { return (out, index < jobs.count ? current + 1 : nil) }
        }
        return (out, nil)
    }

    // MARK: - Snapshots and stats

    /// A consistent cut: the journal moves to a new segment and the table holds every
    /// record written before it.
    /// `nil` when nothing changed since the last snapshot written and `force` is false.
    func snapshotCut(force: Bool) throws -> SnapshotCut? {
        if !force, version == snapshottedVersion, lastSnapshotError == nil { return nil }
        let segment = try journal.rotate()
        defer { endedSinceCut.removeAll() }
        // The keys outlive the journal segments the snapshot replaces (written before those go).
        let oldest = Date().timeIntervalSince1970 - settings.idempotencyWindowSeconds
        idempotencyKeys = idempotencyKeys.filter { $0.value.at >= oldest }
        let keys = idempotencyKeys.values.sorted { $0.job < $1.job }
        return SnapshotCut(
            table: jobs.compact(),
            segment: segment,
            ended: endedSinceCut,
            version: version,
            idempotency: keys,
            outbox: OutboxEntry.Saved(nextSeq: nextOutboxSeq, entries: outbox.values.sorted { $0.seq < $1.seq }),
            lastEventSeq: lastEventSeq,
            recentEvents: events.recent()
        )
    }

    func snapshotWritten(_ info: SnapshotInfo?, error: String?, version cutVersion: Int? = nil) {
        if let info {
            lastSnapshot = info
            if let cutVersion { snapshottedVersion = cutVersion }
        }
        lastSnapshotError = error
    }

    /// The pattern suite over the live store, cached until the store changes.
    func stats(options: AnalysisOptions, patterns: [String], key: String) -> AnalysisReport {
        let cacheKey = "\(version)|\(key)"
        if let cached = statsCache, cached.key == cacheKey { return cached.report }
        let report = Analysis.run(jobs.compact(), options: options, patterns: patterns)
        statsCache = (cacheKey, report)
        return report
    }

    private func isPending(_ id: Int) -> Bool { jobs.status(at: id - 1) == .pending }

    /// Every queue with its counts: pending counts the jobs waiting in it, for a retry's
    /// time or for their `dependsOn`.
    func queueStatuses() -> [QueueStatus] {
        var waitingElsewhere: [String: Int] = [:]
        for id in delayed where isPending(id) {
            waitingElsewhere[LaunchQueues.name(jobs.queue(at: id - 1)), default: 0] += 1
        }
        for id in waiting { waitingElsewhere[LaunchQueues.name(jobs.queue(at: id - 1)), default: 0] += 1 }
        return queues.lanes.keys.sorted().map { name in
            let lane = queues.lanes[name]!
            return QueueStatus(
                name: name,
                maxConcurrent: lane.maxConcurrent,
                paused: lane.paused,
                running: lane.running,
                pending: queues.queuedCount(name, isPending: isPending) + waitingElsewhere[name, default: 0],
                configured: lane.configured
            )
        }
    }

    /// Pauses or resumes queue `name` (pending jobs wait; running ones go on), durably.
    func setPaused(_ name: String, _ paused: Bool) throws -> QueueStatus {
        var next = queues
        guard next.setPaused(name, paused) else {
            throw APIError.notFound(
                "queue \(name) not found; queues: \(queues.lanes.keys.sorted().joined(separator: ", "))"
            )
        }
        do {
            try QueueState.save(paused: next.paused, state: files.state)
        } catch {
            throw APIError.unavailable("cannot record the pause in \(QueueState.path(state: files.state)): \(error)")
        }
        queues = next
        logger.notice(paused ? "Queue paused" : "Queue resumed", metadata: ["queue": "\(name)"])
        if !paused { launchPending() }
        return queueStatuses().first { $0.name == name }!
    }

    func health() -> ServiceHealth {
        ServiceHealth(
            running: running.count,
            // From the queues, not a scan of the whole history: health is polled often.
            // (waiting jobs are pending too, for their dependsOn)
            pending: queues.lanes.keys.reduce(0) { $0 + queues.queuedCount($1, isPending: isPending) }
                + delayed.lazy.filter(isPending).count + waiting.count,
            jobs: jobs.count,
            journalError: journal.lastError,
            lastSnapshot: lastSnapshot,
            lastSnapshotError: lastSnapshotError,
            containment: launcher.cgroups == nil ? "proc" : "cgroup"
        )
    }

    /// Removes the run and spec files of jobs that ended before a snapshot cut, once the
    /// snapshot holds them; after a failed snapshot they wait for the next one.
    func removeFilesOfEndedJobs(_ ids: [Int], snapshotWritten: Bool) {
        guard snapshotWritten else {
            endedSinceCut = ids + endedSinceCut
            return
        }
        for id in ids where running[id] == nil && specs[id] == nil {
            files.removeRunFile(id)
            files.removeSpec(id)
        }
    }
}
