/// Job names whose runs are memory-leak suspects more often than the rest.
public struct MemoryLeakPattern: Pattern {
    public let id = "memory-leak"
    public let summary = "Share of memory-leak suspects per job name (RSS grows steadily)"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    public func evaluate(_ jobs: JobTable, baseline: Baseline) -> [Finding] {
        Findings.perNameShare(
            jobs,
            pattern: id,
            metric: "leakShare",
            options: options,
            sentence: { "Job '\($0)' leaks memory" },
            hit: { jobs.memoryLeakSuspected[$0] }
        )
    }
}
