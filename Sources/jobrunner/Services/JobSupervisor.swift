import CoreMetrics
import Foundation
import JobModel
import Logging
import ProcessMonitor

#if canImport(Glibc)
import Glibc
#endif

/// Owns every job: launches, watches the limits, finishes, retries and records them.
///
/// The single owner of the job store. HTTP handlers, the monitor and the reaper talk to it;
/// side effects that block (snapshot writing, /proc sampling) run outside it.
actor JobSupervisor {
    /// What a job needs to run that is not part of its record. Kept in
    /// `state/specs/ID.json` (mode 0600) because `env` may hold secrets: never in the
    /// journal, snapshots, logs or API answers.
    struct Spec: Codable, Sendable {
        var env: [String: String]
        var timeoutSeconds: Double?
        var maxRssBytes: Int?
        var retries: Int
        /// Monotonic-independent earliest start (Unix seconds), for retries.
        var notBefore: Double?
    }

    enum KillReason: String, Sendable {
        case timeout, cancelled, memoryLimit
    }

    struct Running: Sendable {
        /// `nil` while the shim is being spawned, and for an adopted job whose shim was not
        /// found (one started by a shim too old to be found, or gone).
        var shimPid: pid_t?
        /// Started by an earlier manager: its end is found by polling its run file.
        var adopted = false
        var jobPid: Int32?
        var launchedAt: Double
        var deadline: Double?
        var kill: KillReason?
        var killAt: Double?
    }

    let configuration: JobRunnerConfiguration
    let launcher: ShimLauncher
    let journal: Journal
    let reaper: Reaper
    let logger: Logger
    let state: String
    /// `configuration.effectiveRunDirectory`, worked out once.
    let runDirectory: String
    let startedAt = Date()

    private(set) var jobs = JobStore()
    /// Jobs that reached a final status since the last snapshot cut: their run and spec
    /// files go once a snapshot holds them.
    private var endedSinceCut: [Int] = []
    private var specs: [Int: Spec] = [:]
    private var pending: [Int] = []
    private var pendingHead = 0
    private var delayed: [Int] = []
    private var running: [Int: Running] = [:]
    private var shims: [pid_t: Int] = [:]
    /// Shims that exited before their spawn call returned to us.
    private var unclaimedExits: Set<pid_t> = []
    /// Spawning blocks until the shim has exec'd (vfork): it runs here, not on the actor.
    private let spawnQueue = DispatchQueue(label: "jobrunner.spawn", attributes: .concurrent)
    private var version = 0
    private var statsCache: (key: String, report: AnalysisReport)?
    private(set) var lastSnapshot: SnapshotInfo?
    private(set) var lastSnapshotError: String?

    init(
        configuration: JobRunnerConfiguration,
        launcher: ShimLauncher,
        journal: Journal,
        reaper: Reaper,
        logger: Logger
    ) {
        self.configuration = configuration
        self.launcher = launcher
        self.journal = journal
        self.reaper = reaper
        self.logger = logger
        self.state = configuration.stateDirectory
        self.runDirectory = configuration.effectiveRunDirectory
    }

    /// The run file of job `id`: in the run directory, or (written by a shim of a version
    /// before `runDirectory`) in `STATE/run`.
    private func readRunFile(_ id: Int) -> RunFile.Read {
        let read = RunFile.read(directory: runDirectory, id: id)
        if case .absent = read { return RunFile.read(directory: state + "/run", id: id) }
        return read
    }

    private func runFile(_ id: Int) -> RunFile? { readRunFile(id).file }

    /// Jobs whose shim exited while their run file could not be read (no descriptor or
    /// memory left): read again with backoff until it can be, never taken for `lost`.
    private var unreadExits: [Int: (attempts: Int, nextAt: Double)] = [:]
    /// No launch before this monotonic time: spawning failed for want of a resource
    /// (descriptors, processes, memory) and the job went back to the queue.
    private var launchesPausedUntil = 0.0

    private func runPath(_ id: Int) -> String {
        let path = RunFile.path(directory: runDirectory, id: id)
        let legacy = RunFile.path(directory: state + "/run", id: id)
        return access(path, F_OK) != 0 && access(legacy, F_OK) == 0 ? legacy : path
    }

    /// The history version the last written snapshot holds.
    private var snapshottedVersion = -1

    /// Jobs whose creation was refused because the journal failed (see ``create(_:)``).
    private var refused: Set<Int> = []

    // MARK: - Start-up

    /// Loads the history (newest valid snapshot + journal) and settles the jobs the
    /// history says are pending or running.
    func recover(snapshot: JobTable?, journaled: [Job]) -> (pending: Int, finished: Int, adopted: Int, lost: Int) {
        func placeholder(_ id: Int) -> Job {
            Job(
                id: id,
                instance: configuration.instance,
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
        var counts = (pending: 0, finished: 0, adopted: 0, lost: 0)
        let now = Date().timeIntervalSince1970
        // A pending job whose run file exists was being launched when the manager stopped
        // (its `running` record was not yet in the journal): the launcher creates the file
        // before it spawns the shim. It is running (or ran) unless the file stays empty —
        // then no shim ever started and it is launched again. Never twice.
        let pendingWithRunFile = jobs.indices.filter {
            jobs.status(at: $0) == .pending
                && FileManager.default.fileExists(atPath: runPath($0 + 1))
        }
        if !pendingWithRunFile.isEmpty {
            let deadline = Date().addingTimeInterval(2)
            while Date() < deadline,
                pendingWithRunFile.contains(where: {
                    if case .absent = readRunFile(jobs[$0].id) { true } else { false }
                })
            {
                usleep(20_000)
            }
            for index in pendingWithRunFile {
                switch readRunFile(jobs[index].id) {
                case .present(let run):
                    jobs[index].status = .running
                    jobs[index].pid = Int(run.pid)
                    jobs[index].startedAt = jobs[index].startedAt ?? Timestamp.quantized(Date())
                    journalRecord(jobs[index].id)
                case .unreadable:
                    // Cannot tell now whether a shim started: taken as running (its file is
                    // read again by `tick`), never launched a second time.
                    jobs[index].status = .running
                    jobs[index].startedAt = jobs[index].startedAt ?? Timestamp.quantized(Date())
                    journalRecord(jobs[index].id)
                case .absent:
                    unlink(runPath(jobs[index].id))
                }
            }
        }
        // The shims still running for this state directory (one pass over /proc): stops go
        // through them (whole tree) and the monitor follows their descendants.
        let runningIDs = Set(jobs.indices.filter { jobs.status(at: $0) == .running }.map { $0 + 1 })
        let shimPids =
            runningIDs.isEmpty
            ? [:] : ShimFinder.find(ids: runningIDs, stateDirectory: state, runDirectory: runDirectory)
        for index in jobs.indices {
            let id = index + 1
            switch jobs.status(at: index) {
            case .pending:
                guard let spec = readSpec(id) else {
                    markLost(id, "lost: its spec file is damaged")
                    counts.lost += 1
                    continue
                }
                specs[id] = spec
                if let notBefore = spec.notBefore, notBefore > now { delayed.append(id) } else { pending.append(id) }
                counts.pending += 1
            case .running:
                let run = readRunFile(id)
                if let record = run.file?.exit {
                    specs[id] = readSpec(id)
                    running[id] = Running(launchedAt: monotonicSeconds())
                    finish(id, record: record)
                    counts.finished += 1
                } else if alivePid(id) != nil || shimPids[id] != nil {
                    // Its process runs, or its shim does (waiting for or stopping leftover
                    // processes): running until the shim records its end.
                    specs[id] = readSpec(id)
                    var r = Running(
                        shimPid: shimPids[id],
                        adopted: true,
                        jobPid: run.file?.pid,
                        launchedAt: monotonicSeconds()
                    )
                    if let timeout = specs[id]?.timeoutSeconds, let started = jobs[index].startedAt {
                        r.deadline = monotonicSeconds() + timeout - Date().timeIntervalSince(started)
                    }
                    running[id] = r
                    counts.adopted += 1
                } else if case .unreadable = run {
                    // Unknowable right now, not unknown: adopted, and its file read again.
                    specs[id] = readSpec(id)
                    running[id] = Running(adopted: true, launchedAt: monotonicSeconds())
                    counts.adopted += 1
                } else {
                    markLost(id, "lost: the manager restarted and neither the process nor its exit record was found")
                    counts.lost += 1
                }
            default:
                break
            }
        }
        launcher.cgroups?.sweep()  // groups of jobs that ended while no manager ran
        version += 1
        // Loaded from a snapshot with nothing journaled or settled since: that snapshot is
        // the whole history, so no new one is needed until something changes.
        if snapshot != nil, journaled.isEmpty, counts == (0, 0, 0, 0), pendingWithRunFile.isEmpty {
            snapshottedVersion = version
        }
        return counts
    }

    /// The job's pid from its pid file, when that process is alive with the same start time.
    private func alivePid(_ id: Int) -> Int32? {
        guard let run = runFile(id) else { return nil }
        let pid = run.pid
        var file = ProcFile()
        guard file.read("/proc/\(pid)/stat"), let stat = ProcStat.parse(file.bytes), stat.startTime == run.startTime,
            stat.state != UInt8(ascii: "Z")
        else { return nil }
        return pid
    }

    private func markLost(_ id: Int, _ reason: String) {
        // Its shim is gone: whatever the job left in its group goes too.
        launcher.cgroups?.release(id: id, kill: true)
        jobs[id - 1].status = .lost
        jobs[id - 1].reason = reason
        jobs[id - 1].endedAt = jobs[id - 1].endedAt ?? Timestamp.quantized(Date())
        version += 1  // stats and snapshots see the change (it was missed before)
        ServiceMetrics.finished(.lost, durationSeconds: nil)
        journalRecord(id)
    }

    // MARK: - Requests

    /// Creates a job; answers once its record is durable. Launches it when a slot is free.
    func create(_ request: JobRequest) async throws -> Job {
        if let error = journal.lastError {
            throw APIError.unavailable("the journal cannot be written (\(error)); no job is accepted until it can")
        }
        if let shortage = DescriptorBudget.shared.shortage {
            throw APIError.unavailable("\(shortage); no job is accepted until descriptors are free again")
        }
        let id = jobs.count + 1
        let job = Job(
            id: id,
            instance: configuration.instance,
            name: request.name,
            command: request.command,
            cwd: request.cwd,
            labels: request.labels,
            status: .pending
        )
        var environment = configuration.baseEnvironment
        environment.merge(request.env) { $1 }
        let spec = Spec(
            env: environment,
            timeoutSeconds: request.timeoutSeconds,
            maxRssBytes: request.maxRssBytes,
            retries: request.retries ?? configuration.defaultRetries
        )
        do {
            try writeSpecIfNeeded(id, spec)
        } catch {
            throw APIError.unavailable("cannot write the job's spec file: \(error)")
        }
        jobs.append(job)
        specs[id] = spec
        version += 1
        do {
            try await journal.append(Data(JobJSON.encode(job)), durable: true)
        } catch {
            // Refused (503): not recorded, so not kept. Refused jobs at the end of the
            // history are dropped; one followed by a recorded job (rare: the disk filled and
            // emptied during one request) stays as `lost` in memory, and a restart shows
            // it the same way (no record of it survived).
            jobs[id - 1].status = .lost
            jobs[id - 1].reason = "lost: its record could not be written (\(error)); the request was refused"
            specs[id] = nil
            unlink("\(state)/specs/\(id).json")
            refused.insert(id)
            while let last = jobs.last, refused.contains(last.id), jobs.removeLastIfRecent() { refused.remove(last.id) }
            version += 1
            throw APIError.unavailable("the job could not be recorded: \(error)")
        }
        pending.append(id)
        launchPending()
        return jobs[id - 1]
    }

    func job(_ id: Int) -> Job? {
        id >= 1 && id <= jobs.count ? jobs[id - 1] : nil
    }

    struct ListQuery: Sendable {
        var statuses: Set<JobStatus> = []
        var names: [String] = []
        var since: Date?
        var until: Date?
        var afterID = 0
        var limit = 100
    }

    /// Jobs in id order after `afterID` that match; the next cursor id when more remain.
    func list(_ query: ListQuery) -> (jobs: [Job], next: Int?) {
        var out: [Job] = []
        var index = max(0, query.afterID)
        let since = query.since.map(Timestamp.micros)
        let until = query.until.map(Timestamp.micros)
        // Filters read the columns; only the jobs of the page are rebuilt.
        while index < jobs.count {
            let current = index
            index += 1
            if !query.statuses.isEmpty, !query.statuses.contains(jobs.status(at: current)) { continue }
            if !query.names.isEmpty {
                let name = jobs.name(at: current)
                if !query.names.contains(where: { fnmatch($0, name, 0) == 0 }) { continue }
            }
            if since != nil || until != nil {
                let started = jobs.startedAtMicros(at: current)
                if let since, (started ?? .min) < since { continue }
                if let until, (started ?? .max) >= until { continue }
            }
            out.append(jobs[current])
            if out.count == query.limit { return (out, index < jobs.count ? current + 1 : nil) }
        }
        return (out, nil)
    }

    /// Cancels a pending job at once, or stops a running one (it ends `cancelled`).
    func cancel(_ id: Int) async throws -> Job {
        guard let job = job(id) else { throw APIError.notFound("job \(id) not found") }
        switch job.status {
        case .pending:
            jobs[id - 1].status = .cancelled
            jobs[id - 1].reason = "cancelled"
            jobs[id - 1].endedAt = Timestamp.quantized(Date())
            specs[id] = nil
            version += 1
            ServiceMetrics.finished(.cancelled, durationSeconds: nil)
            endedSinceCut.append(id)
            try await journal.append(Data(JobJSON.encode(jobs[id - 1])), durable: true)
            unlink(specPath(id))
        case .running:
            terminate(id, .cancelled)
        default:
            throw APIError.conflict("job \(id) has already ended (\(job.status.rawValue))")
        }
        return jobs[id - 1]
    }

    // MARK: - Launching

    private var hasFreeSlot: Bool {
        configuration.maxConcurrent.map { running.count < $0 } ?? true
    }

    private func launchPending() {
        // Out of descriptors, processes or memory: jobs wait as pending (never "failed").
        if launchesPausedUntil > 0 {
            guard monotonicSeconds() >= launchesPausedUntil, DescriptorBudget.shared.shortage == nil else { return }
            launchesPausedUntil = 0
        }
        while hasFreeSlot, pendingHead < pending.count {
            let id = pending[pendingHead]
            pendingHead += 1
            guard jobs[id - 1].status == .pending else { continue }
            launch(id)
        }
        if pendingHead > 1024, pendingHead * 2 > pending.count {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
    }

    private func launch(_ id: Int) {
        let job = jobs[id - 1]
        let spec = specs[id] ?? defaultSpec
        let now = monotonicSeconds()
        running[id] = Running(launchedAt: now, deadline: spec.timeoutSeconds.map { now + $0 })
        jobs[id - 1].status = .running
        jobs[id - 1].startedAt = Timestamp.quantized(Date())
        version += 1
        ServiceMetrics.jobsStarted.increment()
        journalRecord(id)
        let launcher = self.launcher
        let reaper = self.reaper
        spawnQueue.async {
            let result = Result { () throws(ShimLauncher.SpawnError) in
                try launcher.launch(
                    id: id,
                    command: job.command,
                    cwd: job.cwd,
                    environment: spec.env,
                    memoryMax: spec.maxRssBytes
                )
            }
            if case .success = result { reaper.childStarted() }
            Task { await self.spawned(id, result) }
        }
    }

    /// The spawn of job `id`'s shim returned.
    private func spawned(_ id: Int, _ result: Result<pid_t, ShimLauncher.SpawnError>) {
        switch result {
        case .success(let shim):
            shims[shim] = id
            running[id]?.shimPid = shim
            logger.debug("Job started", metadata: ["job.id": "\(id)", "shim.pid": "\(shim)"])
            if unclaimedExits.remove(shim) != nil {
                shimExited(shim)
            } else if running[id]?.kill != nil {
                kill(shim, SIGTERM)  // stopped while it was being spawned; the shim forwards it
            }
        case .failure(let error) where error.isTransient:
            // No descriptor, process or memory to start it now: back to the head of the
            // queue, launches paused for a moment. Not the job's failure.
            running[id] = nil
            jobs[id - 1].status = .pending
            jobs[id - 1].startedAt = nil
            version += 1
            journalRecord(id)
            pending.insert(id, at: pendingHead)
            launchesPausedUntil = monotonicSeconds() + 0.5
            logger.warning("Job launch postponed", metadata: ["job.id": "\(id)", "error": "\(error)"])
        case .failure(let error):
            running[id] = nil
            launcher.cgroups?.release(id: id)
            jobs[id - 1].status = .failed
            jobs[id - 1].reason = error.description
            jobs[id - 1].endedAt = jobs[id - 1].startedAt
            jobs[id - 1].durationSeconds = 0
            version += 1
            ServiceMetrics.finished(.failed, durationSeconds: 0)
            journalRecord(id)
            logger.error("Job could not start", metadata: ["job.id": "\(id)", "error": "\(error)"])
            launchPending()
        }
    }

    /// Appends the job's current record to the journal (synced by the next group commit).
    /// Once a final record is on disk the job's spec file (its `env`) goes: nothing needs it.
    private func journalRecord(_ id: Int) {
        let job = jobs[id - 1]
        guard job.status.isFinal else {
            journal.enqueue(Data(JobJSON.encode(job)))
            return
        }
        endedSinceCut.append(id)
        let spec = specPath(id)
        journal.enqueue(Data(JobJSON.encode(job)), afterSync: { unlink(spec) })
    }

    // MARK: - Stopping

    private func terminate(_ id: Int, _ reason: KillReason) {
        guard var r = running[id], r.kill == nil else { return }
        r.kill = reason
        r.killAt = monotonicSeconds() + configuration.killGraceSeconds
        running[id] = r
        if let shim = r.shimPid {
            // The shim signals the job's group and every descendant (escaped ones too),
            // and SIGKILLs what is left after jobs.killGraceSeconds.
            kill(shim, SIGTERM)
        } else if let pid = r.jobPid ?? readPid(id) {
            kill(-pid, SIGTERM)  // an adopted job whose shim was not found
        }
        logger.info("Job stopping", metadata: ["job.id": "\(id)", "reason": "\(reason.rawValue)"])
    }

    private func readPid(_ id: Int) -> Int32? {
        guard let pid = runFile(id)?.pid else { return nil }
        if running[id] != nil {
            running[id]!.jobPid = pid
            jobs[id - 1].pid = Int(pid)
        }
        return pid
    }

    // MARK: - Ending

    /// The reaper saw a shim exit.
    func shimExited(_ pid: pid_t) {
        guard let id = shims.removeValue(forKey: pid) else {
            unclaimedExits.insert(pid)
            return
        }
        settleExit(id)
    }

    /// Finishes job `id` from its run file after its shim exited; a file that cannot be
    /// read now is read again later (see ``unreadExits``).
    private func settleExit(_ id: Int) {
        switch readRunFile(id) {
        case .unreadable(let error):
            let attempts = (unreadExits[id]?.attempts ?? 0) + 1
            unreadExits[id] = (attempts, monotonicSeconds() + min(0.05 * pow(2, Double(attempts - 1)), 5))
            if attempts == 1 || attempts.isMultiple(of: 20) {
                logger.warning(
                    "Run file cannot be read now; trying again",
                    metadata: [
                        "job.id": "\(id)", "error": "\(String(cString: strerror(error)))", "attempt": "\(attempts)",
                    ]
                )
            }
            return
        case .present(let file) where file.exit != nil:
            unreadExits[id] = nil
            if let record = file.exit { finish(id, record: record) }
        default:
            unreadExits[id] = nil
            markLost(id, "lost: its shim exited without an exit record")
            running[id] = nil
        }
        launchPending()
    }

    private func finish(_ id: Int, record: ExitRecord) {
        let kill = running.removeValue(forKey: id)?.kill
        var job = jobs[id - 1]
        job.pid = record.pid > 0 ? record.pid : job.pid
        job.startedAt = Timestamp.date(micros: record.startedAtMicros)
        job.endedAt = Timestamp.date(micros: record.endedAtMicros)
        job.durationSeconds = Double(record.endedAtMicros - record.startedAtMicros) / 1_000_000
        job.exitCode = record.exitCode
        job.signal = record.signal
        if record.cgroup == true { launcher.cgroups?.release(id: id) }
        let oomKilled = (record.oomKills ?? 0) > 0
        if !record.error.isEmpty {
            job.status = .failed
            job.reason = record.error
        } else if oomKilled, kill == nil || kill == .memoryLimit, specs[id]?.maxRssBytes != nil {
            // The kernel enforced the job's limit (memory.max) before a sample saw it.
            job.status = .failed
            job.reason = "memoryLimit"
        } else if let kill {
            switch kill {
            case .timeout:
                job.status = .timedOut
                job.reason = "timeout"
            case .cancelled:
                job.status = .cancelled
                job.reason = "cancelled"
            case .memoryLimit:
                job.status = .failed
                job.reason = "memoryLimit"
            }
        } else if record.signal != nil {
            job.status = .crashed
            if oomKilled { job.reason = "oomKilled" }
        } else {
            job.status = record.exitCode == 0 ? .succeeded : .failed
        }
        job.metrics.cpuSeconds = max(
            job.metrics.cpuSeconds,
            Double(record.userMicros + record.systemMicros) / 1_000_000
        )
        job.metrics.rssBytesMax = max(job.metrics.rssBytesMax, record.maxRssKilobytes * 1024)
        job.metrics.leftoverProcesses = record.leftoverProcesses ?? 0
        job.metrics.memoryPeakBytes = record.memoryPeakBytes ?? 0
        if job.metrics.sampleCount == 0 { job.metrics.rssBytesAvg = job.metrics.rssBytesMax }
        jobs[id - 1] = job
        version += 1
        ServiceMetrics.finished(job.status, durationSeconds: job.durationSeconds)
        logger.info(
            "Job ended",
            metadata: [
                "job.id": "\(id)", "job.name": "\(job.name)", "job.status": "\(job.status.rawValue)",
                "job.exitCode": "\(job.exitCode.map(String.init) ?? "-")",
                "job.signal": "\(job.signal.map(String.init) ?? "-")",
            ]
        )
        scheduleRetry(of: id)
        journalRecord(id)
    }

    private func scheduleRetry(of id: Int) {
        let job = jobs[id - 1]
        guard let spec = specs[id] else { return }
        specs[id] = nil
        guard job.status.isFailure, job.attempt <= spec.retries,
            !(job.exitCode.map { configuration.noRetryExitCodes.contains($0) } ?? false)
        else { return }
        let delay = min(
            configuration.retryDelaySeconds * pow(2, Double(job.attempt - 1)),
            configuration.maxRetryDelaySeconds
        )
        let retryID = jobs.count + 1
        var retrySpec = spec
        retrySpec.notBefore = Date().timeIntervalSince1970 + delay
        try? writeSpecIfNeeded(retryID, retrySpec)
        let retry = Job(
            id: retryID,
            instance: job.instance,
            name: job.name,
            command: job.command,
            cwd: job.cwd,
            labels: job.labels,
            status: .pending,
            attempt: job.attempt + 1,
            parentId: id
        )
        jobs.append(retry)
        specs[retryID] = retrySpec
        jobs[id - 1].retriedBy = retryID
        delayed.append(retryID)
        ServiceMetrics.retriesScheduled.increment()
        journalRecord(retryID)
        logger.info(
            "Job retry scheduled",
            metadata: ["job.id": "\(id)", "retry.id": "\(retryID)", "delay.seconds": "\(delay)"]
        )
    }

    // MARK: - Timers and monitoring

    /// Timeouts, kill escalation, due retries, adopted jobs that ended, pending launches.
    func tick() {
        let now = monotonicSeconds()
        for (id, r) in running {
            if r.kill == nil, let deadline = r.deadline, now >= deadline {
                terminate(id, .timeout)
            } else if let killAt = r.killAt, now >= killAt {
                if let pid = r.jobPid ?? readPid(id) { kill(-pid, SIGKILL) }
                running[id]?.killAt = now + 1
            }
            if r.adopted, let record = runFile(id)?.exit {
                finish(id, record: record)
            }
        }
        for (id, retry) in unreadExits where now >= retry.nextAt { settleExit(id) }
        if !delayed.isEmpty {
            let wall = Date().timeIntervalSince1970
            var waiting: [Int] = []
            for id in delayed {
                if (specs[id]?.notBefore ?? 0) <= wall { pending.append(id) } else { waiting.append(id) }
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

    struct Sample: Sendable {
        var id: Int
        var metrics: JobMetrics
        var rssNow: Int64
    }

    /// Live metrics from the monitor; enforces memory limits.
    func apply(_ samples: [Sample]) {
        for sample in samples where running[sample.id] != nil {
            jobs[sample.id - 1].metrics = sample.metrics
            if let limit = specs[sample.id]?.maxRssBytes, sample.rssNow > Int64(limit) {
                terminate(sample.id, .memoryLimit)
            }
        }
        if !samples.isEmpty { version += 1 }
    }

    // MARK: - Snapshots and stats

    /// A consistent cut: the journal moves to a new segment and the table holds every
    /// record written before it.
    /// `nil` when nothing changed since the last snapshot written and `force` is false.
    func snapshotCut(force: Bool) throws -> (table: JobTable, segment: Int, ended: [Int], version: Int)? {
        if !force, version == snapshottedVersion, lastSnapshotError == nil { return nil }
        let segment = try journal.rotate()
        defer { endedSinceCut.removeAll() }
        return (jobs.compact(), segment, endedSinceCut, version)
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

    struct Health: Sendable {
        var running: Int
        var pending: Int
        var jobs: Int
        var journalError: String?
        var lastSnapshot: SnapshotInfo?
        var lastSnapshotError: String?
        /// `cgroup` (a cgroup v2 group per job) or `proc`.
        var containment: String
    }

    func health() -> Health {
        Health(
            running: running.count,
            // From the queues, not a scan of the whole history: health is polled often.
            pending: (pending[pendingHead...] + delayed).lazy.filter { self.jobs[$0 - 1].status == .pending }.count,
            jobs: jobs.count,
            journalError: journal.lastError,
            lastSnapshot: lastSnapshot,
            lastSnapshotError: lastSnapshotError,
            containment: launcher.cgroups == nil ? "proc" : "cgroup"
        )
    }

    // MARK: - Spec files

    /// The spec of a job whose request set nothing: what a missing spec file means.
    private var defaultSpec: Spec {
        Spec(env: configuration.baseEnvironment, retries: configuration.defaultRetries)
    }

    /// Writes the spec file unless the spec is the default one (most jobs): a file
    /// creation per job is a measurable part of launching it.
    private func writeSpecIfNeeded(_ id: Int, _ spec: Spec) throws {
        let d = defaultSpec
        if spec.env == d.env, spec.timeoutSeconds == nil, spec.maxRssBytes == nil, spec.retries == d.retries,
            spec.notBefore == nil
        {
            return
        }
        try writeSpec(id, spec)
    }

    private func specPath(_ id: Int) -> String { "\(state)/specs/\(id).json" }

    private func writeSpec(_ id: Int, _ spec: Spec) throws {
        let data = try JSONEncoder().encode(spec)
        let path = specPath(id)
        let fd = open(path + ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Journal.Failure(message: "\(path): \(String(cString: strerror(errno)))") }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == data.count, rename(path + ".tmp", path) == 0 else {
            throw Journal.Failure(message: "\(path): \(String(cString: strerror(errno)))")
        }
    }

    private func readSpec(_ id: Int) -> Spec? {
        guard let data = FileManager.default.contents(atPath: "\(state)/specs/\(id).json") else { return defaultSpec }
        return try? JSONDecoder().decode(Spec.self, from: data)
    }

    /// Removes the run and spec files of jobs that ended before a snapshot cut, once the
    /// snapshot holds them; after a failed snapshot they wait for the next one.
    func removeFilesOfEndedJobs(_ ids: [Int], snapshotWritten: Bool) {
        guard snapshotWritten else {
            endedSinceCut = ids + endedSinceCut
            return
        }
        for id in ids where running[id] == nil && specs[id] == nil {
            unlink(RunFile.path(directory: runDirectory, id: id))
            unlink(RunFile.path(directory: state + "/run", id: id))  // an older shim's
            unlink("\(state)/specs/\(id).json")
        }
    }
}
