/// Job names whose runs stall (alive with no CPU, I/O or network progress).
public struct StalledPattern: Pattern {
    public let id = "stalled"
    public let summary = "Share of stalled runs per job name (stalledSeconds >= --stalled-after)"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    public func evaluate(_ jobs: JobTable, baseline: Baseline) -> [Finding] {
        let after = options.stalledAfterSeconds
        return Findings.perNameShare(
            jobs,
            pattern: id,
            metric: "stalledShare",
            options: options,
            sentence: { "Job '\($0)' stalls" },
            hit: { jobs.stalledSeconds[$0] >= after }
        )
    }
}
