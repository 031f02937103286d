import Dispatch
public import JobModel

#if canImport(Glibc)
import Glibc
#endif

/// Monotonic seconds (CLOCK_MONOTONIC).
public func monotonicSeconds() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1e9
}

/// Samples the process trees of running jobs from /proc and turns the samples into
/// ``JobMetrics`` with the JobModel maths.
///
/// A job's tree is every descendant of its shim (``Scope/descendants``): the shim is the
/// job's subreaper, so a process that leaves the job's session (setsid, a double fork) is
/// still below it. For a job whose shim is not known (adopted from a shim too old to be
/// found) it is every process of the job's session (``Scope/session``).
/// One pass lists /proc once, reads each process's `stat` once (its parent links it to a
/// tree), and reads `io` and the `fd` directory only for processes of tracked jobs — the
/// `fd` directory only when the process showed a sign of life since the last pass (CPU
/// tick, read/write call, page fault), and at least every ``fdScanEveryPasses`` passes.
/// Owned by one task; not shared.
public struct TreeMonitor: ~Copyable {
    public struct Settings: Sendable {
        public var rollingWindowSeconds: Double
        public var leakMinSlopeBytesPerSecond: Double
        public var leakMinR2: Double

        public init(rollingWindowSeconds: Double, leakMinSlopeBytesPerSecond: Double, leakMinR2: Double) {
            self.rollingWindowSeconds = rollingWindowSeconds
            self.leakMinSlopeBytesPerSecond = leakMinSlopeBytesPerSecond
            self.leakMinR2 = leakMinR2
        }
    }

    /// Per-process counters from the previous pass.
    struct ProcessCounters {
        var startTime: Int64
        var minorFaults: Int64
        var ticks: Int64
        var syscalls: Int64
        var readBytes: Int64
        var writeBytes: Int64
    }

    /// What a tracked pid stands for.
    public enum Scope: Sendable {
        /// Every descendant of the pid (a shim), not the pid itself.
        case descendants
        /// Every process of the session the pid leads.
        case session
    }

    /// The running figures of one job.
    public struct JobTree {
        public var id: Int
        public var scope: Scope = .descendants
        var launchedAt: Double
        var processes: [Int32: ProcessCounters] = [:]
        var ticks: Int64 = 0
        var syscalls: Int64 = 0
        var readBytes: Int64 = 0
        var writeBytes: Int64 = 0
        var sockets: Set<UInt64> = []
        var connections: Int64 = 0
        var lastTime: Double
        var lastTicks: Int64 = 0
        public var samples = 0
        /// The highest CPU % over a window of at least ``cpuWindowSeconds`` (see ``sampleCPU``).
        var cpuMax = 0.0
        var windowTime: Double
        var windowTicks: Int64 = 0
        var rss = RunningStatistic()
        var trend = LinearTrend()
        var io: RollingRate
        var net: RollingRate
        var stall = StallClock()
        var processCountMax = 0
        public var rssNow: Int64 = 0
        /// CPU time of the tree so far (user + system of its processes, as sampled).
        public var cpuSecondsNow: Double { Double(ticks) / Double(TreeMonitor.ticksPerSecond) }

        /// The CPU the samples saw over the time they cover (time-weighted: passes that came
        /// late or in a burst on a loaded machine count for the time they cover, not once each).
        var cpuPercentAvg: Double {
            CPUUsage.percent(
                deltaTicks: lastTicks,
                ticksPerSecond: TreeMonitor.ticksPerSecond,
                elapsedSeconds: lastTime - launchedAt
            )
        }

        /// Whether a whole window was seen (else the maximum is the average so far).
        var cpuWindowed: Bool { windowTime > launchedAt }

        /// CPU % over windows of at least ``cpuWindowSeconds``: over one pass's interval a
        /// figure is mostly noise when the machine is loaded (a pass that reads the job late
        /// after one that read it early sees more ticks than the interval holds — 180 % for a
        /// one-thread job was seen — and 10 ms ticks over a short interval are coarse).
        mutating func sampleCPU(now: Double) {
            guard now - windowTime >= TreeMonitor.cpuWindowSeconds else { return }
            let percent = CPUUsage.percent(
                deltaTicks: ticks - windowTicks,
                ticksPerSecond: TreeMonitor.ticksPerSecond,
                elapsedSeconds: now - windowTime
            )
            cpuMax = max(cpuMax, percent)
            windowTime = now
            windowTicks = ticks
        }

        public func metrics(_ settings: Settings) -> JobMetrics {
            JobMetrics(
                sampleCount: samples,
                cpuPercentAvg: (cpuPercentAvg * 100).rounded() / 100,
                cpuPercentMax: (max(cpuMax, cpuWindowed ? 0 : cpuPercentAvg) * 100).rounded() / 100,
                cpuSeconds: Double(ticks) / Double(TreeMonitor.ticksPerSecond),
                rssBytesAvg: Int(rss.mean),
                rssBytesMax: Int(rss.max),
                rssTrendBytesPerSecond: (trend.slope * 10).rounded() / 10,
                memoryLeakSuspected: LeakVerdict.isSuspected(
                    trend,
                    minSlopeBytesPerSecond: settings.leakMinSlopeBytesPerSecond,
                    minR2: settings.leakMinR2
                ),
                ioOpsPerSecondAvg: (io.average * 100).rounded() / 100,
                ioOpsPerSecondPeak: (io.peak * 100).rounded() / 100,
                ioReadBytes: Int(readBytes),
                ioWriteBytes: Int(writeBytes),
                netConnectionsPerSecondAvg: (net.average * 1000).rounded() / 1000,
                netConnectionsPerSecondPeak: (net.peak * 1000).rounded() / 1000,
                netConnectionsTotal: Int(connections),
                stalledSeconds: (stall.stalledSeconds * 1000).rounded() / 1000,
                processCountMax: processCountMax
            )
        }
    }

    static let ticksPerSecond = Int64(sysconf(Int32(_SC_CLK_TCK)))
    /// The shortest window `cpuPercentMax` is measured over.
    static let cpuWindowSeconds = 1.0
    static let pageSize = Int64(sysconf(Int32(_SC_PAGESIZE)))

    public let settings: Settings
    /// Tracked jobs by their root: the shim's pid (descendants) or the job's (session).
    public private(set) var trees: [Int32: JobTree] = [:]
    /// The scope of each tracked root (looked up per process: no copy of its tree).
    private var scopes: [Int32: Scope] = [:]
    /// Reused by ``root(of:_:seen:owner:)``.
    private var chain: [Int32] = []
    private var file = ProcFile()
    private var path = [CChar](repeating: 0, count: 64)
    private var linkTarget = [CChar](repeating: 0, count: 64)
    /// Processes of no tracked tree at the last pass (shims, the rest of the host): their
    /// `stat` is not read again. A process joins a tree only as a new process (a child of
    /// a member: a pid not in this set unless the pid space wrapped around) or when its
    /// tree's root starts to be tracked (``track`` empties the set); re-parenting moves a
    /// process up to a subreaper, never into a tree it was not in. The set is rebuilt from
    /// scratch every ``foreignRevalidationPasses`` passes all the same.
    private var foreign: Set<Int32> = []
    private var passes = 0
    static let foreignRevalidationPasses = 30
    /// `stat` and `io` of tracked processes, kept open between passes and re-read with
    /// pread: a path lookup and an open cost as much as the read itself.
    private var openFiles: [Int32: (startTime: Int64, stat: Int32, io: Int32)] = [:]
    /// Most processes whose files stay open (two descriptors each), within RLIMIT_NOFILE.
    private let openFileBudget: Int = {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return max(0, (Int(min(limit.rlim_cur, 1 << 30)) - 4096) / 2)
    }()
    static let fdScanEveryPasses = 10

    public init(settings: Settings) {
        self.settings = settings
    }

    /// Starts following job `id`: the descendants of `pid` (its shim), or its session.
    public mutating func track(id: Int, pid: Int32, scope: Scope = .descendants, launchedAt: Double) {
        guard trees[pid] == nil else { return }
        var tree = JobTree(
            id: id,
            scope: scope,
            launchedAt: launchedAt,
            lastTime: launchedAt,
            windowTime: launchedAt,
            io: RollingRate(window: settings.rollingWindowSeconds),
            net: RollingRate(window: settings.rollingWindowSeconds)
        )
        tree.io.add(time: launchedAt, count: 0)
        tree.net.add(time: launchedAt, count: 0)
        tree.stall.add(.init(time: launchedAt, cpuTicks: 0, ioOps: 0, connections: 0))
        trees[pid] = tree
        scopes[pid] = scope
        // Its processes may have been seen, and set aside, before it was tracked.
        foreign.removeAll(keepingCapacity: true)
    }

    /// Stops following the job whose pid is `pid`; returns its last figures.
    public mutating func untrack(pid: Int32) -> JobTree? {
        scopes[pid] = nil
        return trees.removeValue(forKey: pid)
    }

    /// Sets `path` to `/proc/PID/SUFFIX` without allocating.
    private mutating func setPath(pid: Int32, _ suffix: StaticString) {
        var i = 0
        for c in "/proc/".utf8 {
            path[i] = CChar(bitPattern: c)
            i += 1
        }
        var digits: (CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar) = (
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        )
        var n = 0
        var v = pid
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(48 + v % 10)
                v /= 10
                n += 1
            } while v > 0 && n < 10
            for k in stride(from: n - 1, through: 0, by: -1) {
                path[i] = CChar(bitPattern: d[k])
                i += 1
            }
        }
        path[i] = 47  // "/"
        i += 1
        suffix.withUTF8Buffer { s in
            for c in s {
                path[i] = CChar(bitPattern: c)
                i += 1
            }
        }
        path[i] = 0
    }

    /// One pass over /proc. Returns the number of processes read.
    @discardableResult
    public mutating func sample(now: Double = monotonicSeconds()) -> Int {
        guard !trees.isEmpty, let dir = opendir("/proc") else { return 0 }
        defer { closedir(dir) }
        var read = 0
        passes += 1
        let known = passes % Self.foreignRevalidationPasses == 0 ? [] : foreign
        var stillForeign = Set<Int32>(minimumCapacity: known.count)
        var stillOpen = Set<Int32>(minimumCapacity: openFiles.count)
        // Every process not known to be foreign, then each one's tree from its parents.
        var seen: [Int32: ProcStat] = [:]
        seen.reserveCapacity(max(64, openFiles.count * 2))
        while let entry = readdir(dir) {
            let first = entry.pointee.d_name.0
            guard first >= 49 && first <= 57 else { continue }  // 1-9
            let pid = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { Int32(atoi($0)) }
            }
            if known.contains(pid) {
                stillForeign.insert(pid)
                continue
            }
            if let open = openFiles[pid], file.reread(open.stat), let stat = ProcStat.parse(file.bytes),
                stat.startTime == open.startTime
            {
                read += 1
                seen[pid] = stat
                continue
            }
            setPath(pid: pid, "stat")
            guard file.read(path), let stat = ProcStat.parse(file.bytes) else { continue }
            read += 1
            seen[pid] = stat
        }
        var owner: [Int32: Int32] = [:]  // pid -> root, 0 for none
        owner.reserveCapacity(seen.count)
        var current: [Int32: [(pid: Int32, stat: ProcStat)]] = [:]
        for (pid, stat) in seen {
            let root = root(of: pid, stat, seen: seen, owner: &owner)
            guard root > 0 else {
                // -1: an ancestor exited during the pass (a double fork): its child is being
                // re-parented, maybe to a shim; read again next pass, not set aside.
                if root == 0 { stillForeign.insert(pid) }
                continue
            }
            current[root, default: []].append((pid, stat))
            if openFiles[pid]?.startTime != stat.startTime { keepOpen(pid: pid, startTime: stat.startTime) }
            if openFiles[pid] != nil { stillOpen.insert(pid) }
        }
        foreign = stillForeign
        for (pid, files) in openFiles where !stillOpen.contains(pid) {
            close(files.stat)
            close(files.io)
            openFiles[pid] = nil
        }
        for (session, processes) in current {
            update(session: session, processes: processes, now: now)
        }
        return read
    }

    /// The tracked root whose tree `pid` belongs to, 0 for none, or -1 when an ancestor
    /// vanished during the pass: its session when that is tracked by session, else the
    /// first tracked ancestor (by descendants) along its parents within this pass. Results
    /// are memoized in `owner`.
    private mutating func root(
        of pid: Int32,
        _ stat: ProcStat,
        seen: [Int32: ProcStat],
        owner: inout [Int32: Int32]
    ) -> Int32 {
        if let known = owner[pid] { return known }
        if scopes[stat.session] == .session {
            owner[pid] = stat.session
            return stat.session
        }
        chain.removeAll(keepingCapacity: true)
        chain.append(pid)
        var parent = stat.ppid
        var found: Int32 = 0
        while parent > 1, chain.count < 4_096 {
            if scopes[parent] == .descendants {
                found = parent
                break
            }
            if let known = owner[parent] {
                found = known
                break
            }
            guard let parentStat = seen[parent] else {
                if !foreign.contains(parent) { found = -1 }  // not foreign: it exited just now
                break
            }
            chain.append(parent)
            parent = parentStat.ppid
        }
        for member in chain { owner[member] = found }
        return found
    }

    /// Opens and keeps `stat` and `io` of a tracked process (replacing stale ones).
    private mutating func keepOpen(pid: Int32, startTime: Int64) {
        if let old = openFiles.removeValue(forKey: pid) {
            close(old.stat)
            close(old.io)
        }
        guard openFiles.count < openFileBudget else { return }
        setPath(pid: pid, "stat")
        let stat = open(path, O_RDONLY | O_CLOEXEC)
        guard stat >= 0 else { return }
        setPath(pid: pid, "io")
        let io = open(path, O_RDONLY | O_CLOEXEC)
        guard io >= 0 else {
            close(stat)
            return
        }
        openFiles[pid] = (startTime, stat, io)
    }

    private mutating func update(session: Int32, processes: [(pid: Int32, stat: ProcStat)], now: Double) {
        guard var tree = trees[session] else { return }
        // A pass between the job's last exit and its shim's (the tree is empty, or holds only
        // zombies and processes in exit, whose memory is already gone) is not a sample: its
        // zero RSS would lower the averages and break the RSS trend of a job that grew to its
        // end (one such point took R² from 1.0 to 0.63: the leak went unreported).
        guard processes.contains(where: { !$0.stat.isExiting && $0.stat.rssPages > 0 }) else { return }
        var seen: [Int32: ProcessCounters] = [:]
        var rssPages: Int64 = 0
        for (pid, stat) in processes {
            let io: ProcIO
            if let open = openFiles[pid], open.startTime == stat.startTime {
                io = file.reread(open.io) ? ProcIO.parse(file.bytes) : ProcIO()
            } else {
                setPath(pid: pid, "io")
                io = file.read(path) ? ProcIO.parse(file.bytes) : ProcIO()
            }
            let previous = tree.processes[pid].flatMap { $0.startTime == stat.startTime ? $0 : nil }
            let counters = ProcessCounters(
                startTime: stat.startTime,
                minorFaults: stat.minorFaults,
                ticks: stat.ticks,
                syscalls: io.syscalls,
                readBytes: io.readBytes,
                writeBytes: io.writeBytes
            )
            tree.ticks += max(0, counters.ticks - (previous?.ticks ?? 0))
            tree.syscalls += max(0, counters.syscalls - (previous?.syscalls ?? 0))
            tree.readBytes += max(0, counters.readBytes - (previous?.readBytes ?? 0))
            tree.writeBytes += max(0, counters.writeBytes - (previous?.writeBytes ?? 0))
            // Listing the fds is the dearest read: skip it for a process that showed no sign
            // of life since the last pass (no CPU tick, read/write call or page fault), but
            // not for more than ``fdScanEveryPasses`` passes.
            if let previous, previous.ticks == counters.ticks, previous.syscalls == counters.syscalls,
                previous.minorFaults == counters.minorFaults, passes % Self.fdScanEveryPasses != 0
            {
                // idle
            } else {
                tree.connections += countNewSockets(pid: pid, known: &tree.sockets)
            }
            seen[pid] = counters
            // A process in exit is releasing its memory: half-released pages are not a figure.
            if !stat.isExiting { rssPages += max(0, stat.rssPages) }
        }
        tree.processes = seen
        let rss = rssPages * Self.pageSize
        tree.sampleCPU(now: now)
        tree.lastTime = now
        tree.lastTicks = tree.ticks
        tree.rss.add(Double(rss))
        tree.rssNow = rss
        tree.trend.add(x: now - tree.launchedAt, y: Double(rss))
        tree.io.add(time: now, count: Double(tree.syscalls))
        tree.net.add(time: now, count: Double(tree.connections))
        tree.stall.add(.init(time: now, cpuTicks: tree.ticks, ioOps: tree.syscalls, connections: tree.connections))
        tree.processCountMax = max(tree.processCountMax, processes.count)
        tree.samples += 1
        trees[session] = tree
    }

    /// Counts `socket:[inode]` links under /proc/PID/fd not seen before.
    private mutating func countNewSockets(pid: Int32, known: inout Set<UInt64>) -> Int64 {
        setPath(pid: pid, "fd")
        guard let dir = opendir(path) else { return 0 }
        defer { closedir(dir) }
        let dfd = dirfd(dir)
        var found: Int64 = 0
        while let entry = readdir(dir) {
            guard entry.pointee.d_name.0 != 46 else { continue }  // "." and ".."
            let n = withUnsafePointer(to: entry.pointee.d_name) { name in
                name.withMemoryRebound(to: CChar.self, capacity: 256) { name in
                    linkTarget.withUnsafeMutableBufferPointer { readlinkat(dfd, name, $0.baseAddress!, $0.count) }
                }
            }
            // "socket:[12345]"
            guard n > 9, linkTarget[0] == 115, linkTarget[1] == 111, linkTarget[6] == 58 else { continue }
            var inode: UInt64 = 0
            for k in 8..<n {
                let c = UInt8(bitPattern: linkTarget[k])
                if c >= 48 && c <= 57 { inode = inode * 10 + UInt64(c - 48) }
            }
            if known.insert(inode).inserted { found += 1 }
        }
        return found
    }
}
