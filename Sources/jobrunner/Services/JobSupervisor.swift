import CoreMetrics
import Foundation
import JobModel
import Logging
import ProcessMonitor
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Owns every job: executes what ``JobLifecycle`` decides, and owns the queues and files.
///
/// The single owner of the job store. HTTP handlers, the monitor and the reaper talk to it;
/// side effects that block (snapshot writing, /proc sampling, spawning) run outside it.
/// Every status change goes through ``handle(_:_:in:)``; recovery, queries and snapshots
/// are in the `JobSupervisor+…` files (launching, stopping and ending in
/// `JobSupervisor+Launching.swift`).
actor JobSupervisor: JobService {
    /// A job that holds a slot: being spawned, running, or stopping.
    struct Running: Sendable {
        /// `nil` while the shim is being spawned, and for an adopted job whose shim was not
        /// found (one started by a shim too old to be found, or gone).
        var shimPid: pid_t?
        /// Started by an earlier manager: its end is found by polling its run file.
        var adopted = false
        var jobPid: Int32?
        var launchedAt: Double
        var deadline: Double?
        var kill: JobLifecycle.StopReason?
        var killAt: Double?
    }

    /// `jobs.*`.
    let settings: JobsConfiguration
    /// `instance`, recorded in every job.
    let instance: String
    let launcher: ShimLauncher
    let journal: Journal
    let reaper: Reaper
    let logger: Logger
    let files: JobFiles
    let retryPolicy: RetryPolicy
    let startedAt = Date()

    var jobs = JobStore()
    /// Jobs that reached a final status since the last snapshot cut: their run and spec
    /// files go once a snapshot holds them.
    var endedSinceCut: [Int] = []
    var specs: [Int: JobSpec] = [:]
    /// Jobs some job reruns (`rerunOf`): a filtered rerun skips them.
    var rerun: Set<Int> = []
    /// Pending jobs that may start, by queue (`queues`), and each queue's running count.
    var queues: LaunchQueues
    /// Retries waiting for their time (`notBefore`).
    var delayed: [Int] = []
    /// Jobs waiting for their `dependsOn`, by the job each waits for now.
    var waitingOn: [Int: Set<Int>] = [:]
    /// Every job waiting for its `dependsOn`.
    var waiting: Set<Int> = []
    /// `Idempotency-Key`s of the last `jobs.idempotencyWindowSeconds`, by scope and key.
    var idempotencyKeys: [String: IdempotencyEntry] = [:]
    var running: [Int: Running] = [:]
    /// `notify.webhooks`: who is told of what.
    let webhooks: [WebhookConfiguration]
    /// Messages not yet delivered, by `seq` (see ``OutboxEntry``).
    var outbox: [Int: OutboxEntry] = [:]
    var nextOutboxSeq = 1
    /// Schedules and their last runs (`STATE/schedules.json`).
    var schedules = ScheduleFile.Contents()
    /// Queues whose `queueDrained` was sent since their last new job (sent once per drain).
    var drainAnnounced: Set<String> = []
    /// `GET /v1/events`: every journaled change, once synced, in journal order.
    let events: EventHub
    /// The last event sequence number given to a journaled change.
    var lastEventSeq = 0
    /// The newest monitor figures of each running job (for `metrics` events).
    var live: [Int: LiveFigure] = [:]
    /// Every new outbox entry, for ``WebhookService`` (recovered ones first).
    let notifications: AsyncStream<OutboxEntry>
    let notificationContinuation: AsyncStream<OutboxEntry>.Continuation
    var shims: [pid_t: Int] = [:]
    /// Shims that exited before their spawn call returned to us.
    var unclaimedExits: Set<pid_t> = []
    /// Jobs to spawn, in order: ``SupervisorService`` spawns each off the actor (a spawn
    /// blocks until the shim has exec'd) and reports back through ``spawned(_:_:)``.
    let spawnRequests: AsyncStream<SpawnRequest>
    let spawnContinuation: AsyncStream<SpawnRequest>.Continuation

    struct SpawnRequest: Sendable {
        var id: Int
        var command: [String]
        var cwd: String?
        var environment: [String: String]
        var memoryMax: Int?
    }
    /// The change counter: moves with every change of the history (stats cache, snapshots).
    var version = 0
    var statsCache: (key: String, report: AnalysisReport)?
    var lastSnapshot: SnapshotInfo?
    var lastSnapshotError: String?
    /// The history version the last written snapshot holds.
    var snapshottedVersion = -1
    /// Jobs whose creation was refused because the journal failed (see ``create(_:)``).
    var refused: Set<Int> = []
    /// Jobs whose shim exited while their run file could not be read (no descriptor or
    /// memory left): read again with backoff until it can be, never taken for `lost`.
    var unreadExits: [Int: (attempts: Int, nextAt: Double)] = [:]
    /// No launch before this monotonic time: spawning failed for want of a resource
    /// (descriptors, processes, memory) and the job went back to the queue.
    var launchesPausedUntil = 0.0

    init(
        settings: JobsConfiguration,
        instance: String,
        stateDirectory: String,
        runDirectory: String,
        launcher: ShimLauncher,
        journal: Journal,
        reaper: Reaper,
        logger: Logger,
        webhooks: [WebhookConfiguration] = [],
        events: EventHub = EventHub()
    ) {
        self.webhooks = webhooks
        self.events = events
        (notifications, notificationContinuation) = AsyncStream.makeStream(of: OutboxEntry.self)
        self.settings = settings
        self.queues = LaunchQueues(
            limits: settings.queues,
            paused: QueueState.load(state: stateDirectory)
        )
        self.instance = instance
        self.launcher = launcher
        self.journal = journal
        self.reaper = reaper
        self.logger = logger
        (spawnRequests, spawnContinuation) = AsyncStream.makeStream(of: SpawnRequest.self)
        self.files = JobFiles(
            state: stateDirectory,
            runDirectory: runDirectory,
            defaultSpec: JobSpec(env: settings.baseEnvironment, retries: settings.defaultRetries)
        )
        self.retryPolicy = RetryPolicy(
            baseDelaySeconds: settings.retryDelaySeconds,
            maxDelaySeconds: settings.maxRetryDelaySeconds,
            noRetryExitCodes: settings.noRetryExitCodes
        )
    }

    // MARK: - The one place a status changes

    /// Job `id`'s state in ``JobLifecycle``: its record's status and its slot.
    func lifecycleState(_ id: Int) -> JobLifecycle.State {
        let status = jobs.status(at: id - 1)
        guard status == .running, let r = running[id] else { return JobLifecycle.State(status: status) }
        if let kill = r.kill { return .stopping(kill) }
        return r.shimPid == nil && !r.adopted ? .starting : .running
    }

    /// Decides `event` for job `id` (in `state`, else its current one), commits the
    /// record — the counter moves on every change, durable changes are journaled — and
    /// executes the decision's actions. Returns the refusal of an event that cannot happen.
    @discardableResult
    func handle(_ id: Int, _ event: JobLifecycle.Event, in state: JobLifecycle.State? = nil) -> JobLifecycle.Refusal? {
        var job = jobs[id - 1]
        let before = job.status
        let spec = specs[id]
        let context = JobLifecycle.Context(
            now: Date(),
            retries: spec?.retries ?? 0,
            policy: retryPolicy,
            nextID: jobs.count + 1,
            hasMemoryLimit: spec?.maxRssBytes != nil
        )
        switch JobLifecycle.decide(event, in: state ?? lifecycleState(id), job: &job, context: context) {
        case .failure(let refusal):
            return refusal
        case .success(let decision):
            if decision.change == .durable, job.status.isFinal, job.status != .succeeded, job.errorTail == nil,
                let tail = files.errorTail(id, maxBytes: settings.errorTailBytes)
            {
                // What its stderr said last, in the record (and masked: its signature).
                job.errorTail = tail
                job.errorSignature = ErrorSignature.of(tail)
            }
            if decision.change != .none {
                jobs[id - 1] = job
                version += 1
                if decision.change == .durable { journalRecord(id, before: before) }
            }
            for action in decision.actions { execute(action, id: id) }
            return nil
        }
    }

    private func execute(_ action: JobLifecycle.Action, id: Int) {
        switch action {
        case .spawn:
            spawn(id)
        case .signalStop(let reason):
            signalStop(id, reason)
        case .requeue:
            // No descriptor, process or memory to start it now: back to the head of the
            // queue, launches paused for a moment. Not the job's failure.
            freeSlot(id)
            queues.requeue(id, queue: jobs.queue(at: id - 1))
            launchesPausedUntil = monotonicSeconds() + 0.5
        case .enqueue:
            queues.enqueue(id, queue: jobs.queue(at: id - 1))
        case .scheduleRetry(let retryID, let delay):
            var retrySpec = specs[id] ?? files.defaultSpec
            retrySpec.notBefore = Date().timeIntervalSince1970 + delay
            retrySpec.dependsOn = nil  // they held for the first attempt
            try? files.writeSpecIfNeeded(retryID, retrySpec)
            jobs.append(JobLifecycle.retry(of: jobs[id - 1], id: retryID))
            specs[retryID] = retrySpec
            delayed.append(retryID)
            version += 1
            ServiceMetrics.retriesScheduled.increment()
            journalRecord(retryID, before: nil)
            logger.info(
                "Job retry scheduled",
                metadata: ["job.id": "\(id)", "retry.id": "\(retryID)", "delay.seconds": "\(delay)"]
            )
        case .killLeftovers:
            launcher.cgroups?.release(id: id, kill: true)
        case .finished(let status):
            freeSlot(id)
            specs[id] = nil
            waiting.remove(id)
            launcher.cgroups?.release(id: id)
            let job = jobs[id - 1]
            ServiceMetrics.finished(status, durationSeconds: job.durationSeconds)
            logger.info(
                "Job ended",
                metadata: [
                    "job.id": "\(id)", "job.name": "\(job.name)", "job.status": "\(status.rawValue)",
                    "job.exitCode": "\(job.exitCode.map(String.init) ?? "-")",
                    "job.signal": "\(job.signal.map(String.init) ?? "-")", "job.reason": "\(job.reason ?? "-")",
                ]
            )
            // The jobs that waited for this one decide again (a retry of it stands for it).
            for waiter in (waitingOn.removeValue(forKey: id) ?? []).sorted() { settleDependencies(of: waiter) }
            if job.retriedBy == nil { notifyIfDrained(after: id) }
        }
    }

    /// Decides what job `id`'s `dependsOn` allows now: run it, keep it waiting (for the job
    /// the verdict names), or skip it.
    func settleDependencies(of id: Int) {
        guard jobs.status(at: id - 1) == .pending, let dependencies = specs[id]?.dependsOn else { return }
        let verdict = JobDependency.evaluate(dependencies) { other in
            guard other >= 1, other <= jobs.count else { return nil }
            let job = jobs[other - 1]
            return (job.status, job.retriedBy)
        }
        switch verdict {
        case .met:
            waiting.remove(id)
            handle(id, .dependenciesMet)
        case .waiting(let other, let reason):
            waiting.insert(id)
            waitingOn[other, default: []].insert(id)
            handle(id, .dependencyWaiting(reason))
        case .failed(let reason):
            handle(id, .dependencyFailed(reason))
        }
    }

    /// Appends the job's current record to the journal (synced by the next group commit),
    /// tagged with its event (announced once synced; `before`: its status before the change,
    /// `nil` for a new job). Once a final record is on disk the job's spec file (its `env`)
    /// goes: nothing needs it. A final record carries the webhook messages its end causes,
    /// in the same line.
    private func journalRecord(_ id: Int, before: JobStatus?) {
        let job = jobs[id - 1]
        guard job.status.isFinal else {
            let (line, event) = tagged(JobJSON.encode(job), job: job, before: before)
            journal.enqueue(line, afterSync: { [events] in events.stage(event) })
            return
        }
        endedSinceCut.append(id)
        let spec = files.specPath(id)
        var entries: [OutboxEntry] = []
        let record = JobJSON.encode(job)
        var fullLine = record
        if !webhooks.isEmpty, let event = NotifyEvent.ofEnd(job) {
            let body =
                Array(#"{"event":""#.utf8) + Array(event.rawValue.utf8) + Array(#"","job":"#.utf8) + record + [125]
            entries = newOutboxEntries(event, body: body)
        }
        if !entries.isEmpty { fullLine = Array(OutboxEntry.journalLine(record, with: entries)) }
        let (line, event) = tagged(fullLine, record: record, job: job, before: before)
        journal.enqueue(
            line,
            afterSync: { [events] in
                unlink(spec)
                events.stage(event)
            }
        )
        for entry in entries { notificationContinuation.yield(entry) }
    }

    /// `line` (a job's journal line: its record, with what else the line carries) with the
    /// next event sequence number's tag, and the event it announces (data: the record).
    func tagged(
        _ line: [UInt8],
        record: [UInt8]? = nil,
        job: Job,
        before: JobStatus?
    ) -> (line: Data, event: ServerEvent) {
        lastEventSeq += 1
        let type = ServerEvent.changeType(of: job, before: before)
        var out = line
        out.removeLast()  // "}"
        out += ServerEvent.journalTag(seq: lastEventSeq, type: type) + [125]
        return (Data(out), ServerEvent(seq: lastEventSeq, type: type, data: record ?? line))
    }
}
