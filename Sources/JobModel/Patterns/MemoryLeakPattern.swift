/// Job names whose runs are memory-leak suspects more often than the rest.
public struct MemoryLeakPattern: Pattern {
    public let id = "memory-leak"
    public let summary = "Share of memory-leak suspects per job name (RSS grows steadily)"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    public func tally(_ jobs: JobTable) -> GroupTallies<String> {
        Findings.perName(jobs) { jobs.memoryLeakSuspected[$0] }
    }

    public func findings(_ tally: GroupTallies<String>, baseline: Baseline) -> [Finding] {
        Findings.perNameShare(tally, pattern: id, metric: "leakShare", options: options) { "Job '\($0)' leaks memory" }
    }
}
