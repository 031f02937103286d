/// CPU use from `/proc/PID/stat` tick counters.
public enum CPUUsage {
    /// CPU percent (100 = one core) of `deltaTicks` clock ticks (utime + stime) spent over
    /// `elapsedSeconds` of wall time. Returns 0 for a non-positive interval.
    ///
    /// - Parameters:
    ///   - deltaTicks: ticks used by the tree since the previous sample.
    ///   - ticksPerSecond: `sysconf(_SC_CLK_TCK)`, 100 on Linux.
    ///   - elapsedSeconds: wall time since the previous sample.
    public static func percent(deltaTicks: Int64, ticksPerSecond: Int64, elapsedSeconds: Double) -> Double {
        guard elapsedSeconds > 0, ticksPerSecond > 0, deltaTicks > 0 else { return 0 }
        return Double(deltaTicks) / Double(ticksPerSecond) / elapsedSeconds * 100
    }
}
