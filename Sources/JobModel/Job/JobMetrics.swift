/// What the monitor measured of a job's whole process tree (the job and every descendant).
///
/// Every figure is over the tree. Percentages use 100 = one core. A job that never ran has
/// all zeros and `sampleCount` 0.
public struct JobMetrics: Codable, Sendable, Hashable {
    /// Number of /proc samples taken while the job ran.
    public var sampleCount: Int
    /// Mean CPU use over the samples, 100 = one core.
    public var cpuPercentAvg: Double
    /// Highest CPU use of one sample interval.
    public var cpuPercentMax: Double
    /// User + system CPU time of the tree (from rusage at exit).
    public var cpuSeconds: Double
    /// Mean resident set size over the samples.
    public var rssBytesAvg: Int
    /// Highest resident set size (sampled, or rusage peak at exit, whichever is higher).
    public var rssBytesMax: Int
    /// Least-squares slope of RSS over time.
    public var rssTrendBytesPerSecond: Double
    /// Slope and fit both past the configured bounds.
    public var memoryLeakSuspected: Bool
    /// Mean read+write system calls per second.
    public var ioOpsPerSecondAvg: Double
    /// Highest rolling-window average of I/O operations per second: bursts.
    public var ioOpsPerSecondPeak: Double
    /// Bytes read from storage.
    public var ioReadBytes: Int
    /// Bytes written to storage.
    public var ioWriteBytes: Int
    /// Mean new network connections (socket inodes) per second.
    public var netConnectionsPerSecondAvg: Double
    /// Highest rolling-window average of new connections per second: retry storms.
    public var netConnectionsPerSecondPeak: Double
    /// New sockets seen over the job's life.
    public var netConnectionsTotal: Int
    /// Seconds alive with no CPU, I/O or network progress.
    public var stalledSeconds: Double
    /// Most processes seen in the tree at once.
    public var processCountMax: Int
    /// Descendants still running when the job's own process exited (stopped or waited
    /// for, by `jobs.leftoverProcesses`).
    public var leftoverProcesses: Int
    /// The job's cgroup v2 `memory.peak` (anonymous memory, page cache and kernel memory
    /// charged to it): exact, not sampled. 0 where the job had no group with the memory
    /// controller (`jobs.cgroups`).
    public var memoryPeakBytes: Int

    /// All-zero metrics (a job that was never sampled).
    public init(
        sampleCount: Int = 0,
        cpuPercentAvg: Double = 0,
        cpuPercentMax: Double = 0,
        cpuSeconds: Double = 0,
        rssBytesAvg: Int = 0,
        rssBytesMax: Int = 0,
        rssTrendBytesPerSecond: Double = 0,
        memoryLeakSuspected: Bool = false,
        ioOpsPerSecondAvg: Double = 0,
        ioOpsPerSecondPeak: Double = 0,
        ioReadBytes: Int = 0,
        ioWriteBytes: Int = 0,
        netConnectionsPerSecondAvg: Double = 0,
        netConnectionsPerSecondPeak: Double = 0,
        netConnectionsTotal: Int = 0,
        stalledSeconds: Double = 0,
        processCountMax: Int = 0,
        leftoverProcesses: Int = 0,
        memoryPeakBytes: Int = 0
    ) {
        self.sampleCount = sampleCount
        self.cpuPercentAvg = cpuPercentAvg
        self.cpuPercentMax = cpuPercentMax
        self.cpuSeconds = cpuSeconds
        self.rssBytesAvg = rssBytesAvg
        self.rssBytesMax = rssBytesMax
        self.rssTrendBytesPerSecond = rssTrendBytesPerSecond
        self.memoryLeakSuspected = memoryLeakSuspected
        self.ioOpsPerSecondAvg = ioOpsPerSecondAvg
        self.ioOpsPerSecondPeak = ioOpsPerSecondPeak
        self.ioReadBytes = ioReadBytes
        self.ioWriteBytes = ioWriteBytes
        self.netConnectionsPerSecondAvg = netConnectionsPerSecondAvg
        self.netConnectionsPerSecondPeak = netConnectionsPerSecondPeak
        self.netConnectionsTotal = netConnectionsTotal
        self.stalledSeconds = stalledSeconds
        self.processCountMax = processCountMax
        self.leftoverProcesses = leftoverProcesses
        self.memoryPeakBytes = memoryPeakBytes
    }
}
