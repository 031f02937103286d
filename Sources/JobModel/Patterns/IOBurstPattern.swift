/// Job names whose runs show I/O bursts: a rolling-window peak of I/O operations far
/// above the run's own average.
public struct IOBurstPattern: Pattern {
    public let id = "io-burst"
    public let summary = "Share of runs with I/O bursts per job name (peak >= --burst-factor x average)"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    /// Operations per second a peak must reach to count as a burst at all.
    public static let minimumPeak = 100.0

    public func evaluate(_ jobs: JobTable, baseline: Baseline) -> [Finding] {
        let factor = options.burstFactor
        return Findings.perNameShare(
            jobs,
            pattern: id,
            metric: "burstShare",
            options: options,
            sentence: { "Job '\($0)' has I/O bursts" },
            hit: { row in
                let peak = jobs.ioOpsPerSecondPeak[row]
                return peak >= Self.minimumPeak && peak >= factor * jobs.ioOpsPerSecondAvg[row]
            }
        )
    }
}
