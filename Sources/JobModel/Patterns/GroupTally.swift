/// Counts of one group of jobs, gathered in a pass over the table.
public struct GroupTally: Sendable, Hashable {
    public var matched = 0
    public var decided = 0
    public var succeeded = 0
    public var failures = 0
    /// Jobs with the property a share pattern looks for.
    public var hits = 0

    public init() {}

    /// Counts one job of status code `status` (``JobStatus/code``).
    @inline(__always)
    public mutating func add(status: UInt8, hit: Bool = false) {
        matched += 1
        // succeeded 2, failed 3, crashed 4, timedOut 5
        if status >= 2 && status <= 5 {
            decided += 1
            if status == 2 { succeeded += 1 } else { failures += 1 }
        }
        if hit { hits += 1 }
    }

    public var successRate: Double? { decided > 0 ? Double(succeeded) / Double(decided) : nil }

    static func + (a: GroupTally, b: GroupTally) -> GroupTally {
        var t = a
        t.matched += b.matched
        t.decided += b.decided
        t.succeeded += b.succeeded
        t.failures += b.failures
        t.hits += b.hits
        return t
    }
}

/// A group as a pattern names it.
struct NamedGroup {
    var group: String
    var name: String
    var tally: GroupTally
}

/// Builds findings the same way for every pattern.
enum Findings {
    /// Success-rate findings: each group against the rest of the history, BH across groups.
    static func success(
        pattern: String,
        groups: [NamedGroup],
        baseline: Baseline,
        options: AnalysisOptions
    )
        -> [Finding]
    {
        let base = baseline.successRate
        let pValues: [Double?] = groups.map { g in
            Statistics.proportionPValue(
                g.tally.succeeded,
                g.tally.decided,
                baseline.succeededCount - g.tally.succeeded,
                baseline.decidedCount - g.tally.decided
            )
        }
        let significant = Statistics.benjaminiHochberg(pValues, q: options.falseDiscoveryRate)
        return groups.enumerated().map { i, g in
            let rate = g.tally.successRate
            return Finding(
                pattern: pattern,
                group: g.group,
                name: g.name,
                value: rate,
                baselineValue: baseline.decidedCount > 0 ? base : nil,
                matchCount: g.tally.matched,
                decidedCount: g.tally.decided,
                hitCount: g.tally.succeeded,
                successRate: rate,
                relativeDifference: rate.flatMap { base > 0 ? ($0 - base) / base : nil },
                pValue: pValues[i],
                significant: significant[i]
            )
        }
    }

    /// Share findings: the share of each group's jobs with a property (`hits`), against
    /// the share in the rest of the history, BH across groups.
    static func share(
        pattern: String,
        metric: String,
        groups: [NamedGroup],
        total: GroupTally,
        options: AnalysisOptions
    ) -> [Finding] {
        let base = total.matched > 0 ? Double(total.hits) / Double(total.matched) : 0
        let pValues: [Double?] = groups.map { g in
            Statistics.proportionPValue(
                g.tally.hits,
                g.tally.matched,
                total.hits - g.tally.hits,
                total.matched - g.tally.matched
            )
        }
        let significant = Statistics.benjaminiHochberg(pValues, q: options.falseDiscoveryRate)
        return groups.enumerated().map { i, g in
            let share = g.tally.matched > 0 ? Double(g.tally.hits) / Double(g.tally.matched) : 0
            return Finding(
                pattern: pattern,
                group: g.group,
                name: g.name,
                metric: metric,
                value: share,
                baselineValue: base,
                matchCount: g.tally.matched,
                decidedCount: g.tally.decided,
                hitCount: g.tally.hits,
                successRate: g.tally.successRate,
                relativeDifference: base > 0 ? (share - base) / base : nil,
                pValue: pValues[i],
                // A share pattern reports groups that have the property more than the rest.
                significant: significant[i] && share > base
            )
        }
    }

    /// Tallies per job name, for rows where `hit` holds.
    static func perName(_ jobs: JobTable, hit: (Int) -> Bool) -> GroupTallies<String> {
        // Indexed by string-pool index while counting: no hashing per row.
        var tallies = [GroupTally](repeating: GroupTally(), count: jobs.strings.count)
        for row in 0..<jobs.count {
            tallies[Int(jobs.name[row])].add(status: jobs.status[row], hit: hit(row))
        }
        return GroupTallies(tallies) { jobs.strings[UInt32($0)] }
    }

    /// Per-name share findings for a property, highest share first.
    static func perNameShare(
        _ tallies: GroupTallies<String>,
        pattern: String,
        metric: String,
        options: AnalysisOptions,
        sentence: (String) -> String
    ) -> [Finding] {
        let groups = tallies.groups.map { name, tally in
            NamedGroup(group: name, name: sentence(name), tally: tally)
        }.sorted { $0.group < $1.group }
        return share(pattern: pattern, metric: metric, groups: groups, total: tallies.total, options: options)
            .sorted { ($0.value ?? 0, $1.group) > ($1.value ?? 0, $0.group) }
    }

    /// Per-name tallies of runs with a burst: a rolling-window `peak` of at least
    /// `minimumPeak` and at least `options.burstFactor` times the run's `average`.
    static func perNameBurst(
        _ jobs: JobTable,
        options: AnalysisOptions,
        peak: [Double],
        average: [Double],
        minimumPeak: Double
    ) -> GroupTallies<String> {
        let factor = options.burstFactor
        return perName(jobs) { row in
            BurstRule.isBurst(peak: peak[row], average: average[row], minimumPeak: minimumPeak, factor: factor)
        }
    }
}
