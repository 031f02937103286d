/// Accumulates the time a job is alive but makes no progress: no CPU tick, no I/O
/// operation and no new connection between two samples (the seed's "zombie time").
public struct StallClock: Sendable, Hashable {
    private var previous: Progress?
    /// Seconds without progress so far.
    public private(set) var stalledSeconds = 0.0

    /// One sample of the tree's cumulative progress counters.
    public struct Progress: Sendable, Hashable {
        public var time: Double
        public var cpuTicks: Int64
        public var ioOps: Int64
        public var connections: Int64

        public init(time: Double, cpuTicks: Int64, ioOps: Int64, connections: Int64) {
            self.time = time
            self.cpuTicks = cpuTicks
            self.ioOps = ioOps
            self.connections = connections
        }
    }

    public init() {}

    /// Adds a sample; the interval since the previous one counts as stalled when no counter moved.
    public mutating func add(_ sample: Progress) {
        if let previous, sample.time > previous.time,
            sample.cpuTicks == previous.cpuTicks, sample.ioOps == previous.ioOps,
            sample.connections == previous.connections
        {
            stalledSeconds += sample.time - previous.time
        }
        previous = sample
    }
}
