import Foundation
import Synchronization

/// What the failures share: failed jobs against all decided jobs over every attribute value
/// at once, then pairs of the strongest values.
///
/// The attribute values of a job: each label `key=value`, its name, family (see
/// ``NamePrefixPattern``), command basename, each argument among the 32 most frequent
/// (words of at most 40 bytes),
/// working directory, instance, start hour and weekday (`--tz`), duration bucket, the
/// decile of its CPU seconds, peak RSS, I/O bytes and connections, and the decile of how
/// many jobs were running on its instance when it started. Deciles are cut at the edges of
/// a log histogram (32 bins per doubling), so every part of a fleet counts into the same
/// bins and the counts of each decile are exact. Each value is tested against the rest of the
/// decided jobs (two proportions), with Benjamini–Hochberg across every value tested;
/// a value is a finding when it fails significantly more (`lift` = its failure rate over
/// the overall one). Then the 12 strongest values are paired: `label team=data AND hour
/// 20` is a finding when the pair fails significantly more than the rest (BH across
/// pairs) and more than either value without the other.
public struct ContrastPattern: Pattern {
    public let id = "contrast"
    public let summary =
        "Attribute values (labels, name, command, hour, deciles of CPU, memory, …) and pairs that failed jobs share"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    /// Arguments tested: the most frequent ones.
    static let argumentLimit = 32
    /// Values paired.
    static let pairLimit = 12

    /// An attribute value a job can have.
    enum Value: Hashable, Sendable {
        case name(String)
        case family(String)
        case command(String)
        case argument(String)
        case cwd(String)
        case instance(String)
        case label(String, String)
        case hour(Int)
        case weekday(Int)
        case duration(Int)
        /// Range `k` of a figure's deciles (see ``Plan``).
        case decile(Figure, Int)

        /// The kind's place in the list above.
        var kind: Int {
            switch self {
            case .name: 0
            case .family: 1
            case .command: 2
            case .argument: 3
            case .cwd: 4
            case .instance: 5
            case .label: 6
            case .hour: 7
            case .weekday: 8
            case .duration: 9
            case .decile: 10
            }
        }
    }

    /// The figures cut into deciles.
    enum Figure: String, CaseIterable, Sendable {
        case cpuSeconds, rssBytesMax, ioBytes, netConnectionsTotal, runningAtStart
    }

    /// Decided and failed jobs.
    struct Counts: Sendable, Hashable {
        var decided = 0
        var failed = 0

        mutating func add(_ other: Counts) {
            decided += other.decided
            failed += other.failed
        }
    }

    /// An argument's occurrences in every job, and the decided and failed jobs that have it.
    struct ArgumentCounts: Sendable {
        var occurrences = 0
        var counts = Counts()
    }

    /// Two of the strongest values, in the order of the strongest.
    struct Pair: Hashable, Sendable {
        var a: Value
        var b: Value
    }

    /// Counts per attribute value, per argument, per log-histogram bin of each figure; the
    /// decided and failed jobs; and, from the second look, per pair of the strongest values.
    public struct Tally: PatternTally {
        var values: [Value: Counts] = [:]
        var arguments: [String: ArgumentCounts] = [:]
        var figures: [Figure: [Int: Counts]] = [:]
        var total = Counts()
        var pairs: [Pair: Counts] = [:]

        public mutating func merge(_ other: Tally) {
            values.merge(other.values) { a, b in
                var c = a
                c.add(b)
                return c
            }
            arguments.merge(other.arguments) { a, b in
                ArgumentCounts(
                    occurrences: a.occurrences + b.occurrences,
                    counts: Counts(
                        decided: a.counts.decided + b.counts.decided,
                        failed: a.counts.failed + b.counts.failed
                    )
                )
            }
            figures.merge(other.figures) { a, b in
                a.merging(b) { x, y in
                    var c = x
                    c.add(y)
                    return c
                }
            }
            total.add(other.total)
            pairs.merge(other.pairs) { a, b in
                var c = a
                c.add(b)
                return c
            }
        }
    }

    public func tally(_ jobs: JobTable) -> Tally {
        let running = RunningAtStart(jobs)
        let options = options
        var parts = Self.parts(of: jobs) { rows in FirstLook(jobs, options: options, rows: rows, running: running) }
        guard var merged = parts.popLast() else { return Tally() }
        for part in parts { merged.add(part) }
        return merged.tally(jobs)
    }

    /// What the second look counts: pairs of the strongest values.
    public func needsSecondLook(_ first: Tally) -> Bool { Plan(first, options: options).top.count >= 2 }

    public func secondLook(_ jobs: JobTable, after first: Tally) -> Tally {
        let plan = Plan(first, options: options)
        let n = plan.top.count
        var tally = Tally()
        guard n >= 2 else { return tally }
        let options = options
        let running = plan.top.contains(where: Self.isRunning) ? RunningAtStart(jobs) : nil
        let parts = Self.parts(of: jobs) { rows in
            PairLook(jobs, plan: plan, options: options, running: running, rows: rows).counts
        }
        var counts = [Counts](repeating: Counts(), count: n * n)
        for part in parts { for k in counts.indices { counts[k].add(part[k]) } }
        for i in 0..<n {
            for j in (i + 1)..<n where counts[i * n + j].decided > 0 {
                tally.pairs[Pair(a: plan.top[i], b: plan.top[j])] = counts[i * n + j]
            }
        }
        return tally
    }

    static func isRunning(_ value: Value) -> Bool {
        if case .decile(.runningAtStart, _) = value { true } else { false }
    }

    /// `count` over the rows of `jobs` in parts, one on each core, in row order.
    static func parts<T: Sendable>(of jobs: JobTable, _ count: @escaping @Sendable (Range<Int>) -> T) -> [T] {
        let parts = max(1, min(ProcessInfo.processInfo.activeProcessorCount, jobs.count / 50_000))
        let results = Mutex([T?](repeating: nil, count: parts))
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let result = count((jobs.count * part / parts)..<(jobs.count * (part + 1) / parts))
            results.withLock { $0[part] = result }
        }
        return results.withLock { $0 }.compactMap { $0 }
    }

    public func findings(_ tally: Tally, baseline: Baseline) -> [Finding] {
        let plan = Plan(tally, options: options)
        let (totalDecided, totalFailed) = (tally.total.decided, tally.total.failed)
        guard totalDecided > 0, totalFailed > 0 else { return [] }
        let base = Double(totalFailed) / Double(totalDecided)
        var findings = plan.tested.enumerated().map { k, v in
            finding(
                group: v.label,
                name: "Jobs " + v.phrase,
                failed: v.counts.failed,
                decided: v.counts.decided,
                base: base,
                pValue: plan.pValues[k],
                significant: plan.isFinding[k]
            )
        }
        if plan.top.count >= 2 { findings += pairs(plan, tally, base: base) }
        return findings.sorted { ($0.value ?? 0, $1.group) > ($1.value ?? 0, $0.group) }
    }

    private func pairs(_ plan: Plan, _ tally: Tally, base: Double) -> [Finding] {
        let (totalDecided, totalFailed) = (tally.total.decided, tally.total.failed)
        let top = plan.top
        var candidates: [(a: Plan.Tested, b: Plan.Tested, counts: Counts)] = []
        for i in 0..<top.count {
            for j in (i + 1)..<top.count {
                guard let counts = tally.pairs[Pair(a: top[i], b: top[j])], counts.decided > 0,
                    let a = plan.value(top[i]), let b = plan.value(top[j])
                else { continue }
                // The same jobs as one of the two: the pair says nothing more.
                if counts.decided == a.counts.decided || counts.decided == b.counts.decided { continue }
                candidates.append((a, b, counts))
            }
        }
        let pValues: [Double?] = candidates.map { c in
            Statistics.proportionPValue(
                c.counts.failed,
                c.counts.decided,
                totalFailed - c.counts.failed,
                totalDecided - c.counts.decided
            )
        }
        let significant = Statistics.benjaminiHochberg(pValues, q: options.falseDiscoveryRate)
        return candidates.enumerated().compactMap { k, c in
            let (f, d) = (c.counts.failed, c.counts.decided)
            let rate = Double(f) / Double(d)
            // More than either alone: the pair's jobs fail more than the jobs of each value
            // without the other, significantly.
            let (a, b) = (c.a.counts, c.b.counts)
            let beyondA = Statistics.proportionPValue(f, d, a.failed - f, a.decided - d)
            let beyondB = Statistics.proportionPValue(f, d, b.failed - f, b.decided - d)
            let explainsMore =
                rate > Double(a.failed) / Double(a.decided) && rate > Double(b.failed) / Double(b.decided)
                && (beyondA ?? 1) <= options.falseDiscoveryRate && (beyondB ?? 1) <= options.falseDiscoveryRate
            guard explainsMore || options.showAll else { return nil }
            return finding(
                group: c.a.label + " AND " + c.b.label,
                name: "Jobs " + c.a.phrase + ", and " + c.b.phrase,
                failed: f,
                decided: d,
                base: base,
                pValue: pValues[k],
                significant: significant[k] && rate > base && explainsMore
            )
        }
    }

    private func finding(
        group: String,
        name: String,
        failed: Int,
        decided: Int,
        base: Double,
        pValue: Double?,
        significant: Bool
    ) -> Finding {
        let rate = Double(failed) / Double(decided)
        return Finding(
            pattern: id,
            group: group,
            name: name,
            metric: "failureRate",
            value: rate,
            baselineValue: base,
            matchCount: decided,
            decidedCount: decided,
            hitCount: failed,
            successRate: 1 - rate,
            relativeDifference: base > 0 ? (rate - base) / base : nil,
            pValue: pValue,
            significant: significant
        )
    }
}
