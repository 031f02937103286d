/// Job names whose runs show I/O bursts: a rolling-window peak of I/O operations far
/// above the run's own average.
public struct IOBurstPattern: Pattern {
    public let id = "io-burst"
    public let summary = "Share of runs with I/O bursts per job name (peak >= --burst-factor x average)"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    /// Operations per second a peak must reach to count as a burst at all.
    public static let minimumPeak = 100.0

    public func tally(_ jobs: JobTable) -> GroupTallies<String> {
        Findings.perNameBurst(
            jobs,
            options: options,
            peak: jobs.ioOpsPerSecondPeak,
            average: jobs.ioOpsPerSecondAvg,
            minimumPeak: Self.minimumPeak
        )
    }

    public func findings(_ tally: GroupTallies<String>, baseline: Baseline) -> [Finding] {
        Findings.perNameShare(tally, pattern: id, metric: "burstShare", options: options) {
            "Job '\($0)' has I/O bursts"
        }
    }
}
