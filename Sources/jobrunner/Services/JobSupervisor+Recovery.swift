import Foundation
import JobModel
import Logging
import ProcessMonitor

#if canImport(Glibc)
import Glibc
#endif

extension JobSupervisor {
    /// Loads the history (newest valid snapshot + journal) and settles the jobs the
    /// history says are pending or running.
    func recover(
        snapshot: JobTable?,
        journaled: [Job],
        idempotency: [IdempotencyEntry] = [],
        outbox: (saved: OutboxEntry.Saved, journaled: [OutboxEntry.JournalLine]) = (.init(), []),
        schedules schedulesFile: ScheduleFile.Contents = ScheduleFile.Contents(),
        events journaledEvents: (lastSeq: Int, events: [ServerEvent]) = (0, [])
    ) async -> (pending: Int, finished: Int, adopted: Int, lost: Int) {
        schedules = schedulesFile
        // First: changes settled below are numbered after the journal's.
        lastEventSeq = max(journaledEvents.lastSeq, journaledEvents.events.last?.seq ?? 0)
        events.seed(journaledEvents.events, lastSeq: lastEventSeq)
        // First: ends settled below add messages after these (their seqs follow).
        recoverOutbox(saved: outbox.saved, journaled: outbox.journaled)
        let oldest = Date().timeIntervalSince1970 - settings.idempotencyWindowSeconds
        for entry in idempotency where entry.at >= oldest { idempotencyKeys[entry.lookupKey] = entry }
        func placeholder(_ id: Int) -> Job {
            Job(
                id: id,
                instance: instance,
                name: "unknown",
                command: [],
                status: .lost,
                reason: "lost: no record survived"
            )
        }
        if let snapshot, snapshot.hasDenseIDs {
            // The service's own snapshots: ids 1…N in order. The table is kept as it is.
            jobs = JobStore(table: snapshot)
        } else if let snapshot {
            // Any other snapshot (ids out of order or with gaps): rebuilt densely.
            var byID: [Int: Job] = [:]
            for row in 0..<snapshot.count { byID[Int(snapshot.id[row])] = snapshot[row] }
            var table = JobTable()
            for id in stride(from: 1, through: byID.keys.max() ?? 0, by: 1) {
                table.append(byID[id] ?? placeholder(id))
            }
            jobs = JobStore(table: table)
        } else {
            jobs = JobStore()
        }
        for job in journaled where job.id >= 1 {
            while jobs.count < job.id - 1 { jobs.append(placeholder(jobs.count + 1)) }
            if job.id <= jobs.count { jobs[job.id - 1] = job } else { jobs.append(job) }
        }
        rerun = jobs.rerunSources()
        var counts = (pending: 0, finished: 0, adopted: 0, lost: 0)
        var withDependencies: [Int] = []
        let now = Date().timeIntervalSince1970
        // A pending job whose run file exists was being launched when the manager stopped
        // (its `running` record was not yet in the journal): the launcher creates the file
        // before it spawns the shim. It is running (or ran) unless the file stays empty —
        // then no shim ever started and it is launched again. Never twice.
        let pendingWithRunFile = jobs.indices.filter {
            jobs.status(at: $0) == .pending && FileManager.default.fileExists(atPath: files.runPath($0 + 1))
        }
        if !pendingWithRunFile.isEmpty {
            let deadline = Date().addingTimeInterval(2)
            while Date() < deadline,
                pendingWithRunFile.contains(where: {
                    if case .absent = files.readRunFile($0 + 1) { true } else { false }
                })
            {
                try? await Task.sleep(for: .milliseconds(20))
            }
            for index in pendingWithRunFile {
                let id = index + 1
                switch files.readRunFile(id) {
                case .present(let run):
                    handle(id, .adopted(pid: Int(run.pid)))
                case .unreadable:
                    // Cannot tell now whether a shim started: taken as running (its file is
                    // read again by `tick`), never launched a second time.
                    handle(id, .adopted(pid: nil))
                case .absent:
                    unlink(files.runPath(id))
                }
            }
        }
        // The shims still running for this state directory (one pass over /proc): stops go
        // through them (whole tree) and the monitor follows their descendants.
        let runningIDs = Set(jobs.indices.filter { jobs.status(at: $0) == .running }.map { $0 + 1 })
        let shimPids =
            runningIDs.isEmpty
            ? [:]
            : ShimFinder.find(ids: runningIDs, stateDirectory: files.state, runDirectory: files.runDirectory)
        for index in jobs.indices {
            let id = index + 1
            switch jobs.status(at: index) {
            case .pending:
                guard let spec = files.readSpec(id) else {
                    handle(id, .lost("lost: its spec file is damaged"))
                    counts.lost += 1
                    continue
                }
                specs[id] = spec
                if spec.dependsOn != nil {
                    withDependencies.append(id)  // decided once every status is known
                } else if let notBefore = spec.notBefore, notBefore > now {
                    delayed.append(id)
                } else {
                    queues.enqueue(id, queue: jobs.queue(at: index))
                }
                counts.pending += 1
            case .running:
                let run = files.readRunFile(id)
                if let record = run.file?.exit {
                    specs[id] = files.readSpec(id)
                    handle(id, .exited(record))
                    counts.finished += 1
                } else if files.alivePid(id) != nil || shimPids[id] != nil {
                    // Its process runs, or its shim does (waiting for or stopping leftover
                    // processes): running until the shim records its end.
                    specs[id] = files.readSpec(id)
                    var r = Running(
                        shimPid: shimPids[id],
                        adopted: true,
                        jobPid: run.file?.pid,
                        launchedAt: monotonicSeconds()
                    )
                    if let timeout = specs[id]?.timeoutSeconds, let started = jobs[index].startedAt {
                        r.deadline = monotonicSeconds() + timeout - Date().timeIntervalSince(started)
                    }
                    occupySlot(id, r)
                    counts.adopted += 1
                } else if case .unreadable = run {
                    // Unknowable right now, not unknown: adopted, and its file read again.
                    specs[id] = files.readSpec(id)
                    occupySlot(id, Running(adopted: true, launchedAt: monotonicSeconds()))
                    counts.adopted += 1
                } else {
                    handle(
                        id,
                        .lost("lost: the manager restarted and neither the process nor its exit record was found")
                    )
                    counts.lost += 1
                }
            default:
                break
            }
        }
        for id in withDependencies { settleDependencies(of: id) }
        launcher.cgroups?.sweep()  // groups of jobs that ended while no manager ran
        version += 1
        // Loaded from a snapshot with nothing journaled or settled since: that snapshot is
        // the whole history, so no new one is needed until something changes.
        if snapshot != nil, journaled.isEmpty, counts == (0, 0, 0, 0), pendingWithRunFile.isEmpty {
            snapshottedVersion = version
        }
        return counts
    }
}
