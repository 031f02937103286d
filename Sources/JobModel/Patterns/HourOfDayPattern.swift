/// Success rate per hour of day (start time, in the analysis time zone), and the hours
/// with the most failures.
public struct HourOfDayPattern: Pattern {
    public let id = "hour-of-day"
    public let summary = "Success rate per hour of day (start time, --tz) and the hours with the most failures"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    /// `"20:00-20:59"`.
    public static func label(_ hour: Int) -> String {
        let h = hour < 10 ? "0\(hour)" : "\(hour)"
        return "\(h):00-\(h):59"
    }

    public func tally(_ jobs: JobTable) -> GroupTallies<Int> {
        var clock = LocalClock(timeZone: options.timeZone)
        var tallies = [GroupTally](repeating: GroupTally(), count: 24)
        for row in 0..<jobs.count {
            let t = jobs.startedAt[row]
            guard t != JobTable.nullInt else { continue }
            tallies[clock.hour(micros: t)].add(status: jobs.status[row])
        }
        return GroupTallies(tallies) { $0 }
    }

    public func findings(_ tally: GroupTallies<Int>, baseline: Baseline) -> [Finding] {
        let tallies = (0..<24).map { tally[$0] }
        let groups = (0..<24).filter { tallies[$0].matched > 0 }.map { h in
            NamedGroup(group: String(h), name: "Started between \(Self.label(h))", tally: tallies[h])
        }
        var findings = Findings.success(pattern: id, groups: groups, baseline: baseline, options: options)
        let most = tallies.map(\.failures).max() ?? 0
        if most > 0 {
            let total = tallies.reduce(GroupTally(), +)
            let pValue = Statistics.homogeneityPValue(
                failures: tallies.map(\.failures),
                decided: tallies.map(\.decided)
            )
            findings.append(
                Finding(
                    pattern: id,
                    group: "most-failures",
                    name: "Hours with the most failures",
                    metric: "failures",
                    value: Double(most),
                    matchCount: total.matched,
                    decidedCount: total.decided,
                    hitCount: most,
                    successRate: total.successRate,
                    pValue: pValue,
                    significant: pValue.map { $0 <= options.falseDiscoveryRate } ?? false,
                    mostFailures: (0..<24).filter { tallies[$0].failures == most }.map(Self.label)
                )
            )
        }
        return findings
    }
}
