/// The whole history's figures that findings are compared with.
public struct Baseline: Codable, Sendable, Hashable {
    /// Jobs in the analysis.
    public var jobCount: Int
    /// Jobs with an outcome: succeeded + failed + crashed + timedOut.
    public var decidedCount: Int
    /// Successful jobs.
    public var succeededCount: Int
    /// succeeded / decided (0 when nothing is decided).
    public var successRate: Double
    /// Share of retry chains whose last attempt succeeded, among chains whose last attempt is decided.
    public var chainSuccessRate: Double
    /// Chains whose last attempt is decided, and those that succeeded (what
    /// ``chainSuccessRate`` is made of, for ``merge(_:)``; not in JSON).
    var chainsDecided = 0
    var chainsSucceeded = 0

    enum CodingKeys: String, CodingKey {
        case jobCount, decidedCount, successRate, chainSuccessRate
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        jobCount = try c.decode(Int.self, forKey: .jobCount)
        decidedCount = try c.decode(Int.self, forKey: .decidedCount)
        successRate = try c.decode(Double.self, forKey: .successRate)
        chainSuccessRate = try c.decode(Double.self, forKey: .chainSuccessRate)
        succeededCount = Int((successRate * Double(decidedCount)).rounded())
    }

    /// The baseline of `jobs`. A chain ends at a job nobody retried (`retriedBy` null).
    public init(_ jobs: JobTable) {
        var decided = 0
        var succeeded = 0
        var decidedChains = 0
        var succeededChains = 0
        let succeededCode = JobStatus.succeeded.code
        for row in 0..<jobs.count {
            let status = jobs.statusOf(row)
            guard status.isDecided else { continue }
            decided += 1
            let ok = jobs.status[row] == succeededCode
            if ok { succeeded += 1 }
            if jobs.retriedBy[row] == JobTable.nullInt {
                decidedChains += 1
                if ok { succeededChains += 1 }
            }
        }
        jobCount = jobs.count
        chainsDecided = decidedChains
        chainsSucceeded = succeededChains
        decidedCount = decided
        succeededCount = succeeded
        successRate = decided > 0 ? Double(succeeded) / Double(decided) : 0
        chainSuccessRate = decidedChains > 0 ? Double(succeededChains) / Double(decidedChains) : 0
    }

    /// Equal figures, as JSON has them (the chain counts are not in JSON).
    public static func == (a: Baseline, b: Baseline) -> Bool {
        (a.jobCount, a.decidedCount, a.succeededCount, a.successRate, a.chainSuccessRate)
            == (b.jobCount, b.decidedCount, b.succeededCount, b.successRate, b.chainSuccessRate)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(jobCount)
        hasher.combine(decidedCount)
        hasher.combine(succeededCount)
        hasher.combine(successRate)
        hasher.combine(chainSuccessRate)
    }

    /// Adds the counts of another part of the history.
    mutating func merge(_ other: Baseline) {
        jobCount += other.jobCount
        decidedCount += other.decidedCount
        succeededCount += other.succeededCount
        chainsDecided += other.chainsDecided
        chainsSucceeded += other.chainsSucceeded
        successRate = decidedCount > 0 ? Double(succeededCount) / Double(decidedCount) : 0
        chainSuccessRate = chainsDecided > 0 ? Double(chainsSucceeded) / Double(chainsDecided) : 0
    }
}
