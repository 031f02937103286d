/// Job names whose runs open connections in bursts: the retry-storm signature.
public struct NetBurstPattern: Pattern {
    public let id = "net-burst"
    public let summary = "Share of runs with network-connection bursts per job name: retry storms"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    /// New connections per second a peak must reach to count as a burst at all.
    public static let minimumPeak = 5.0

    public func tally(_ jobs: JobTable) -> GroupTallies<String> {
        Findings.perNameBurst(
            jobs,
            options: options,
            peak: jobs.netConnectionsPerSecondPeak,
            average: jobs.netConnectionsPerSecondAvg,
            minimumPeak: Self.minimumPeak
        )
    }

    public func findings(_ tally: GroupTallies<String>, baseline: Baseline) -> [Finding] {
        Findings.perNameShare(tally, pattern: id, metric: "burstShare", options: options) {
            "Job '\($0)' opens connections in bursts"
        }
    }
}
