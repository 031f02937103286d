/// What the failures of each job name say: the most common error signatures (see
/// ``ErrorSignature``) among its failed jobs, and the signatures first seen in the newest
/// tenth of the history — a new way of failing — each with its share of the recent jobs
/// of the name that first showed it.
public struct FailureSignaturePattern: Pattern {
    public let id = "failure-signature"
    public let summary =
        "Most common error signatures per job name (top 3), and signatures first seen in the newest tenth of the history"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    struct Key: Hashable {
        var name: UInt32
        var signature: UInt32
    }

    public func evaluate(_ jobs: JobTable, baseline: Baseline) -> [Finding] {
        // The newest tenth: jobs started at or after the time 90 % of the started jobs precede.
        var starts = jobs.startedAt.filter { $0 != JobTable.nullInt }
        guard !starts.isEmpty else { return [] }
        let cut = starts.count / 10 * 9
        let newestFrom = Self.nth(&starts, cut)
        var counts: [Key: GroupTally] = [:]
        var failuresPerName: [UInt32: Int] = [:]
        var firstSeen: [UInt32: (start: Int64, row: Int)] = [:]
        for row in 0..<jobs.count {
            let status = jobs.statusOf(row)
            guard status.isFailure else { continue }
            failuresPerName[jobs.name[row], default: 0] += 1
            let signature = jobs.errorSignature[row]
            guard signature != JobTable.nullString else { continue }
            counts[Key(name: jobs.name[row], signature: signature), default: GroupTally()]
                .add(status: jobs.status[row], hit: true)
            let start = jobs.startedAt[row] == JobTable.nullInt ? Int64.max : jobs.startedAt[row]
            if firstSeen[signature].map({ start < $0.start }) ?? true { firstSeen[signature] = (start, row) }
        }
        var findings: [Finding] = []
        var byName: [UInt32: [(UInt32, GroupTally)]] = [:]
        for (key, tally) in counts { byName[key.name, default: []].append((key.signature, tally)) }
        for name in byName.keys.sorted(by: { jobs.strings[$0] < jobs.strings[$1] }) {
            let text = jobs.strings[name]
            let failures = failuresPerName[name] ?? 0
            let top = byName[name]!.sorted { ($0.1.matched, jobs.strings[$1.0]) > ($1.1.matched, jobs.strings[$0.0]) }
                .prefix(3)
            for (signature, tally) in top {
                let headline = ErrorSignature.headline(jobs.strings[signature])
                findings.append(
                    Finding(
                        pattern: id,
                        group: "\(text): \(headline)",
                        name: "Job '\(text)' fails with \"\(headline)\"",
                        metric: "signatureShare",
                        value: failures > 0 ? Double(tally.matched) / Double(failures) : nil,
                        matchCount: tally.matched,
                        decidedCount: tally.decided,
                        hitCount: tally.hits,
                        successRate: tally.successRate
                    )
                )
            }
        }
        // New signatures: against the jobs of the name that first showed it, in the newest tenth.
        var recentPerName: [UInt32: GroupTally] = [:]
        var recentHits: [UInt32: [UInt32: GroupTally]] = [:]
        for row in 0..<jobs.count where jobs.startedAt[row] != JobTable.nullInt && jobs.startedAt[row] >= newestFrom {
            let name = jobs.name[row]
            let signature = jobs.errorSignature[row]
            let isNew = signature != JobTable.nullString && (firstSeen[signature]?.start ?? .min) >= newestFrom
            recentPerName[name, default: GroupTally()].add(status: jobs.status[row], hit: isNew)
            if isNew {
                recentHits[name, default: [:]][signature, default: GroupTally()].add(
                    status: jobs.status[row],
                    hit: true
                )
            }
        }
        var clock = LocalClock(timeZone: options.timeZone)
        for (signature, seen) in firstSeen.sorted(by: { $0.value.start < $1.value.start })
        where seen.start != Int64.max && seen.start >= newestFrom && cut > 0 {
            let name = jobs.name[seen.row]
            let recent = recentPerName[name] ?? GroupTally()
            let hits = recentHits[name]?[signature] ?? GroupTally()
            let headline = ErrorSignature.headline(jobs.strings[signature])
            findings.append(
                Finding(
                    pattern: id,
                    group: "new: \(headline)",
                    name:
                        "New since \(clock.minuteText(micros: seen.start)): \"\(headline)\" (first: job \(jobs.id[seen.row]), '\(jobs.nameOf(seen.row))')",
                    metric: "newSignatureShare",
                    value: recent.matched > 0 ? Double(hits.matched) / Double(recent.matched) : nil,
                    matchCount: recent.matched,
                    decidedCount: recent.decided,
                    hitCount: hits.matched,
                    successRate: recent.successRate
                )
            )
        }
        return findings
    }

    /// The `k`-th smallest of `values` (quickselect; reorders them).
    static func nth(_ values: inout [Int64], _ k: Int) -> Int64 {
        var (low, high) = (0, values.count - 1)
        let k = min(max(k, 0), values.count - 1)
        while low < high {
            let pivot = values[(low + high) / 2]
            var (i, j) = (low, high)
            while i <= j {
                while values[i] < pivot { i += 1 }
                while values[j] > pivot { j -= 1 }
                if i <= j {
                    values.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j { high = j } else if k >= i { low = i } else { break }
        }
        return values[k]
    }
}
