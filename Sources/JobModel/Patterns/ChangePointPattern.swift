import Foundation

/// When the failure rate stepped: per name and over all jobs, the split of the jobs (in
/// start order) that best separates two failure rates — the Bernoulli likelihood ratio,
/// each side at least ``minimumSegment`` jobs with an outcome — tested with a Bonferroni
/// bound over the splits tried. Jobs are counted in bins of start time (a
/// ``TimeHistogram`` of at most ``binLimit`` bins a series: a second each for a day, 32
/// minutes for 90 days), so a series' tally is as big as its bins, not its jobs, and the
/// splits tried are the bins' edges. Binary segmentation: each side of a split that holds at
/// the false discovery rate is searched again (at most ``maximumDepth`` levels, so up to
/// 7 steps a series), then Benjamini–Hochberg across every split found. "Since 2026-11-20
/// 14:00 'etl-daily' fails 41 % (before: 3 %)", with the first failing job after the step.
/// A series' strongest step has the series as its group (`etl-daily`, `all`); the others
/// `etl-daily since 2026-11-24 09:00`.
public struct ChangePointPattern: Pattern {
    public let id = "change-point"
    public let summary = "Where a name's (or all jobs') failure rate stepped, and since when"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    /// Fewest jobs with an outcome on each side of a step.
    public var minimumSegment: Int { max(20, options.minMatches) }

    /// Levels of binary segmentation below a series' strongest step.
    public static let maximumDepth = 2

    /// Most bins of start time a series is counted in.
    public static let binLimit = 4_096

    /// Jobs with an outcome that started in one bin: how many, how many failed, and the
    /// first start and first failing job (microseconds; the earliest, the first part's on a tie).
    struct StepBin: TimeBin {
        var decided = 0
        var failed = 0
        var firstStart = Int64.max
        var firstFailStart = Int64.max
        var firstFailID: Int64 = 0

        init() {}

        mutating func merge(_ other: StepBin) {
            decided += other.decided
            failed += other.failed
            firstStart = min(firstStart, other.firstStart)
            if other.firstFailStart < firstFailStart {
                firstFailStart = other.firstFailStart
                firstFailID = other.firstFailID
            }
        }

        mutating func add(start: Int64, id: Int64, failed isFailure: Bool) {
            decided += 1
            firstStart = min(firstStart, start)
            guard isFailure else { return }
            failed += 1
            if start < firstFailStart {
                firstFailStart = start
                firstFailID = id
            }
        }
    }

    /// Every job's series and each name's.
    public struct Tally: PatternTally {
        var all: TimeHistogram<StepBin>?
        var names: [String: TimeHistogram<StepBin>] = [:]

        public mutating func merge(_ other: Tally) {
            if let next = other.all {
                if all == nil { all = next } else { all?.merge(next) }
            }
            names.merge(other.names) { a, b in
                var merged = a
                merged.merge(b)
                return merged
            }
        }
    }

    public func tally(_ jobs: JobTable) -> Tally {
        // Decided jobs with a start time (status codes 2…5), per name; each series' span.
        var perName = [[Int32]](repeating: [], count: jobs.strings.count)
        var lowest = [Int64](repeating: .max, count: jobs.strings.count)
        var highest = [Int64](repeating: .min, count: jobs.strings.count)
        for row in 0..<jobs.count {
            let t = jobs.startedAt[row]
            let code = jobs.status[row]
            guard t != JobTable.nullInt, code >= 2, code <= 5 else { continue }
            let name = Int(jobs.name[row])
            perName[name].append(Int32(row))
            lowest[name] = min(lowest[name], t)
            highest[name] = max(highest[name], t)
        }
        let from = lowest.min() ?? .max
        guard from != .max, let to = highest.max() else { return Tally() }
        typealias H = TimeHistogram<StepBin>
        let succeeded = JobStatus.succeeded.code
        // Counted in row order: a bin keeps the earliest start, and of equal starts the first row.
        func add(_ row: Int, to h: inout H) {
            let t = jobs.startedAt[row]
            h.bins[h.index(ofSeconds: H.seconds(micros: t))]
                .add(start: t, id: jobs.id[row], failed: jobs.status[row] != succeeded)
        }
        var all = H(limit: Self.binLimit, every: H.seconds(micros: from), H.seconds(micros: to))
        for row in 0..<jobs.count {
            let code = jobs.status[row]
            if jobs.startedAt[row] != JobTable.nullInt, code >= 2, code <= 5 { add(row, to: &all) }
        }
        all.dropEmpty { $0.decided == 0 }
        var tally = Tally(all: all)
        for (key, rows) in perName.enumerated() where !rows.isEmpty {
            var h = H(limit: Self.binLimit, every: H.seconds(micros: lowest[key]), H.seconds(micros: highest[key]))
            for row in rows { add(Int(row), to: &h) }
            h.dropEmpty { $0.decided == 0 }
            tally.names[jobs.strings[UInt32(key)]] = h
        }
        return tally
    }

    /// One split found: in bins `lo..<hi`, the second part starts at bin `at`.
    struct Split {
        var at: Int
        var lo: Int
        var hi: Int
        var pValue: Double
        var depth: Int
    }

    /// A series' jobs with an outcome and its failures before each bin (`decided[i]`,
    /// `failed[i]`: of bins `..<i`).
    struct Counts {
        var decided: [Int]
        var failed: [Int]

        init(_ bins: [StepBin]) {
            decided = [0]
            failed = [0]
            decided.reserveCapacity(bins.count + 1)
            failed.reserveCapacity(bins.count + 1)
            var (d, f) = (0, 0)
            for bin in bins {
                d += bin.decided
                f += bin.failed
                decided.append(d)
                failed.append(f)
            }
        }

        /// One bin per job.
        init(_ failed: [Bool]) {
            self.init(
                failed.map {
                    var bin = StepBin()
                    bin.decided = 1
                    bin.failed = $0 ? 1 : 0
                    return bin
                }
            )
        }
    }

    /// The strongest split of bins `lo..<hi` and, while they hold at `alpha`, the strongest
    /// of each side, down to ``maximumDepth`` levels.
    static func segment(
        _ counts: Counts,
        lo: Int,
        hi: Int,
        depth: Int = 0,
        minimumSegment m: Int,
        alpha: Double,
        xLogX table: [Double]
    ) -> [Split] {
        guard let best = bestSplit(counts, lo: lo, hi: hi, minimumSegment: m, xLogX: table) else { return [] }
        let split = Split(at: best.at, lo: lo, hi: hi, pValue: best.pValue, depth: depth)
        guard best.pValue <= alpha, depth < maximumDepth else { return [split] }
        return [split]
            + segment(
                counts,
                lo: lo,
                hi: split.at,
                depth: depth + 1,
                minimumSegment: m,
                alpha: alpha,
                xLogX: table
            )
            + segment(
                counts,
                lo: split.at,
                hi: hi,
                depth: depth + 1,
                minimumSegment: m,
                alpha: alpha,
                xLogX: table
            )
    }

    /// The strongest split of `failed` (one job each, in order): its index (the first of the
    /// second part), the likelihood-ratio statistic and its p-value (Bonferroni over the
    /// splits tried).
    static func bestSplit(
        _ failed: [Bool],
        minimumSegment m: Int
    ) -> (at: Int, statistic: Double, pValue: Double)? {
        bestSplit(Counts(failed), lo: 0, hi: failed.count, minimumSegment: m, xLogX: Self.xLogX(upTo: failed.count))
    }

    /// The strongest split of bins `lo..<hi` at a bin's edge, each side with at least `m`
    /// jobs with an outcome: the first bin of the second part, the statistic and its
    /// p-value (Bonferroni over the edges tried).
    static func bestSplit(
        _ counts: Counts,
        lo: Int,
        hi: Int,
        minimumSegment m: Int,
        xLogX t: [Double]
    ) -> (at: Int, statistic: Double, pValue: Double)? {
        let (decided, failed) = (counts.decided, counts.failed)
        let n = decided[hi] - decided[lo]
        guard n >= 2 * m, hi - lo >= 2 else { return nil }
        let total = failed[hi] - failed[lo]
        guard total > 0, total < n else { return nil }
        // ℓ(f of k) = f·ln(f/k) + (k−f)·ln(1−f/k) = t[f] + t[k−f] − t[k] with t[i] = i·ln i:
        // one table of logarithms for every split (a million jobs: 4 million logs otherwise).
        let whole = t[total] + t[n - total] - t[n]
        var best = (at: 0, statistic: -1.0)
        var tried = 0
        for at in (lo + 1)..<hi {
            let k = decided[at] - decided[lo]
            guard k >= m else { continue }
            guard n - k >= m else { break }
            tried += 1
            let left = failed[at] - failed[lo]
            let right = total - left
            let statistic = 2 * (t[left] + t[k - left] - t[k] + t[right] + t[n - k - right] - t[n - k] - whole)
            if statistic > best.statistic { best = (at, statistic) }
        }
        guard tried > 0 else { return nil }
        let p = min(1, Double(tried) * Statistics.chiSquareSurvival(max(0, best.statistic), degreesOfFreedom: 1))
        return (best.at, best.statistic, p)
    }

    /// `i·ln i` for i in 0…n (0 for 0).
    static func xLogX(upTo n: Int) -> [Double] {
        var t = [Double](repeating: 0, count: n + 1)
        for i in stride(from: 2, through: n, by: 1) { t[i] = Double(i) * log(Double(i)) }
        return t
    }

    public func findings(_ tally: Tally, baseline: Baseline) -> [Finding] {
        guard let all = tally.all else { return [] }
        var series: [(group: String, label: String, histogram: TimeHistogram<StepBin>)] = [("all", "all jobs", all)]
        for (name, h) in tally.names.sorted(by: { $0.key < $1.key }) {
            if h.bins.reduce(0, { $0 + $1.decided }) >= 2 * minimumSegment { series.append((name, "'\(name)'", h)) }
        }
        let counts = series.map { Counts($0.histogram.bins) }
        let table = Self.xLogX(upTo: all.bins.reduce(0) { $0 + $1.decided })
        let splits = counts.enumerated().flatMap { i, c in
            Self.segment(
                c,
                lo: 0,
                hi: c.decided.count - 1,
                minimumSegment: minimumSegment,
                alpha: options.falseDiscoveryRate,
                xLogX: table
            )
            .map { (series: i, split: $0) }
        }
        let significant = Statistics.benjaminiHochberg(splits.map(\.split.pValue), q: options.falseDiscoveryRate)
        var clock = LocalClock(timeZone: options.timeZone)
        var findings: [Finding] = []
        for (k, (i, split)) in splits.enumerated() {
            let s = series[i]
            let c = counts[i]
            let bins = s.histogram.bins
            let before = c.decided[split.at] - c.decided[split.lo]
            let after = c.decided[split.hi] - c.decided[split.at]
            let failedBefore = c.failed[split.at] - c.failed[split.lo]
            let failedAfter = c.failed[split.hi] - c.failed[split.at]
            let rateBefore = Double(failedBefore) / Double(before)
            let rateAfter = Double(failedAfter) / Double(after)
            let since = clock.minuteText(micros: bins[split.at].firstStart)
            let firstFailing = bins[split.at..<split.hi].first { $0.failed > 0 }.map(\.firstFailID)
            var name =
                "Since \(since) \(s.label) fails \(FindingText.percent(rateAfter)) (before: \(FindingText.percent(rateBefore)))"
            if split.hi < bins.count {
                name += ", until \(clock.minuteText(micros: bins[split.hi].firstStart))"
            }
            if rateAfter > rateBefore, let firstFailing {
                name += "; first failure after the step: job \(firstFailing)"
            }
            let successBefore = 1 - rateBefore
            let successAfter = 1 - rateAfter
            findings.append(
                Finding(
                    pattern: id,
                    group: split.depth == 0 ? s.group : "\(s.group) since \(since)",
                    name: name,
                    value: successAfter,
                    baselineValue: successBefore,
                    matchCount: after,
                    decidedCount: after,
                    hitCount: after - failedAfter,
                    successRate: successAfter,
                    relativeDifference: successBefore > 0 ? (successAfter - successBefore) / successBefore : nil,
                    pValue: split.pValue,
                    significant: significant[k]
                )
            )
        }
        return findings
    }
}
