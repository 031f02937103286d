public import Foundation

/// Settings of an analysis, shared by every pattern.
public struct AnalysisOptions: Sendable {
    /// Time zone of hours and days (`--tz`).
    public var timeZone: TimeZone
    /// Smallest group listed by default (`--min-matches`).
    public var minMatches: Int
    /// False discovery rate for `significant` (`--fdr`).
    public var falseDiscoveryRate: Double
    /// Seconds of `stalledSeconds` from which a job counts as stalled (`--stalled-after`).
    public var stalledAfterSeconds: Double
    /// A burst is a rolling-window peak at least this many times the job's average (`--burst-factor`).
    public var burstFactor: Double
    /// List every group, not only significant ones of `minMatches` or more (`--all`).
    public var showAll: Bool

    public init(
        timeZone: TimeZone = .current,
        minMatches: Int = 5,
        falseDiscoveryRate: Double = 0.05,
        stalledAfterSeconds: Double = 60,
        burstFactor: Double = 4,
        showAll: Bool = false
    ) {
        self.timeZone = timeZone
        self.minMatches = minMatches
        self.falseDiscoveryRate = falseDiscoveryRate
        self.stalledAfterSeconds = stalledAfterSeconds
        self.burstFactor = burstFactor
        self.showAll = showAll
    }
}
