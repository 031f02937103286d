import Foundation

/// When the failure rate stepped: per name and over all jobs, the split of the jobs (in
/// start order) that best separates two failure rates — the Bernoulli likelihood ratio,
/// each side at least ``minimumSegment`` jobs with an outcome — tested with a Bonferroni
/// bound over the splits tried. Binary segmentation: each side of a split that holds at
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

    /// One split found: in `failed[lo..<hi]`, the second part starts at `at`.
    struct Split {
        var at: Int
        var lo: Int
        var hi: Int
        var pValue: Double
        var depth: Int
    }

    /// The strongest split of the part `lo..<hi` (failure counts `prefix`) and, while they hold at `alpha`, the
    /// strongest of each side, down to ``maximumDepth`` levels.
    static func segment(
        prefix: [Int],
        lo: Int,
        hi: Int,
        depth: Int = 0,
        minimumSegment m: Int,
        alpha: Double,
        xLogX table: [Double]
    ) -> [Split] {
        guard let best = bestSplit(prefix: prefix, lo: lo, hi: hi, minimumSegment: m, xLogX: table) else { return [] }
        let split = Split(at: lo + best.at, lo: lo, hi: hi, pValue: best.pValue, depth: depth)
        guard best.pValue <= alpha, depth < maximumDepth else { return [split] }
        return [split]
            + segment(
                prefix: prefix,
                lo: lo,
                hi: split.at,
                depth: depth + 1,
                minimumSegment: m,
                alpha: alpha,
                xLogX: table
            )
            + segment(
                prefix: prefix,
                lo: split.at,
                hi: hi,
                depth: depth + 1,
                minimumSegment: m,
                alpha: alpha,
                xLogX: table
            )
    }

    /// The strongest split of `failed` (in order): its index (the first of the second part),
    /// the likelihood-ratio statistic and its p-value (Bonferroni over the splits tried).
    static func bestSplit(
        _ failed: [Bool],
        minimumSegment m: Int,
        xLogX table: [Double]? = nil
    ) -> (at: Int, statistic: Double, pValue: Double)? {
        let n = failed.count
        let t = table.map { $0.count > n ? $0 : Self.xLogX(upTo: n) } ?? Self.xLogX(upTo: n)
        return bestSplit(prefix: Self.prefix(failed), lo: 0, hi: n, minimumSegment: m, xLogX: t)
    }

    /// Failures before each position: `prefix[i]` of `failed[..<i]`.
    static func prefix(_ failed: [Bool]) -> [Int] {
        var prefix = [Int](repeating: 0, count: failed.count + 1)
        for i in 0..<failed.count { prefix[i + 1] = prefix[i] + (failed[i] ? 1 : 0) }
        return prefix
    }

    /// ``bestSplit(_:minimumSegment:xLogX:)`` of the part `lo..<hi`, from the series'
    /// failure counts (made once: the segments of a search share them).
    static func bestSplit(
        prefix: [Int],
        lo: Int,
        hi: Int,
        minimumSegment m: Int,
        xLogX t: [Double]
    ) -> (at: Int, statistic: Double, pValue: Double)? {
        let n = hi - lo
        guard n >= 2 * m else { return nil }
        let total = prefix[hi] - prefix[lo]
        guard total > 0, total < n else { return nil }
        // ℓ(f of k) = f·ln(f/k) + (k−f)·ln(1−f/k) = t[f] + t[k−f] − t[k] with t[i] = i·ln i:
        // one table of logarithms for every split (a million jobs: 4 million logs otherwise).
        let whole = t[total] + t[n - total] - t[n]
        var best = (at: 0, statistic: -1.0)
        for k in m...(n - m) {
            let left = prefix[lo + k] - prefix[lo]
            let right = total - left
            let statistic = 2 * (t[left] + t[k - left] - t[k] + t[right] + t[n - k - right] - t[n - k] - whole)
            if statistic > best.statistic { best = (k, statistic) }
        }
        let tried = Double(n - 2 * m + 1)
        let p = min(1, tried * Statistics.chiSquareSurvival(max(0, best.statistic), degreesOfFreedom: 1))
        return (best.at, best.statistic, p)
    }

    /// `i·ln i` for i in 0…n (0 for 0).
    static func xLogX(upTo n: Int) -> [Double] {
        var t = [Double](repeating: 0, count: n + 1)
        for i in stride(from: 2, through: n, by: 1) { t[i] = Double(i) * log(Double(i)) }
        return t
    }

    public func evaluate(_ jobs: JobTable, baseline: Baseline) -> [Finding] {
        // Decided jobs with a start time, in start order (already so in a service's own
        // history; merged inputs are sorted). Status codes 2…5 are the decided ones.
        var rows: [Int] = []
        rows.reserveCapacity(jobs.count)
        var ordered = true
        var previous = Int64.min
        for row in 0..<jobs.count {
            let t = jobs.startedAt[row]
            let code = jobs.status[row]
            guard t != JobTable.nullInt, code >= 2, code <= 5 else { continue }
            if t < previous { ordered = false }
            previous = t
            rows.append(row)
        }
        if !ordered { rows.sort { (jobs.startedAt[$0], $0) < (jobs.startedAt[$1], $1) } }
        let succeeded = JobStatus.succeeded.code
        var perName = [[Int]](repeating: [], count: jobs.strings.count)
        var failedPerName = [[Bool]](repeating: [], count: jobs.strings.count)
        var failedAll: [Bool] = []
        failedAll.reserveCapacity(rows.count)
        for row in rows {
            let name = Int(jobs.name[row])
            let failed = jobs.status[row] != succeeded
            perName[name].append(row)
            failedPerName[name].append(failed)
            failedAll.append(failed)
        }
        var series: [(group: String, label: String, rows: [Int], failed: [Bool])] = [
            ("all", "all jobs", rows, failedAll)
        ]
        for (key, list) in perName.enumerated() where list.count >= 2 * minimumSegment {
            let name = jobs.strings[UInt32(key)]
            series.append((name, "'\(name)'", list, failedPerName[key]))
        }
        let table = Self.xLogX(upTo: rows.count)
        let splits = series.enumerated().flatMap { i, s in
            Self.segment(
                prefix: Self.prefix(s.failed),
                lo: 0,
                hi: s.failed.count,
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
            let before = s.rows[split.lo..<split.at]
            let after = s.rows[split.at..<split.hi]
            let failedBefore = before.filter { jobs.status[$0] != succeeded }.count
            let failedAfter = after.filter { jobs.status[$0] != succeeded }.count
            let rateBefore = Double(failedBefore) / Double(before.count)
            let rateAfter = Double(failedAfter) / Double(after.count)
            let since = clock.minuteText(micros: jobs.startedAt[after.first!])
            let firstFailing = after.first { jobs.status[$0] != succeeded }.map { Int(jobs.id[$0]) }
            var name =
                "Since \(since) \(s.label) fails \(FindingText.percent(rateAfter)) (before: \(FindingText.percent(rateBefore)))"
            if split.hi < s.rows.count {
                name += ", until \(clock.minuteText(micros: jobs.startedAt[s.rows[split.hi]]))"
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
                    matchCount: after.count,
                    decidedCount: after.count,
                    hitCount: after.count - failedAfter,
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
