/// Success rate per running time bucket.
public struct DurationPattern: Pattern {
    public let id = "duration"
    public let summary = "Success rate per running time: <1s, 1-10s, 10-60s, 1-10min, 10-60min, >=1h"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    public static let buckets = ["<1s", "1-10s", "10-60s", "1-10min", "10-60min", ">=1h"]

    /// Index into ``buckets`` of a duration in seconds.
    public static func bucket(_ seconds: Double) -> Int {
        switch seconds {
        case ..<1: 0
        case ..<10: 1
        case ..<60: 2
        case ..<600: 3
        case ..<3600: 4
        default: 5
        }
    }

    public func tally(_ jobs: JobTable) -> GroupTallies<Int> {
        var tallies = [GroupTally](repeating: GroupTally(), count: Self.buckets.count)
        for row in 0..<jobs.count {
            let d = jobs.durationSeconds[row]
            guard !d.isNaN else { continue }
            tallies[Self.bucket(d)].add(status: jobs.status[row])
        }
        return GroupTallies(tallies) { $0 }
    }

    public func findings(_ tally: GroupTallies<Int>, baseline: Baseline) -> [Finding] {
        let tallies = Self.buckets.indices.map { tally[$0] }
        let groups = Self.buckets.indices.filter { tallies[$0].matched > 0 }.map { b in
            NamedGroup(group: Self.buckets[b], name: "Ran \(Self.buckets[b])", tally: tallies[b])
        }
        return Findings.success(pattern: id, groups: groups, baseline: baseline, options: options)
    }
}
