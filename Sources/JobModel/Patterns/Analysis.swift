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
        let baseline = Baseline(jobs)
        let patterns = PatternSuite.all(options).filter { ids.isEmpty || ids.contains($0.id) }
        let results = PatternResults(count: patterns.count)
        DispatchQueue.concurrentPerform(iterations: patterns.count) { i in
            results.set(i, patterns[i].evaluate(jobs, baseline: baseline))
        }
        var findings: [Finding] = []
        for list in results.values {
            findings += list.filter { options.showAll || ($0.significant && $0.matchCount >= options.minMatches) }
        }
        return AnalysisReport(
            generatedAt: Timestamp.quantized(now),
            jobCount: jobs.count,
            baseline: baseline,
            patterns: findings
        )
    }
}

/// Results of parallel pattern runs, one slot per pattern.
private final class PatternResults: Sendable {
    private let slots: Mutex<[[Finding]]>
    init(count: Int) { slots = Mutex(Array(repeating: [], count: count)) }
    func set(_ i: Int, _ value: [Finding]) { slots.withLock { $0[i] = value } }
    var values: [[Finding]] { slots.withLock { $0 } }
}
