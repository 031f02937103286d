/// Rate of a cumulative counter (I/O operations, connections opened) over the whole run
/// and over a rolling window, with the highest windowed rate seen: bursts.
///
/// Feed it (time, cumulative count) samples in time order. The windowed rate at each
/// sample is (count now − count at the window's start) / time between them, where the
/// window's start is the oldest kept sample no older than `window` seconds; before a
/// whole window has passed it spans what there is.
public struct RollingRate: Sendable {
    public let window: Double
    private var samples: [(time: Double, count: Double)] = []
    private var head = 0
    private var first: (time: Double, count: Double)?
    private var last: (time: Double, count: Double)?
    /// Highest windowed rate seen, per second.
    public private(set) var peak = 0.0

    /// - Parameter window: seconds (config `monitor.rollingWindowSeconds`, default 10).
    public init(window: Double = 10) {
        self.window = window
    }

    /// Adds a sample of the cumulative counter at `time` seconds.
    public mutating func add(time: Double, count: Double) {
        if first == nil { first = (time, count) }
        last = (time, count)
        samples.append((time, count))
        while head < samples.count - 1, samples[head + 1].time <= time - window {
            head += 1
        }
        if head > 64, head * 2 > samples.count {
            samples.removeFirst(head)
            head = 0
        }
        let start = samples[head]
        let span = time - start.time
        if span > 0 {
            peak = Swift.max(peak, (count - start.count) / span)
        }
    }

    /// Mean rate over the whole run, per second; 0 before two samples.
    public var average: Double {
        guard let first, let last, last.time > first.time else { return 0 }
        return (last.count - first.count) / (last.time - first.time)
    }

    /// Increase of the counter since the first sample.
    public var total: Double {
        guard let first, let last else { return 0 }
        return last.count - first.count
    }
}
