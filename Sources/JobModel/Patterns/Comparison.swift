public import Foundation

/// One group of jobs whose rate or share changed between two histories.
public struct GroupChange: Codable, Sendable, Hashable {
    public var pattern: String
    public var group: String
    public var name: String
    /// `successRate`, `rescueRate`, or the share the pattern counts (`leakShare`, `share`, …).
    public var metric: String
    public var before: Double
    public var after: Double
    /// The jobs each proportion is of (decided jobs for a success rate).
    public var beforeCount: Int
    public var afterCount: Int
    /// after − before.
    public var difference: Double
    /// Two-sided p-value of the two proportions being equal.
    public var pValue: Double?
    /// A discovery at the false discovery rate across every group compared.
    public var significant: Bool
    /// `worse` or `better` (a higher success or rescue rate is better; a higher share of
    /// failures, leaks, bursts, stalls or an exit code is worse).
    public var direction: String
}

/// What `jobstats compare` reports.
public struct ComparisonReport: Codable, Sendable {
    public var generatedAt: Date
    public var before: Baseline
    public var after: Baseline
    /// Significant changes (every compared group with `all`), strongest evidence first.
    public var changes: [GroupChange]

    enum CodingKeys: String, CodingKey { case generatedAt, before, after, changes }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Timestamp.format(generatedAt), forKey: .generatedAt)
        try c.encode(before, forKey: .before)
        try c.encode(after, forKey: .after)
        try c.encode(changes, forKey: .changes)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard let date = Timestamp.parse(try c.decode(String.self, forKey: .generatedAt)) else {
            throw DecodingError.dataCorruptedError(
                forKey: .generatedAt,
                in: c,
                debugDescription: "not RFC 3339"
            )
        }
        generatedAt = date
        before = try c.decode(Baseline.self, forKey: .before)
        after = try c.decode(Baseline.self, forKey: .after)
        changes = try c.decode([GroupChange].self, forKey: .changes)
    }

    init(generatedAt: Date, before: Baseline, after: Baseline, changes: [GroupChange]) {
        self.generatedAt = generatedAt
        self.before = before
        self.after = after
        self.changes = changes
    }

    /// Whether something got significantly worse (`--fail-on worse`).
    public var hasSignificantWorsening: Bool { changes.contains { $0.significant && $0.direction == "worse" } }
}

/// Two histories side by side: every group the pattern suite forms in both (a name, a
/// prefix, an hour, a weekday, a duration band, a status, an exit code, …) whose success
/// rate or share differs, tested as two proportions with Benjamini–Hochberg across every
/// group compared.
public enum Comparison {
    public static func run(
        before: JobTable,
        after: JobTable,
        options: AnalysisOptions,
        patterns: [String] = [],
        now: Date = Date()
    ) -> ComparisonReport {
        var every = options
        every.showAll = true
        let a = Analysis.run(before, options: every, patterns: patterns, now: now)
        let b = Analysis.run(after, options: every, patterns: patterns, now: now)
        var earlier: [String: (finding: Finding, x: Int, n: Int)] = [:]
        for f in a.patterns {
            if let p = proportion(f, jobCount: a.jobCount) { earlier[key(f)] = (f, p.x, p.n) }
        }
        var candidates: [(finding: Finding, before: (x: Int, n: Int), after: (x: Int, n: Int))] = []
        for f in b.patterns {
            guard let p = proportion(f, jobCount: b.jobCount), let old = earlier[key(f)],
                old.n >= options.minMatches, p.n >= options.minMatches
            else { continue }
            candidates.append((f, (old.x, old.n), p))
        }
        let pValues = candidates.map { Statistics.proportionPValue($0.before.x, $0.before.n, $0.after.x, $0.after.n) }
        let significant = Statistics.benjaminiHochberg(pValues, q: options.falseDiscoveryRate)
        var changes: [GroupChange] = []
        for (i, c) in candidates.enumerated() where options.showAll || significant[i] {
            let before = Double(c.before.x) / Double(c.before.n)
            let after = Double(c.after.x) / Double(c.after.n)
            let higherIsBetter = higherIsBetter(c.finding)
            changes.append(
                GroupChange(
                    pattern: c.finding.pattern,
                    group: c.finding.group,
                    name: c.finding.name,
                    metric: c.finding.metric,
                    before: before,
                    after: after,
                    beforeCount: c.before.n,
                    afterCount: c.after.n,
                    difference: after - before,
                    pValue: pValues[i],
                    significant: significant[i],
                    direction: (after >= before) == higherIsBetter ? "better" : "worse"
                )
            )
        }
        changes.sort {
            ($0.significant ? 0 : 1, $0.pValue ?? 1, $0.pattern, $0.group)
                < ($1.significant ? 0 : 1, $1.pValue ?? 1, $1.pattern, $1.group)
        }
        return ComparisonReport(
            generatedAt: Timestamp.quantized(now),
            before: a.baseline,
            after: b.baseline,
            changes: changes
        )
    }

    static func key(_ f: Finding) -> String { f.pattern + "\n" + f.group + "\n" + f.metric }

    /// The proportion a finding measures, as counts; `nil` for what is not a proportion of
    /// its own jobs (the most-failures hours, the chain-vs-attempt summary).
    static func proportion(_ f: Finding, jobCount: Int) -> (x: Int, n: Int)? {
        switch f.metric {
        case "successRate":
            guard f.group != "chain", f.decidedCount > 0 else { return nil }
            return (f.hitCount, f.decidedCount)
        case "failures":
            return nil
        case "share":
            // Status and exit-code shares: the group's jobs among those `value` is a share of.
            guard let value = f.value, value > 0 else { return nil }
            return (f.matchCount, Int((Double(f.matchCount) / value).rounded()))
        default:
            guard f.matchCount > 0 else { return nil }
            return (f.hitCount, f.matchCount)
        }
    }

    static func higherIsBetter(_ f: Finding) -> Bool {
        f.metric == "successRate" || f.metric == "rescueRate" || (f.pattern == "status" && f.group == "succeeded")
    }
}
