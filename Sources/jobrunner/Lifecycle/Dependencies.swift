import JobModel

/// `dependsOn` of a job request: run after job `job` has ended as `on` says.
struct JobDependency: Codable, Sendable, Hashable {
    enum Condition: String, Codable, Sendable, CaseIterable {
        /// The job succeeded (after its retries, if any).
        case succeeded
        /// The job failed, crashed or timed out, with no retry left.
        case failed
        /// The job ended, whatever its status.
        case ended
    }

    var job: Int
    var on: Condition

    /// What a job's dependencies allow now.
    enum Verdict: Equatable, Sendable {
        /// Every condition holds: the job may run.
        case met
        /// Some job has not ended yet (`job`, followed along its retries); `reason` for the record.
        case waiting(job: Int, reason: String)
        /// A condition can no longer hold: the job is skipped.
        case failed(reason: String)
    }

    /// The verdict for `dependencies`, given each job's status and retry (`job(id)`; `nil`
    /// for an unknown id). A job that was retried stands for its last retry.
    static func evaluate(
        _ dependencies: [JobDependency],
        job: (Int) -> (status: JobStatus, retriedBy: Int?)?
    ) -> Verdict {
        var waiting: Verdict?
        for dependency in dependencies {
            var id = dependency.job
            var seen = 0
            while let current = job(id), current.status.isFinal, let retry = current.retriedBy, seen < 1_000 {
                id = retry
                seen += 1
            }
            guard let state = job(id) else {
                return .failed(reason: "dependencyFailed: job \(dependency.job) does not exist")
            }
            guard state.status.isFinal else {
                if waiting == nil {
                    let chain = id == dependency.job ? "job \(id)" : "job \(id) (retry of \(dependency.job))"
                    let what = dependency.on == .ended ? "to end" : "to end \(dependency.on.rawValue)"
                    waiting = .waiting(job: id, reason: "waiting for \(chain) \(what)")
                }
                continue
            }
            let holds: Bool
            switch dependency.on {
            case .succeeded: holds = state.status == .succeeded
            case .failed: holds = state.status.isFailure
            case .ended: holds = true
            }
            if !holds {
                return .failed(
                    reason: "dependencyFailed: job \(id) ended \(state.status.rawValue), not \(dependency.on.rawValue)"
                )
            }
        }
        return waiting ?? .met
    }
}
