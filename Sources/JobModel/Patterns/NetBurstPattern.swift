/// Job names whose runs open connections in bursts: the retry-storm signature.
public struct NetBurstPattern: Pattern {
    public let id = "net-burst"
    public let summary = "Share of runs with network-connection bursts per job name: retry storms"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    /// New connections per second a peak must reach to count as a burst at all.
    public static let minimumPeak = 5.0

    public func evaluate(_ jobs: JobTable, baseline: Baseline) -> [Finding] {
        let factor = options.burstFactor
        return Findings.perNameShare(
            jobs,
            pattern: id,
            metric: "burstShare",
            options: options,
            sentence: { "Job '\($0)' opens connections in bursts" },
            hit: { row in
                let peak = jobs.netConnectionsPerSecondPeak[row]
                return peak >= Self.minimumPeak && peak >= factor * jobs.netConnectionsPerSecondAvg[row]
            }
        )
    }
}
