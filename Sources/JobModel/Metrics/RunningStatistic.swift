/// Running mean and maximum of a series, in constant memory.
public struct RunningStatistic: Sendable, Hashable {
    public private(set) var count = 0
    public private(set) var mean = 0.0
    /// Largest value seen, 0 before the first.
    public private(set) var max = 0.0

    public init() {}

    /// Adds one observation.
    public mutating func add(_ value: Double) {
        count += 1
        mean += (value - mean) / Double(count)
        if count == 1 || value > max { max = value }
    }
}
