/// One group of jobs a pattern found, compared with the whole history.
///
/// `metric` names what `value`, `baselineValue`, `relativeDifference`,
/// `differenceFromAverage` and `pValue` are about: `successRate` for the success
/// patterns, a share of jobs for the others (`leakShare`, `burstShare`, …).
/// `successRate` is always the group's own success rate.
public struct Finding: Codable, Sendable, Hashable {
    /// Pattern id.
    public var pattern: String
    /// Machine-readable group: the job name, the prefix `etl`, the hour `20`, …
    public var group: String
    /// Human sentence: `Job name starts with 'etl'`.
    public var name: String
    public var metric: String
    /// The metric for this group.
    public var value: Double?
    /// The metric over every job.
    public var baselineValue: Double?
    /// Jobs in the group.
    public var matchCount: Int
    /// Jobs of the group with an outcome (succeeded, failed, crashed, timed out).
    public var decidedCount: Int
    /// Jobs counted in `value`'s numerator (successes, suspects, …).
    public var hitCount: Int
    /// succeeded / decided, `nil` when nothing is decided.
    public var successRate: Double?
    /// `relativeDifference` as text: `"-35%"`.
    public var differenceFromAverage: String?
    /// (value − baselineValue) / baselineValue.
    public var relativeDifference: Double?
    /// Two-sided p-value of the group against the rest; `nil` when no test applies.
    public var pValue: Double?
    /// A discovery at the false discovery rate of the analysis, across this pattern's
    /// groups; informational findings (no test) are always `true`.
    public var significant: Bool
    /// Labels of the hour(s) with the most failures (`hour-of-day` only).
    public var mostFailures: [String]?

    public init(
        pattern: String,
        group: String,
        name: String,
        metric: String = "successRate",
        value: Double? = nil,
        baselineValue: Double? = nil,
        matchCount: Int,
        decidedCount: Int,
        hitCount: Int,
        successRate: Double?,
        relativeDifference: Double? = nil,
        pValue: Double? = nil,
        significant: Bool = true,
        mostFailures: [String]? = nil
    ) {
        self.pattern = pattern
        self.group = group
        self.name = name
        self.metric = metric
        self.value = value
        self.baselineValue = baselineValue
        self.matchCount = matchCount
        self.decidedCount = decidedCount
        self.hitCount = hitCount
        self.successRate = successRate
        self.relativeDifference = relativeDifference
        self.differenceFromAverage = relativeDifference.map(Statistics.percentText)
        self.pValue = pValue
        self.significant = significant
        self.mostFailures = mostFailures
    }

    enum CodingKeys: String, CodingKey {
        case pattern, group, name, metric, value, baselineValue, matchCount, decidedCount, hitCount
        case successRate, differenceFromAverage, relativeDifference, pValue, significant, mostFailures
    }

    /// Every key is written, `null` when absent, so that every finding has one shape.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(pattern, forKey: .pattern)
        try c.encode(group, forKey: .group)
        try c.encode(name, forKey: .name)
        try c.encode(metric, forKey: .metric)
        try c.encode(value, forKey: .value)
        try c.encode(baselineValue, forKey: .baselineValue)
        try c.encode(matchCount, forKey: .matchCount)
        try c.encode(decidedCount, forKey: .decidedCount)
        try c.encode(hitCount, forKey: .hitCount)
        try c.encode(successRate, forKey: .successRate)
        try c.encode(differenceFromAverage, forKey: .differenceFromAverage)
        try c.encode(relativeDifference, forKey: .relativeDifference)
        try c.encode(pValue, forKey: .pValue)
        try c.encode(significant, forKey: .significant)
        try c.encode(mostFailures, forKey: .mostFailures)
    }
}
