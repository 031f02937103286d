import Foundation
import JobModel

/// The life of one job: every status change of every job is decided here and nowhere else.
///
/// A pure function of (state, event) to (next state, the record's change, actions), in the
/// spirit of postgres-nio's `PoolStateMachine`: the machine decides, ``JobSupervisor``
/// executes the actions and commits the record — one change-counter step for every
/// change, and one journal record for every durable one. No I/O and no clock: the caller
/// passes `now`. README › How a job lives draws ``transitions`` as a diagram.
enum JobLifecycle {
    /// Why the manager stops a running job.
    enum StopReason: String, Sendable, Hashable, CaseIterable {
        case timeout, cancelled, memoryLimit
    }

    enum State: Hashable, Sendable {
        /// Waiting for a slot, or for a retry's time (`notBefore`).
        case pending
        /// `running` in the record; its shim is being spawned.
        case starting
        case running
        /// `running` in the record; the shim was asked to stop the job's tree.
        case stopping(StopReason)
        case ended(JobStatus)

        /// The state a record shows when nothing more is known (recovery, the API).
        init(status: JobStatus) {
            switch status {
            case .pending: self = .pending
            case .running: self = .running
            default: self = .ended(status)
            }
        }

        var status: JobStatus {
            switch self {
            case .pending: .pending
            case .starting, .running, .stopping: .running
            case .ended(let status): status
            }
        }
    }

    enum Event: Sendable {
        /// A slot is free: start it.
        case launch
        /// Its shim's spawn returned.
        case spawned
        /// No descriptor, process or memory to spawn now: it waits again (not its failure).
        case spawnPostponed
        /// The shim could not be started at all.
        case spawnFailed(String)
        /// At start-up: a job the history shows pending or running whose shim runs (or ran).
        case adopted(pid: Int?)
        /// The monitor's figures; `rssNow` against the job's `maxRssBytes` (`limit`).
        case sampled(JobMetrics, rssNow: Int64, limit: Int?)
        case timeoutDue
        case cancelRequested
        /// Its exit record.
        case exited(ExitRecord)
        /// Its end cannot be known (no exit record, no process, no spec).
        case lost(String)
        /// A retry's time has come (`notBefore`).
        case retryDue
        /// `dependsOn`: a job it depends on has not ended yet (the record's reason says which).
        case dependencyWaiting(String)
        /// `dependsOn`: every condition holds; it may run.
        case dependenciesMet
        /// `dependsOn`: a condition can no longer hold; it is skipped.
        case dependencyFailed(String)
        /// The manager stops; jobs run on under their shims.
        case shuttingDown
    }

    enum Action: Hashable, Sendable {
        /// Spawn the job's shim.
        case spawn
        /// SIGTERM to the shim (it stops the whole tree; SIGKILL after the grace).
        case signalStop(StopReason)
        /// Back to the head of the queue; launches pause a moment.
        case requeue
        /// Into the launch queue.
        case enqueue
        /// A new job `id` retries this one after `delaySeconds` (``retry(of:id:)``).
        case scheduleRetry(id: Int, delaySeconds: Double)
        /// Kill what is left of a job whose shim is gone (its cgroup).
        case killLeftovers
        /// A job reached a final status (metrics, logs, its files' removal).
        case finished(JobStatus)
    }

    /// How a transition changed the job's record.
    enum Change: Hashable, Sendable {
        /// Not at all.
        case none
        /// Live figures only: the change counter moves, nothing is journaled.
        case live
        /// The counter moves and the record is journaled.
        case durable
    }

    struct Decision: Hashable, Sendable {
        var next: State
        var change: Change
        var actions: [Action] = []
    }

    /// An event that cannot happen in this state (an exit after `lost`, a cancel after the
    /// end, a second exit): nothing changes.
    struct Refusal: Error, Hashable, Sendable, CustomStringConvertible {
        var state: State
        var description: String
    }

    /// What the machine needs beyond the record.
    struct Context: Sendable {
        var now: Date
        /// Retries the job's request allows (`retries`).
        var retries = 0
        var policy = RetryPolicy()
        /// The id a retry would get.
        var nextID = 0
        /// Whether the job has `maxRssBytes` (an OOM kill is then the limit's doing).
        var hasMemoryLimit = false
    }

    /// Decides `event` for a job in `state` and makes the record's change on `job`.
    static func decide(
        _ event: Event,
        in state: State,
        job: inout Job,
        context: Context
    ) -> Result<Decision, Refusal> {
        func refuse(_ why: String) -> Result<Decision, Refusal> { .failure(Refusal(state: state, description: why)) }
        func end(_ status: JobStatus, reason: String?, extra: [Action] = []) -> Result<Decision, Refusal> {
            job.status = status
            job.reason = reason
            job.endedAt = job.endedAt ?? Timestamp.quantized(context.now)
            return .success(Decision(next: .ended(status), change: .durable, actions: extra + [.finished(status)]))
        }
        let unchanged = Result<Decision, Refusal>.success(Decision(next: state, change: .none))
        if case .ended(let status) = state {
            switch event {
            case .shuttingDown: return unchanged
            case .cancelRequested: return refuse("job \(job.id) has already ended (\(status.rawValue))")
            case .exited: return refuse("a second exit of job \(job.id) (it ended \(status.rawValue))")
            default: return refuse("job \(job.id) has already ended (\(status.rawValue))")
            }
        }
        switch (state, event) {
        // Pending.
        case (.pending, .launch):
            job.status = .running
            job.startedAt = Timestamp.quantized(context.now)
            return .success(Decision(next: .starting, change: .durable, actions: [.spawn]))
        case (.pending, .cancelRequested):
            return end(.cancelled, reason: "cancelled")
        case (.pending, .adopted(let pid)), (.running, .adopted(let pid)):
            // A pending record whose shim had started: it runs (or ran), never launched twice.
            guard state == .pending else { return unchanged }
            job.status = .running
            job.pid = pid ?? job.pid
            job.startedAt = job.startedAt ?? Timestamp.quantized(context.now)
            return .success(Decision(next: .running, change: .durable))
        case (.pending, .retryDue):
            return .success(Decision(next: .pending, change: .none, actions: [.enqueue]))
        case (.pending, .dependencyWaiting(let why)):
            guard job.reason != why else { return unchanged }
            job.reason = why
            return .success(Decision(next: .pending, change: .durable))
        case (.pending, .dependenciesMet):
            let change: Change = job.reason == nil ? .none : .durable
            job.reason = nil
            return .success(Decision(next: .pending, change: change, actions: [.enqueue]))
        case (.pending, .dependencyFailed(let why)):
            return end(.skipped, reason: why)
        case (.pending, .lost(let why)):
            return end(.lost, reason: why)
        case (.pending, .timeoutDue), (.pending, .sampled), (.pending, .shuttingDown):
            return unchanged
        case (.pending, _):
            return refuse("job \(job.id) has not started")

        // Starting: the shim is being spawned.
        case (.starting, .spawned):
            return .success(Decision(next: .running, change: .none))
        case (.starting, .spawnPostponed):
            job.status = .pending
            job.startedAt = nil
            return .success(Decision(next: .pending, change: .durable, actions: [.requeue]))
        case (.stopping(let reason), .spawnPostponed):
            // Asked to stop before it could start: a cancel ends it; a timeout starts
            // counting again at the next launch.
            if reason == .cancelled { return end(.cancelled, reason: "cancelled") }
            job.status = .pending
            job.startedAt = nil
            return .success(Decision(next: .pending, change: .durable, actions: [.requeue]))
        case (.starting, .spawnFailed(let why)), (.stopping, .spawnFailed(let why)):
            job.status = .failed
            job.reason = why
            job.endedAt = job.startedAt
            job.durationSeconds = 0
            return .success(Decision(next: .ended(.failed), change: .durable, actions: [.finished(.failed)]))
        case (.stopping(let reason), .spawned):
            // Stopped while it was being spawned: the shim exists now to be told.
            return .success(Decision(next: state, change: .none, actions: [.signalStop(reason)]))

        // Running (or starting): stops, figures, the end.
        case (.starting, .cancelRequested), (.running, .cancelRequested):
            return .success(Decision(next: .stopping(.cancelled), change: .none, actions: [.signalStop(.cancelled)]))
        case (.starting, .timeoutDue), (.running, .timeoutDue):
            return .success(Decision(next: .stopping(.timeout), change: .none, actions: [.signalStop(.timeout)]))
        case (.starting, .sampled(let metrics, let rss, let limit)),
            (.running, .sampled(let metrics, let rss, let limit)),
            (.stopping, .sampled(let metrics, let rss, let limit)):
            // Figures that did not move are no change (the counter stays).
            let change: Change = job.metrics == metrics ? .none : .live
            job.metrics = metrics
            if let limit, rss > Int64(limit), state == .running || state == .starting {
                return .success(
                    Decision(next: .stopping(.memoryLimit), change: change, actions: [.signalStop(.memoryLimit)])
                )
            }
            return .success(Decision(next: state, change: change))
        case (.stopping, .cancelRequested), (.stopping, .timeoutDue):
            return unchanged  // the first reason stands
        case (.starting, .exited(let record)), (.running, .exited(let record)), (.stopping, .exited(let record)):
            var stop: StopReason? = nil
            if case .stopping(let reason) = state { stop = reason }
            JobOutcome.apply(record, stop: stop, hasMemoryLimit: context.hasMemoryLimit, to: &job)
            var actions: [Action] = []
            if let delay = context.policy.delay(after: job, retries: context.retries) {
                job.retriedBy = context.nextID
                actions.append(.scheduleRetry(id: context.nextID, delaySeconds: delay))
            }
            return .success(
                Decision(next: .ended(job.status), change: .durable, actions: actions + [.finished(job.status)])
            )
        case (.starting, .lost(let why)), (.running, .lost(let why)), (.stopping, .lost(let why)):
            return end(.lost, reason: why, extra: [.killLeftovers])
        case (.starting, .shuttingDown), (.running, .shuttingDown), (.stopping, .shuttingDown):
            return unchanged  // jobs outlive the manager
        case (.running, .spawned):
            return refuse("job \(job.id) was not being spawned")
        case (.starting, _), (.running, _), (.stopping, _):
            return refuse("job \(job.id) has already started")
        case (.ended, _):
            return refuse("job \(job.id) has already ended")
        }
    }

    /// The job that retries `parent` (after its end): same command, queue and schedule, one
    /// attempt more (`rerunOf` stays with the chain's first job; `parentId` links the rest).
    static func retry(of parent: Job, id: Int) -> Job {
        Job(
            id: id,
            instance: parent.instance,
            name: parent.name,
            command: parent.command,
            cwd: parent.cwd,
            labels: parent.labels,
            status: .pending,
            attempt: parent.attempt + 1,
            parentId: parent.id,
            queue: parent.queue,
            scheduleId: parent.scheduleId,
            timeoutSeconds: parent.timeoutSeconds,
            maxRssBytes: parent.maxRssBytes,
            retries: parent.retries
        )
    }
}
