import Foundation
import JobModel

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
    func snapshotCut(
        force: Bool
    ) throws -> (table: JobTable, segment: Int, ended: [Int], version: Int, idempotency: [IdempotencyEntry])? {
        if !force, version == snapshottedVersion, lastSnapshotError == nil { return nil }
        let segment = try journal.rotate()
        defer { endedSinceCut.removeAll() }
        // The keys outlive the journal segments the snapshot replaces (written before those go).
        let oldest = Date().timeIntervalSince1970 - settings.idempotencyWindowSeconds
        idempotencyKeys = idempotencyKeys.filter { $0.value.at >= oldest }
        let keys = idempotencyKeys.values.sorted { $0.job < $1.job }
        return (jobs.compact(), segment, endedSinceCut, version, keys)
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

    func health() -> ServiceHealth {
        ServiceHealth(
            running: running.count,
            // From the queues, not a scan of the whole history: health is polled often.
            // (waiting jobs are pending too, for their dependsOn)
            pending: (pending[pendingHead...] + delayed).lazy.filter { self.jobs.status(at: $0 - 1) == .pending }.count
                + waiting.count,
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
