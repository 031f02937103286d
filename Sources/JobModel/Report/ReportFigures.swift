import Foundation

/// The figures of `jobstats report` beside the findings: one pass over the columns (and a
/// second over the rows of the leak suspects' names), so that a million jobs take
/// milliseconds. Times are start times in the analysis time zone.
public struct ReportFigures: Sendable {
    /// Failures and decided jobs of one hour of one weekday.
    public struct Cell: Sendable, Hashable {
        public var failures = 0
        public var decided = 0

        public init(failures: Int = 0, decided: Int = 0) {
            self.failures = failures
            self.decided = decided
        }
    }

    /// One day (local days since 1970-01-01).
    public struct Day: Sendable, Hashable {
        public var day: Int64
        public var jobs = 0
        public var decided = 0
        public var succeeded = 0
    }

    /// One name's success rate with its Wilson 95 % interval.
    public struct NameRate: Sendable, Hashable {
        public var name: String
        public var jobs: Int
        public var decided: Int
        public var succeeded: Int
        public var rate: Double
        public var low: Double
        public var high: Double
    }

    /// A leak suspect name's peak memory per day.
    public struct LeakTrend: Sendable, Hashable {
        public struct Point: Sendable, Hashable {
            public var day: Int64
            public var runs: Int
            public var meanPeakBytes: Double
            public var suspects: Int
        }
        public var name: String
        public var runs: Int
        public var suspects: Int
        public var points: [Point]
    }

    /// Jobs of the decided statuses (and `lost`) by duration bin (``durationEdges``).
    public var durationBins: [JobStatus: [Int]] = [:]
    /// Upper edges of the duration bins in seconds; the last bin is open.
    public static let durationEdges: [Double] = [0.1, 0.3, 1, 3, 10, 30, 100, 300, 1_000, 3_000, 10_000, 30_000]
    public static let durationStatuses: [JobStatus] = [.succeeded, .failed, .crashed, .timedOut]

    public var timeZone: String
    public var firstStartMicros: Int64?
    public var lastStartMicros: Int64?
    public var names = 0
    public var instances = 0
    /// [weekday 0 = Monday][hour].
    public var heat = [[Cell]](repeating: [Cell](repeating: Cell(), count: 24), count: 7)
    public var days: [Day] = []
    /// The most run names (up to ``topNames``), worst success rate first.
    public var nameRates: [NameRate] = []
    public static let topNames = 15
    public var leakTrends: [LeakTrend] = []
    /// Jobs with a burst of I/O, of new connections, a stall, a leak suspicion (same rules
    /// as the patterns), and the jobs they are shares of.
    public var ioBursts = 0
    public var netBursts = 0
    public var stalls = 0
    public var leaks = 0
    public var sampledJobs = 0
    /// Retry chains (their last attempt decided), those whose first attempt failed, and of
    /// those the ones a retry rescued.
    public var chains = 0
    public var chainsFirstFailed = 0
    /// Chains that a retry continued (their first attempt failed).
    public var chainsRetried = 0
    public var chainsRescued = 0
    /// Decided and succeeded attempts by attempt number (1, 2, 3, 4 and 5+).
    public var attempts = [Cell](repeating: Cell(), count: 5)
    /// Exit codes of failed jobs and signals of crashed ones, most frequent first (top 10).
    public var exitCodes: [(code: Int, count: Int)] = []
    public var signals: [(signal: Int, count: Int)] = []

    /// The figures of `jobs`; `leakNames`: the names whose memory trend is drawn (the leak
    /// findings'), else the names with the most suspects.
    public static func compute(_ jobs: JobTable, options: AnalysisOptions, leakNames: [String] = []) -> ReportFigures {
        var f = ReportFigures(timeZone: options.timeZone.identifier)
        var clock = LocalClock(timeZone: options.timeZone)
        let poolSize = jobs.strings.count
        var perName = [Cell](repeating: Cell(), count: poolSize)
        var jobsPerName = [Int](repeating: 0, count: poolSize)
        var suspectsPerName = [Int](repeating: 0, count: poolSize)
        var instanceSeen = [Bool](repeating: false, count: poolSize)
        var days: [Int64: Day] = [:]
        var exitCodes: [Int: Int] = [:]
        var signals: [Int: Int] = [:]
        var bins: [UInt8: [Int]] = [:]
        for status in durationStatuses { bins[status.code] = [Int](repeating: 0, count: durationEdges.count + 1) }
        let succeeded = JobStatus.succeeded.code
        let failed = JobStatus.failed.code
        let crashed = JobStatus.crashed.code
        let factor = options.burstFactor
        // The current day's tally: rows come mostly in time order, so the dictionary is
        // touched only when the day changes.
        var today = Day(day: Int64.min)
        for row in 0..<jobs.count {
            let code = jobs.status[row]
            let status = JobStatus(code: code)
            let decided = status?.isDecided ?? false
            let ok = code == succeeded
            let name = Int(jobs.name[row])
            jobsPerName[name] += 1
            let instance = jobs.instance[row]
            if instance != JobTable.nullString { instanceSeen[Int(instance)] = true }
            if decided {
                perName[name].decided += 1
                if !ok { perName[name].failures += 1 }
            }
            let t = jobs.startedAt[row]
            if t != JobTable.nullInt {
                f.firstStartMicros = min(f.firstStartMicros ?? t, t)
                f.lastStartMicros = max(f.lastStartMicros ?? t, t)
                let local = clock.localSeconds(micros: t)
                let day = LocalClock.day(ofLocalSeconds: local)
                if decided {
                    let hour = Int((local - day * 86_400) / 3600)
                    let weekday = LocalClock.weekday(day: day)
                    f.heat[weekday][hour].decided += 1
                    if !ok { f.heat[weekday][hour].failures += 1 }
                }
                if day != today.day {
                    if today.day != Int64.min { days[today.day] = today }
                    today = days[day] ?? Day(day: day)
                }
                today.jobs += 1
                if decided {
                    today.decided += 1
                    if ok { today.succeeded += 1 }
                }
            }
            if decided, let bin = bins[code] {
                let d = jobs.durationSeconds[row]
                if d.isFinite {
                    var i = 0
                    while i < durationEdges.count, d >= durationEdges[i] { i += 1 }
                    bins[code]![i] = bin[i] + 1
                }
            }
            if jobs.sampleCount[row] > 0 {
                f.sampledJobs += 1
                let io = jobs.ioOpsPerSecondPeak[row]
                if BurstRule.isBurst(
                    peak: io,
                    average: jobs.ioOpsPerSecondAvg[row],
                    minimumPeak: IOBurstPattern.minimumPeak,
                    factor: factor
                ) {
                    f.ioBursts += 1
                }
                if BurstRule.isBurst(
                    peak: jobs.netConnectionsPerSecondPeak[row],
                    average: jobs.netConnectionsPerSecondAvg[row],
                    minimumPeak: NetBurstPattern.minimumPeak,
                    factor: factor
                ) {
                    f.netBursts += 1
                }
                if jobs.stalledSeconds[row] >= options.stalledAfterSeconds { f.stalls += 1 }
                if jobs.memoryLeakSuspected[row] {
                    f.leaks += 1
                    suspectsPerName[name] += 1
                }
            }
            if decided {
                let attempt = max(1, min(5, Int(jobs.attempt[row] == JobTable.nullInt ? 1 : jobs.attempt[row])))
                f.attempts[attempt - 1].decided += 1
                if !ok { f.attempts[attempt - 1].failures += 1 }
                if jobs.retriedBy[row] == JobTable.nullInt {
                    f.chains += 1
                    if attempt > 1 {
                        f.chainsFirstFailed += 1
                        f.chainsRetried += 1
                        if ok { f.chainsRescued += 1 }
                    } else if !ok {
                        f.chainsFirstFailed += 1
                    }
                }
            }
            if code == failed, jobs.exitCode[row] != JobTable.nullInt {
                exitCodes[Int(jobs.exitCode[row]), default: 0] += 1
            } else if code == crashed, jobs.signal[row] != JobTable.nullInt {
                signals[Int(jobs.signal[row]), default: 0] += 1
            }
        }
        if today.day != Int64.min { days[today.day] = today }
        f.days = days.values.sorted { $0.day < $1.day }
        f.names = jobsPerName.lazy.filter { $0 > 0 }.count
        f.instances = instanceSeen.lazy.filter { $0 }.count
        for status in durationStatuses { f.durationBins[status] = bins[status.code] }
        f.exitCodes = exitCodes.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(10).map { ($0.key, $0.value) }
        f.signals = signals.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(10).map { ($0.key, $0.value) }

        // The most run names, worst first.
        let top = (0..<poolSize).filter { perName[$0].decided > 0 }
            .sorted {
                (perName[$0].decided, jobs.strings[UInt32($1)]) > (perName[$1].decided, jobs.strings[UInt32($0)])
            }
            .prefix(topNames)
        f.nameRates = top.map { i in
            let cell = perName[i]
            let ok = cell.decided - cell.failures
            let (low, high) = Statistics.wilsonInterval(successes: ok, trials: cell.decided)
            return NameRate(
                name: jobs.strings[UInt32(i)],
                jobs: jobsPerName[i],
                decided: cell.decided,
                succeeded: ok,
                rate: Double(ok) / Double(cell.decided),
                low: low,
                high: high
            )
        }.sorted { ($0.rate, $0.name) < ($1.rate, $1.name) }

        // Leak trends: the leak findings' names, else the names with the most suspects.
        var leakIDs = leakNames.compactMap { jobs.strings.lookUp($0) }.map(Int.init)
        if leakIDs.isEmpty {
            leakIDs = (0..<poolSize).filter { suspectsPerName[$0] >= 5 }
                .sorted { suspectsPerName[$0] > suspectsPerName[$1] }
        }
        leakIDs = Array(leakIDs.prefix(4))
        if !leakIDs.isEmpty {
            var points: [Int: [Int64: LeakTrend.Point]] = [:]
            let wanted = Set(leakIDs.map { UInt32($0) })
            for row in 0..<jobs.count where wanted.contains(jobs.name[row]) && jobs.sampleCount[row] > 0 {
                let t = jobs.startedAt[row]
                guard t != JobTable.nullInt else { continue }
                let day = clock.day(micros: t)
                let name = Int(jobs.name[row])
                var p = points[name]?[day] ?? LeakTrend.Point(day: day, runs: 0, meanPeakBytes: 0, suspects: 0)
                p.runs += 1
                p.meanPeakBytes += (Double(jobs.rssBytesMax[row]) - p.meanPeakBytes) / Double(p.runs)
                if jobs.memoryLeakSuspected[row] { p.suspects += 1 }
                points[name, default: [:]][day] = p
            }
            f.leakTrends = leakIDs.map { id in
                LeakTrend(
                    name: jobs.strings[UInt32(id)],
                    runs: jobsPerName[id],
                    suspects: suspectsPerName[id],
                    points: (points[id] ?? [:]).values.sorted { $0.day < $1.day }
                )
            }
        }
        return f
    }

    init(timeZone: String) {
        self.timeZone = timeZone
    }
}

/// A burst: a rolling-window `peak` of at least `minimumPeak` and at least `factor` times
/// the run's `average` (`io-burst`, `net-burst` and the report count the same runs).
public enum BurstRule {
    @inline(__always)
    public static func isBurst(peak: Double, average: Double, minimumPeak: Double, factor: Double) -> Bool {
        peak >= minimumPeak && peak >= factor * average
    }
}
