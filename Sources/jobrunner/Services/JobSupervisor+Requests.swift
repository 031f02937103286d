import Foundation
import JobModel
import ProcessMonitor

#if canImport(Glibc)
import Glibc
#endif

/// Creating and cancelling jobs (the API's writes).
extension JobSupervisor {
    // MARK: - Requests

    /// Creates a job; answers once its record is durable. Launches it when a slot is free.
    func create(_ request: JobRequest, idempotency: IdempotencyKey? = nil) async throws -> (job: Job, replayed: Bool) {
        let now = Date().timeIntervalSince1970
        if let idempotency, let entry = idempotencyKeys[idempotency.scope + "\n" + idempotency.key],
            now - entry.at < settings.idempotencyWindowSeconds
        {
            guard entry.bodySHA256 == idempotency.bodySHA256 else {
                throw APIError.conflict(
                    "Idempotency-Key '\(idempotency.key)' was used for job \(entry.job) with another body; use a new key for a new job"
                )
            }
            return (jobs[entry.job - 1], true)
        }
        if let error = journal.lastError {
            throw APIError.unavailable("the journal cannot be written (\(error)); no job is accepted until it can")
        }
        if let shortage = DescriptorBudget.shared.shortage {
            throw APIError.unavailable("\(shortage); no job is accepted until descriptors are free again")
        }
        let id = jobs.count + 1
        for (i, dependency) in request.dependsOn.enumerated() where dependency.job >= id {
            throw APIError.invalid("'dependsOn[\(i)].job' \(dependency.job) is not a job of this manager")
        }
        let job = Job(
            id: id,
            instance: instance,
            name: request.name,
            command: request.command,
            cwd: request.cwd,
            labels: request.labels,
            status: .pending,
            queue: request.queue,
            rerunOf: request.rerunOf,
            scheduleId: request.scheduleId,
            timeoutSeconds: request.timeoutSeconds,
            maxRssBytes: request.maxRssBytes,
            retries: request.retries ?? settings.defaultRetries
        )
        var environment = settings.baseEnvironment
        environment.merge(request.env) { $1 }
        let spec = JobSpec(
            env: environment,
            timeoutSeconds: request.timeoutSeconds,
            maxRssBytes: request.maxRssBytes,
            retries: request.retries ?? settings.defaultRetries,
            dependsOn: request.dependsOn.isEmpty ? nil : request.dependsOn
        )
        do {
            try files.writeSpecIfNeeded(id, spec)
        } catch {
            throw APIError.unavailable("cannot write the job's spec file: \(error)")
        }
        jobs.append(job)
        specs[id] = spec
        version += 1
        drainAnnounced.remove(LaunchQueues.name(request.queue))
        // The key goes in the job's creation line: one fsync makes both durable, so a client
        // that lost this answer to a crash and asks again gets this job, not a second one.
        let entry = idempotency.map {
            IdempotencyEntry(scope: $0.scope, key: $0.key, bodySHA256: $0.bodySHA256, job: id, at: now)
        }
        // Reserved before the journal's await: a second submit with the key that arrives
        // meanwhile (the actor runs it during the await) gets this job, not another one.
        if let entry { idempotencyKeys[entry.lookupKey] = entry }
        do {
            let record = JobJSON.encode(job)
            let (line, event) = tagged(
                entry.map { Array($0.journalLine(for: job)) } ?? record,
                record: record,
                job: job,
                before: nil
            )
            try await journal.append(line, durable: true, afterSync: { [events] in events.stage(event) })
        } catch {
            if let entry { idempotencyKeys[entry.lookupKey] = nil }
            // Refused (503): not recorded, so not kept. Refused jobs at the end of the
            // history are dropped; one followed by a recorded job (rare: the disk filled and
            // emptied during one request) stays as `lost` in memory, and a restart shows
            // it the same way (no record of it survived).
            jobs[id - 1].status = .lost
            jobs[id - 1].reason = "lost: its record could not be written (\(error)); the request was refused"
            specs[id] = nil
            files.removeSpec(id)
            refused.insert(id)
            while let last = jobs.last, refused.contains(last.id), jobs.removeLastIfRecent() { refused.remove(last.id) }
            version += 1
            throw APIError.unavailable("the job could not be recorded: \(error)")
        }
        if spec.dependsOn == nil {
            queues.enqueue(id, queue: request.queue)
        } else {
            settleDependencies(of: id)
        }
        launchPending()
        return (jobs[id - 1], false)
    }

    /// Cancels a pending job at once (answered once the record is durable), or stops a
    /// running one (it ends `cancelled`).
    func cancel(_ id: Int) async throws -> Job {
        guard id >= 1, id <= jobs.count else { throw APIError.notFound("job \(id) not found") }
        if let refusal = handle(id, .cancelRequested) { throw APIError.conflict(refusal.description) }
        if jobs.status(at: id - 1).isFinal { try await journal.synced() }
        return jobs[id - 1]
    }
}
