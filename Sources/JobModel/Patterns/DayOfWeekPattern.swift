/// Success rate per day of the week (start time, in the analysis time zone).
public struct DayOfWeekPattern: Pattern {
    public let id = "day-of-week"
    public let summary = "Success rate per day of the week (start time, --tz)"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    public static let days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

    public func tally(_ jobs: JobTable) -> GroupTallies<Int> {
        var clock = LocalClock(timeZone: options.timeZone)
        var tallies = [GroupTally](repeating: GroupTally(), count: 7)
        for row in 0..<jobs.count {
            let t = jobs.startedAt[row]
            guard t != JobTable.nullInt else { continue }
            tallies[clock.weekday(micros: t)].add(status: jobs.status[row])
        }
        return GroupTallies(tallies) { $0 }
    }

    public func findings(_ tally: GroupTallies<Int>, baseline: Baseline) -> [Finding] {
        let tallies = (0..<7).map { tally[$0] }
        let groups = (0..<7).filter { tallies[$0].matched > 0 }.map { d in
            NamedGroup(group: Self.days[d], name: "Started on a \(Self.days[d])", tally: tallies[d])
        }
        return Findings.success(pattern: id, groups: groups, baseline: baseline, options: options)
    }
}
