import Foundation
import JobModel

/// Reruns: a new job (a new chain, `rerunOf` set) from an ended one.
extension JobSupervisor {
    /// Reruns each of `ids` (ended jobs) once, in order; answers once every new record is
    /// durable. Everything is checked before anything is recorded: a job that has not
    /// ended, or whose spec (its `env`) is no longer kept while `overrides` gives no `env`,
    /// fails the whole call.
    func rerun(_ ids: [Int], overrides: RerunOverrides) async throws -> [Job] {
        var requests: [JobRequest] = []
        for id in ids {
            guard id >= 1, id <= jobs.count else { throw APIError.notFound("job \(id) not found") }
            let original = jobs[id - 1]
            guard original.status.isFinal else {
                throw APIError.conflict(
                    "job \(id) has not ended (\(original.status.rawValue)); wait for it or cancel it before a rerun"
                )
            }
            try settings.checkAllowed(original.command[0])
            // The spec (env, limits, retries) is kept while the job runs and until its final
            // record is on disk; after that the limits come from the record, and the env
            // (which may hold secrets) only from the body.
            let kept =
                specs[id] ?? (FileManager.default.fileExists(atPath: files.specPath(id)) ? files.readSpec(id) : nil)
            guard let environment = overrides.env ?? kept?.env else {
                throw APIError.invalid(
                    "'env' is required: job \(id)'s env is no longer kept once it has ended, as it may hold "
                        + "secrets; give env again ({} for jobs.baseEnvironment alone)"
                )
            }
            let queue = overrides.queue ?? original.queue
            if let queue, !settings.hasQueue(queue) {
                throw APIError.invalid(
                    "'queue' \(queue) of job \(id) is no longer configured; give another queue in the body"
                )
            }
            requests.append(
                JobRequest(
                    name: original.name,
                    command: original.command,
                    cwd: original.cwd,
                    env: environment,
                    labels: original.labels,
                    retries: (overrides.retries ?? kept?.retries ?? original.retries).map {
                        min($0, settings.maxRetries)
                    },
                    timeoutSeconds: overrides.timeoutSeconds ?? kept?.timeoutSeconds ?? original.timeoutSeconds,
                    maxRssBytes: overrides.maxRssBytes ?? kept?.maxRssBytes ?? original.maxRssBytes,
                    queue: queue,
                    rerunOf: id
                )
            )
        }
        // Reserved before the journal's awaits: a filtered rerun that runs meanwhile skips them.
        for id in ids { rerun.insert(id) }
        var created: [Job] = []
        for (i, request) in requests.enumerated() {
            do {
                created.append(try await create(request).job)
            } catch {
                for id in ids[i...] { rerun.remove(id) }
                throw error
            }
        }
        return created
    }

    /// `POST /v1/jobs/rerun`: reruns the ``rerunCandidates(_:)`` of `query`.
    func rerunMatching(_ query: JobListQuery, overrides: RerunOverrides) async throws -> [Job] {
        try await rerun(rerunCandidates(query), overrides: overrides)
    }

    /// The ended jobs `query` selects that are the last of their chain (a retried attempt
    /// is rerun through its chain's end) and were never rerun: what `POST /v1/jobs/rerun`
    /// reruns, so that the same call made twice reruns nothing the second time.
    func rerunCandidates(_ query: JobListQuery) -> [Int] {
        var out: [Int] = []
        for index in 0..<jobs.count where out.count < query.limit {
            let status = jobs.status(at: index)
            guard status.isFinal, !rerun.contains(index + 1),
                query.matches(
                    status: status,
                    name: jobs.name(at: index),
                    startedAtMicros: jobs.startedAtMicros(at: index)
                ),
                jobs[index].retriedBy == nil
            else { continue }
            out.append(index + 1)
        }
        return out
    }
}
