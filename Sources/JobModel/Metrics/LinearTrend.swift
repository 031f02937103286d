/// Least-squares line through (time, value) points, accumulated online (Welford-style,
/// numerically stable for large byte counts), with its coefficient of determination.
public struct LinearTrend: Sendable, Hashable {
    public private(set) var count = 0
    private var meanX = 0.0
    private var meanY = 0.0
    private var sxx = 0.0
    private var syy = 0.0
    private var sxy = 0.0

    public init() {}

    /// Adds the point (`x`, `y`), e.g. (seconds since start, RSS bytes).
    public mutating func add(x: Double, y: Double) {
        count += 1
        let n = Double(count)
        let dx = x - meanX
        let dy = y - meanY
        meanX += dx / n
        meanY += dy / n
        sxx += dx * (x - meanX)
        syy += dy * (y - meanY)
        sxy += dx * (y - meanY)
    }

    /// Slope of the fitted line (units of y per unit of x); 0 with fewer than two distinct x.
    public var slope: Double {
        sxx > 0 ? sxy / sxx : 0
    }

    /// R² of the fit, 0...1; 0 when undefined (fewer than two points), 1 for a perfect
    /// line and, by convention, 0 for a flat series (nothing to explain, no trend).
    public var rSquared: Double {
        guard sxx > 0, syy > 0 else { return 0 }
        return min(1, max(0, sxy * sxy / (sxx * syy)))
    }
}

/// The memory-leak verdict of DESIGN.md: RSS grows steadily.
public enum LeakVerdict {
    /// Samples needed before a verdict.
    public static let minimumSamples = 5

    /// Whether a job whose RSS follows `trend` is a leak suspect: at least
    /// ``minimumSamples`` points, slope ≥ `minSlopeBytesPerSecond` (config
    /// `monitor.leakMinSlopeBytesPerSecond`, default 65,536) and R² ≥ `minR2`
    /// (`monitor.leakMinR2`, default 0.8).
    public static func isSuspected(
        _ trend: LinearTrend,
        minSlopeBytesPerSecond: Double = 65_536,
        minR2: Double = 0.8
    ) -> Bool {
        trend.count >= minimumSamples && trend.slope >= minSlopeBytesPerSecond && trend.rSquared >= minR2
    }
}
