/// Job names whose runs stall (alive with no CPU, I/O or network progress).
public struct StalledPattern: Pattern {
    public let id = "stalled"
    public let summary = "Share of stalled runs per job name (stalledSeconds >= --stalled-after)"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    public func tally(_ jobs: JobTable) -> GroupTallies<String> {
        let after = options.stalledAfterSeconds
        return Findings.perName(jobs) { jobs.stalledSeconds[$0] >= after }
    }

    public func findings(_ tally: GroupTallies<String>, baseline: Baseline) -> [Finding] {
        Findings.perNameShare(tally, pattern: id, metric: "stalledShare", options: options) { "Job '\($0)' stalls" }
    }
}
