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
        var chainsDecided = 0
        var chainsSucceeded = 0
        let succeededCode = JobStatus.succeeded.code
        for row in 0..<jobs.count {
            let status = jobs.statusOf(row)
            guard status.isDecided else { continue }
            decided += 1
            let ok = jobs.status[row] == succeededCode
            if ok { succeeded += 1 }
            if jobs.retriedBy[row] == JobTable.nullInt {
                chainsDecided += 1
                if ok { chainsSucceeded += 1 }
            }
        }
        jobCount = jobs.count
        decidedCount = decided
        succeededCount = succeeded
        successRate = decided > 0 ? Double(succeeded) / Double(decided) : 0
        chainSuccessRate = chainsDecided > 0 ? Double(chainsSucceeded) / Double(chainsDecided) : 0
    }
}
