/// How retries fare: success per attempt, success per chain, and how often a retry
/// rescues a failed job (overall and per job name).
public struct RetriesPattern: Pattern {
    public let id = "retries"
    public let summary = "Success per attempt vs per chain, and how often retries rescue a failed job (per name)"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    /// Jobs per attempt (1, 2, 3+ as 0…2), and per name the failed first attempts that were
    /// retried (hit: the chain ended passing).
    public struct Tally: PatternTally {
        var attempts: GroupTallies<Int>
        var rescue: GroupTallies<String>

        public mutating func merge(_ other: Tally) {
            attempts.merge(other.attempts)
            rescue.merge(other.rescue)
        }
    }

    public func tally(_ jobs: JobTable) -> Tally {
        var attempts = [GroupTally](repeating: GroupTally(), count: 3)
        for row in 0..<jobs.count {
            let a = Int(min(max(jobs.attempt[row], 1), 3)) - 1
            attempts[a].add(status: jobs.status[row])
        }
        // Chains whose first attempt failed and was retried: did a retry rescue them?
        let retryRows = jobs.retryRowsByID()
        var rescue = [UInt32: GroupTally]()
        for row in 0..<jobs.count
        where jobs.parentId[row] == JobTable.nullInt && jobs.retriedBy[row] != JobTable.nullInt {
            guard jobs.statusOf(row).isFailure else { continue }
            let last = jobs.chainEnd(from: row, retryRows: retryRows).row
            guard jobs.statusOf(last).isDecided else { continue }
            rescue[jobs.name[row], default: GroupTally()].add(
                status: jobs.status[row],
                hit: jobs.statusOf(last) == .succeeded
            )
        }
        var named: [String: GroupTally] = [:]
        for (key, tally) in rescue { named[jobs.strings[key]] = tally }
        return Tally(attempts: GroupTallies(attempts) { $0 }, rescue: GroupTallies(named))
    }

    public func findings(_ tally: Tally, baseline: Baseline) -> [Finding] {
        let attempts = (0..<3).map { tally.attempts[$0] }
        let labels = [("1", "First attempt"), ("2", "Second attempt"), ("3+", "Third attempt or later")]
        let groups = (0..<3).filter { attempts[$0].matched > 0 }.map {
            NamedGroup(group: "attempt \(labels[$0].0)", name: labels[$0].1, tally: attempts[$0])
        }
        var findings = Findings.success(pattern: id, groups: groups, baseline: baseline, options: options)

        let total = tally.rescue.total
        if total.matched > 0 {
            let rate = Double(total.hits) / Double(total.matched)
            findings.append(
                Finding(
                    pattern: id,
                    group: "rescued",
                    name: "Retries rescue failed jobs",
                    metric: "rescueRate",
                    value: rate,
                    matchCount: total.matched,
                    decidedCount: total.decided,
                    hitCount: total.hits,
                    successRate: total.successRate
                )
            )
            let perName = tally.rescue.groups.map { name, tally in
                NamedGroup(group: "rescued \(name)", name: "Retries rescue failed '\(name)' jobs", tally: tally)
            }.sorted { $0.group < $1.group }
            findings += Findings.share(
                pattern: id,
                metric: "rescueRate",
                groups: perName,
                total: total,
                options: options
            )
        }
        if baseline.decidedCount > 0 {
            let base = baseline.successRate
            findings.append(
                Finding(
                    pattern: id,
                    group: "chain",
                    name: "Success per chain (first attempt to last) vs per attempt",
                    value: baseline.chainSuccessRate,
                    baselineValue: base,
                    matchCount: baseline.jobCount,
                    decidedCount: baseline.decidedCount,
                    hitCount: baseline.succeededCount,
                    successRate: base,
                    relativeDifference: base > 0 ? (baseline.chainSuccessRate - base) / base : nil
                )
            )
        }
        return findings
    }
}
