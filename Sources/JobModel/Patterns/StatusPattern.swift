/// Count and share of each status, plus the jobs that stalled.
public struct StatusPattern: Pattern {
    public let id = "status"
    public let summary = "Count and share of each status, and of stalled jobs (--stalled-after)"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    /// Per status code, and the stalled jobs; `jobs`, every job counted.
    public struct Tally: PatternTally {
        var statuses: GroupTallies<Int>
        var stalled: GroupTally
        var jobs: Int

        public mutating func merge(_ other: Tally) {
            statuses.merge(other.statuses)
            stalled = stalled + other.stalled
            jobs += other.jobs
        }
    }

    public func tally(_ jobs: JobTable) -> Tally {
        var tallies = [GroupTally](repeating: GroupTally(), count: JobStatus.allCases.count)
        var stalled = GroupTally()
        for row in 0..<jobs.count {
            let code = jobs.status[row]
            if Int(code) < tallies.count { tallies[Int(code)].add(status: code, hit: true) }
            if jobs.stalledSeconds[row] >= options.stalledAfterSeconds {
                stalled.add(status: code, hit: true)
            }
        }
        return Tally(statuses: GroupTallies(tallies) { $0 }, stalled: stalled, jobs: jobs.count)
    }

    public func findings(_ tally: Tally, baseline: Baseline) -> [Finding] {
        let tallies = JobStatus.allCases.indices.map { tally.statuses[$0] }
        let stalled = tally.stalled
        let total = Double(tally.jobs)
        func finding(_ group: String, _ name: String, _ t: GroupTally) -> Finding {
            Finding(
                pattern: id,
                group: group,
                name: name,
                metric: "share",
                value: total > 0 ? Double(t.matched) / total : 0,
                matchCount: t.matched,
                decidedCount: t.decided,
                hitCount: t.hits,
                successRate: t.successRate
            )
        }
        var findings = JobStatus.allCases.filter { tallies[Int($0.code)].matched > 0 }.map { s in
            finding(s.rawValue, "Status is \(s.rawValue)", tallies[Int(s.code)])
        }
        if stalled.matched > 0 {
            let after = CSVNumber.text(options.stalledAfterSeconds)
            findings.append(finding("stalled", "Stalled for \(after)s or more", stalled))
        }
        return findings
    }
}

/// Numbers as short text.
enum CSVNumber {
    static func text(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : "\(v)"
    }
}
