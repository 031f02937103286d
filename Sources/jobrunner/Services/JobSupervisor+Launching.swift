import CoreMetrics
import Foundation
import JobModel
import Logging
import ProcessMonitor
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Launching, stopping and ending: what ``JobSupervisor/handle(_:_:in:)`` executes for
/// the lifecycle's `spawn` and `signalStop` actions, and what the reaper reports.
extension JobSupervisor {
    // MARK: - Launching

    var hasFreeSlot: Bool {
        settings.maxConcurrent.map { running.count < $0 } ?? true
    }

    /// Job `id` holds a slot (global and its queue's).
    func occupySlot(_ id: Int, _ slot: Running) {
        if running.updateValue(slot, forKey: id) == nil { queues.occupied(queue: jobs.queue(at: id - 1)) }
    }

    /// Job `id` gives its slot back (if it held one).
    func freeSlot(_ id: Int) {
        live[id] = nil
        if running.removeValue(forKey: id) != nil { queues.freed(queue: jobs.queue(at: id - 1)) }
    }

    func launchPending() {
        // Out of descriptors, processes or memory: jobs wait as pending (never "failed").
        if launchesPausedUntil > 0 {
            guard monotonicSeconds() >= launchesPausedUntil, DescriptorBudget.shared.shortage == nil else { return }
            launchesPausedUntil = 0
        }
        while hasFreeSlot, let id = queues.next(isPending: { jobs.status(at: $0 - 1) == .pending }) {
            handle(id, .launch)
        }
    }

    func spawn(_ id: Int) {
        let job = jobs[id - 1]
        let spec = specs[id] ?? files.defaultSpec
        let now = monotonicSeconds()
        occupySlot(id, Running(launchedAt: now, deadline: spec.timeoutSeconds.map { now + $0 }))
        ServiceMetrics.jobsStarted.increment()
        spawnContinuation.yield(
            SpawnRequest(
                id: id,
                command: job.command,
                cwd: job.cwd,
                environment: spec.env,
                memoryMax: spec.maxRssBytes
            )
        )
    }

    /// No more spawns (graceful shutdown): the requests already made are still spawned.
    func stopSpawning() {
        spawnContinuation.finish()
    }

    /// The spawn of job `id`'s shim returned.
    func spawned(_ id: Int, _ result: Result<pid_t, ShimLauncher.SpawnError>) {
        switch result {
        case .success(let shim):
            let state = lifecycleState(id)
            shims[shim] = id
            running[id]?.shimPid = shim
            logger.debug("Job started", metadata: ["job.id": "\(id)", "shim.pid": "\(shim)"])
            if unclaimedExits.remove(shim) != nil {
                shimExited(shim)
            } else {
                handle(id, .spawned, in: state)
            }
        case .failure(let error) where error.isTransient:
            handle(id, .spawnPostponed)
            logger.warning("Job launch postponed", metadata: ["job.id": "\(id)", "error": "\(error)"])
        case .failure(let error):
            handle(id, .spawnFailed(error.description))
            logger.error("Job could not start", metadata: ["job.id": "\(id)", "error": "\(error)"])
            launchPending()
        }
    }

    // MARK: - Stopping

    /// SIGTERM to the job's shim: it signals the job's group and every descendant (escaped
    /// ones too), and SIGKILLs what is left after `jobs.killGraceSeconds`.
    func signalStop(_ id: Int, _ reason: JobLifecycle.StopReason) {
        guard var r = running[id] else { return }
        if r.kill == nil {
            r.kill = reason
            r.killAt = monotonicSeconds() + settings.killGraceSeconds
            running[id] = r
            logger.info("Job stopping", metadata: ["job.id": "\(id)", "reason": "\(reason.rawValue)"])
        }
        if let shim = r.shimPid {
            kill(shim, SIGTERM)
        } else if let pid = r.jobPid ?? readPid(id) {
            kill(-pid, SIGTERM)  // an adopted job whose shim was not found
        }
    }

    func readPid(_ id: Int) -> Int32? {
        guard let pid = files.readRunFile(id).file?.pid else { return nil }
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
    func settleExit(_ id: Int) {
        switch files.readRunFile(id) {
        case .unreadable(let error):
            let attempts = (unreadExits[id]?.attempts ?? 0) + 1
            unreadExits[id] = (attempts, monotonicSeconds() + min(0.05 * pow(2, Double(attempts - 1)), 5))
            if attempts == 1 || attempts.isMultiple(of: 20) {
                logger.warning(
                    "Run file cannot be read now; trying again",
                    metadata: [
                        "job.id": "\(id)", "error": "\(error)", "attempt": "\(attempts)",
                    ]
                )
            }
            return
        case .present(let file) where file.exit != nil:
            unreadExits[id] = nil
            handle(id, .exited(file.exit!))
        default:
            unreadExits[id] = nil
            handle(id, .lost("lost: its shim exited without an exit record"))
        }
        launchPending()
    }
}
