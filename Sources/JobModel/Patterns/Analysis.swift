public import Foundation
import Synchronization

/// The result of running patterns over a history: what `jobstats analyze --format json`
/// prints and `GET /v1/stats` answers.
public struct AnalysisReport: Codable, Sendable {
    public var generatedAt: Date
    public var jobCount: Int
    public var baseline: Baseline
    public var patterns: [Finding]

    enum CodingKeys: String, CodingKey { case generatedAt, jobCount, baseline, patterns }

    public init(generatedAt: Date, jobCount: Int, baseline: Baseline, patterns: [Finding]) {
        self.generatedAt = generatedAt
        self.jobCount = jobCount
        self.baseline = baseline
        self.patterns = patterns
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Timestamp.format(generatedAt), forKey: .generatedAt)
        try c.encode(jobCount, forKey: .jobCount)
        try c.encode(baseline, forKey: .baseline)
        try c.encode(patterns, forKey: .patterns)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let text = try c.decode(String.self, forKey: .generatedAt)
        guard let date = Timestamp.parse(text) else {
            throw DecodingError.dataCorruptedError(forKey: .generatedAt, in: c, debugDescription: "not RFC 3339")
        }
        generatedAt = date
        jobCount = try c.decode(Int.self, forKey: .jobCount)
        baseline = try c.decode(Baseline.self, forKey: .baseline)
        patterns = try c.decode([Finding].self, forKey: .patterns)
    }
}

/// Runs the pattern suite.
public enum Analysis {
    /// Runs the patterns `ids` (every pattern when empty) over `jobs`, in parallel.
    ///
    /// By default lists the significant findings of at least `options.minMatches` jobs;
    /// `options.showAll` lists every group.
    public static func run(
        _ jobs: JobTable,
        options: AnalysisOptions,
        patterns ids: [String] = [],
        now: Date = Date()
    ) -> AnalysisReport {
        run(options: options, patterns: ids, now: now) { body in body(jobs) }
    }

    /// Runs the patterns `ids` over a history given part by part: `forEachPart` passes each
    /// part, in history order, to its argument, and is called a second time when a pattern
    /// needs a second look at the rows. Only one part is held at a time (by the caller); the
    /// patterns keep their tallies, which grow with the groups, not with the jobs. The
    /// findings are those of ``run(_:options:patterns:now:)`` over the parts appended
    /// together, when no retry chain crosses two parts (a chain is one host's: split a fleet
    /// by host).
    public static func run(
        options: AnalysisOptions,
        patterns ids: [String] = [],
        now: Date = Date(),
        forEachPart: (_ body: (JobTable) -> Void) throws -> Void
    ) rethrows -> AnalysisReport {
        let patterns = PatternSuite.all(options).filter { ids.isEmpty || ids.contains($0.id) }
        var tallies = [(any PatternTally)?](repeating: nil, count: patterns.count)
        var baseline: Baseline?
        try forEachPart { part in
            let results = Slots<any PatternTally>(count: patterns.count)
            let partBaseline = Slots<Baseline>(count: 1)
            // The patterns of the part on every core, the baseline beside them. Started last
            // first: the suite lists the costliest patterns last (flaky, change-point,
            // contrast: a tenth of a second each for a million jobs), and a costly one
            // started late would leave the other cores idle at the end.
            DispatchQueue.concurrentPerform(iterations: patterns.count + 1) { k in
                if k == patterns.count {
                    partBaseline.set(0, Baseline(part))
                } else {
                    let i = patterns.count - 1 - k
                    results.set(i, Self.firstTally(patterns[i], part))
                }
            }
            for (i, tally) in results.values.enumerated() {
                if let tally { tallies[i] = tallies[i].map { Self.merge(patterns[i], $0, tally) } ?? tally }
            }
            if let b = partBaseline.values[0] {
                if var current = baseline {
                    current.merge(b)
                    baseline = current
                } else {
                    baseline = b
                }
            }
        }
        let again = patterns.indices.filter { i in tallies[i].map { Self.needsSecondLook(patterns[i], $0) } ?? false }
        if !again.isEmpty {
            let firsts = tallies
            try forEachPart { part in
                let results = Slots<any PatternTally>(count: again.count)
                DispatchQueue.concurrentPerform(iterations: again.count) { k in
                    let i = again[k]
                    if let first = firsts[i] { results.set(k, Self.secondLook(patterns[i], part, after: first)) }
                }
                for (k, tally) in results.values.enumerated() {
                    let i = again[k]
                    if let tally, let current = tallies[i] { tallies[i] = Self.merge(patterns[i], current, tally) }
                }
            }
        }
        let base = baseline ?? Baseline(JobTable())
        let merged = tallies
        let results = Slots<[Finding]>(count: patterns.count)
        DispatchQueue.concurrentPerform(iterations: patterns.count) { i in
            if let tally = merged[i] { results.set(i, Self.findings(patterns[i], tally, baseline: base)) }
        }
        var findings: [Finding] = []
        for list in results.values {
            findings += (list ?? []).filter {
                options.showAll || ($0.significant && $0.matchCount >= options.minMatches)
            }
        }
        return AnalysisReport(
            generatedAt: Timestamp.quantized(now),
            jobCount: base.jobCount,
            baseline: base,
            patterns: findings
        )
    }

    // The pattern's own tally type, opened from the existential.

    private static func firstTally<P: Pattern>(_ pattern: P, _ jobs: JobTable) -> any PatternTally {
        pattern.tally(jobs)
    }

    private static func merge<P: Pattern>(
        _ pattern: P,
        _ a: any PatternTally,
        _ b: any PatternTally
    )
        -> any PatternTally
    {
        guard var merged = a as? P.Tally, let next = b as? P.Tally else { return a }
        merged.merge(next)
        return merged
    }

    private static func needsSecondLook<P: Pattern>(_ pattern: P, _ first: any PatternTally) -> Bool {
        (first as? P.Tally).map { pattern.needsSecondLook($0) } ?? false
    }

    private static func secondLook<P: Pattern>(
        _ pattern: P,
        _ jobs: JobTable,
        after first: any PatternTally
    )
        -> any PatternTally
    {
        guard let first = first as? P.Tally else { return first }
        return pattern.secondLook(jobs, after: first)
    }

    private static func findings<P: Pattern>(
        _ pattern: P,
        _ tally: any PatternTally,
        baseline: Baseline
    )
        -> [Finding]
    {
        (tally as? P.Tally).map { pattern.findings($0, baseline: baseline) } ?? []
    }
}

/// Results of parallel runs, one slot each.
private final class Slots<Value: Sendable>: Sendable {
    private let slots: Mutex<[Value?]>
    init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }
    func set(_ i: Int, _ value: Value) { slots.withLock { $0[i] = value } }
    /// The values set, in slot order (`nil` for a slot never set).
    var values: [Value?] { slots.withLock { $0 } }
}
