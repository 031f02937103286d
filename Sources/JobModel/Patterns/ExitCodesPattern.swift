/// The most common non-zero exit codes and fatal signals of each job name.
public struct ExitCodesPattern: Pattern {
    public let id = "exit-codes"
    public let summary = "Most common non-zero exit codes and signals per job name (top 3 each)"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    struct Key<Name: Hashable & Sendable>: Hashable, Sendable {
        var name: Name
        var isSignal: Bool
        var code: Int64
    }

    /// Jobs per name, and per name and exit code or signal.
    public struct Tally: PatternTally {
        var codes: GroupTallies<Key<String>>
        var perName: [String: Int]

        public mutating func merge(_ other: Tally) {
            codes.merge(other.codes)
            perName.merge(other.perName, uniquingKeysWith: +)
        }
    }

    public func tally(_ jobs: JobTable) -> Tally {
        var counts: [Key<UInt32>: GroupTally] = [:]
        var perName = [Int](repeating: 0, count: jobs.strings.count)
        for row in 0..<jobs.count {
            let name = jobs.name[row]
            perName[Int(name)] += 1
            let signal = jobs.signal[row]
            let exit = jobs.exitCode[row]
            let key: Key<UInt32>
            if signal != JobTable.nullInt {
                key = Key(name: name, isSignal: true, code: signal)
            } else if exit != JobTable.nullInt, exit != 0 {
                key = Key(name: name, isSignal: false, code: exit)
            } else {
                continue
            }
            counts[key, default: GroupTally()].add(status: jobs.status[row], hit: true)
        }
        var named: [Key<String>: GroupTally] = [:]
        for (key, tally) in counts {
            named[Key(name: jobs.strings[key.name], isSignal: key.isSignal, code: key.code)] = tally
        }
        var jobsPerName: [String: Int] = [:]
        for (i, n) in perName.enumerated() where n > 0 { jobsPerName[jobs.strings[UInt32(i)]] = n }
        return Tally(codes: GroupTallies(named), perName: jobsPerName)
    }

    public func findings(_ tally: Tally, baseline: Baseline) -> [Finding] {
        let perName = tally.perName
        var byName: [String: [(Key<String>, GroupTally)]] = [:]
        for (key, tally) in tally.codes.groups { byName[key.name, default: []].append((key, tally)) }
        var findings: [Finding] = []
        for text in byName.keys.sorted() {
            let name = text
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
                            value: Double(tally.matched) / Double(perName[name] ?? tally.matched),
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
