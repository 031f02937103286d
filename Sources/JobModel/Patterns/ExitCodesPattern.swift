/// The most common non-zero exit codes and fatal signals of each job name.
public struct ExitCodesPattern: Pattern {
    public let id = "exit-codes"
    public let summary = "Most common non-zero exit codes and signals per job name (top 3 each)"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    struct Key: Hashable {
        var name: UInt32
        var isSignal: Bool
        var code: Int64
    }

    public func evaluate(_ jobs: JobTable, baseline: Baseline) -> [Finding] {
        var counts: [Key: GroupTally] = [:]
        var perName = [Int](repeating: 0, count: jobs.strings.count)
        for row in 0..<jobs.count {
            let name = jobs.name[row]
            perName[Int(name)] += 1
            let signal = jobs.signal[row]
            let exit = jobs.exitCode[row]
            let key: Key
            if signal != JobTable.nullInt {
                key = Key(name: name, isSignal: true, code: signal)
            } else if exit != JobTable.nullInt, exit != 0 {
                key = Key(name: name, isSignal: false, code: exit)
            } else {
                continue
            }
            counts[key, default: GroupTally()].add(status: jobs.status[row], hit: true)
        }
        var byName: [UInt32: [(Key, GroupTally)]] = [:]
        for (key, tally) in counts { byName[key.name, default: []].append((key, tally)) }
        var findings: [Finding] = []
        for name in byName.keys.sorted(by: { jobs.strings[$0] < jobs.strings[$1] }) {
            let text = jobs.strings[name]
            for isSignal in [false, true] {
                let top = byName[name]!.filter { $0.0.isSignal == isSignal }
                    .sorted { ($0.1.matched, -$0.0.code) > ($1.1.matched, -$1.0.code) }
                    .prefix(3)
                for (key, tally) in top {
                    let what = isSignal ? "signal=\(key.code)" : "exit=\(key.code)"
                    findings.append(
                        Finding(
                            pattern: id,
                            group: "\(text) \(what)",
                            name: isSignal
                                ? "Job '\(text)' killed by signal \(key.code)"
                                : "Job '\(text)' exits with code \(key.code)",
                            metric: "share",
                            value: Double(tally.matched) / Double(perName[Int(name)]),
                            matchCount: tally.matched,
                            decidedCount: tally.decided,
                            hitCount: tally.hits,
                            successRate: tally.successRate
                        )
                    )
                }
            }
        }
        return findings
    }
}
