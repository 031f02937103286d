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

    struct Key: Hashable, Sendable {
        var name: String
        var signature: String
    }

    /// A signature's first failed job.
    struct First: Sendable {
        var start: Int64
        var id: Int64
        var name: String
    }

    /// Failures per name and signature, each signature's first failed job, the start times
    /// (for the newest tenth), and, from the second look, the newest tenth's jobs per name
    /// and those with a signature first seen there.
    public struct Tally: PatternTally {
        var counts = GroupTallies<Key>()
        var failuresPerName: [String: Int] = [:]
        var firstSeen: [String: First] = [:]
        var starts: TimeHistogram<CountBin>?
        var recentPerName = GroupTallies<String>()
        var recentHits = GroupTallies<Key>()

        public mutating func merge(_ other: Tally) {
            counts.merge(other.counts)
            failuresPerName.merge(other.failuresPerName, uniquingKeysWith: +)
            firstSeen.merge(other.firstSeen) { a, b in b.start < a.start ? b : a }
            if let next = other.starts {
                if starts == nil { starts = next } else { starts?.merge(next) }
            }
            recentPerName.merge(other.recentPerName)
            recentHits.merge(other.recentHits)
        }

        /// Where the newest tenth starts (microseconds): the start of the bin of the job that
        /// 90 % of the started jobs precede; `nil` for fewer than 10 started jobs.
        var newestFrom: Int64? {
            guard let starts else { return nil }
            let total = starts.bins.reduce(0) { $0 + $1.count }
            let cut = total / 10 * 9
            guard cut > 0 else { return nil }
            var seen = 0
            for (key, bin) in zip(starts.keys, starts.bins) {
                seen += bin.count
                if seen > cut { return starts.start(ofKey: key) * 1_000_000 }
            }
            return nil
        }
    }

    /// Bins of start time for the newest tenth: 2 minutes for 90 days.
    static let startBins = 65_536

    public func tally(_ jobs: JobTable) -> Tally {
        var tally = Tally()
        var counts: [UInt64: GroupTally] = [:]
        var failuresPerName = [Int](repeating: 0, count: jobs.strings.count)
        var firstSeen: [UInt32: (start: Int64, row: Int)] = [:]
        for row in 0..<jobs.count {
            let status = jobs.statusOf(row)
            guard status.isFailure else { continue }
            failuresPerName[Int(jobs.name[row])] += 1
            let signature = jobs.errorSignature[row]
            guard signature != JobTable.nullString else { continue }
            counts[UInt64(jobs.name[row]) << 32 | UInt64(signature), default: GroupTally()]
                .add(status: jobs.status[row], hit: true)
            let start = jobs.startedAt[row] == JobTable.nullInt ? Int64.max : jobs.startedAt[row]
            if firstSeen[signature].map({ start < $0.start }) ?? true { firstSeen[signature] = (start, row) }
        }
        for (key, t) in counts {
            tally.counts.groups[
                Key(name: jobs.strings[UInt32(key >> 32)], signature: jobs.strings[UInt32(key & 0xffff_ffff)])
            ] = t
        }
        for (name, n) in failuresPerName.enumerated() where n > 0 {
            tally.failuresPerName[jobs.strings[UInt32(name)]] = n
        }
        for (signature, seen) in firstSeen {
            tally.firstSeen[jobs.strings[signature]] = First(
                start: seen.start,
                id: jobs.id[seen.row],
                name: jobs.nameOf(seen.row)
            )
        }
        var (lowest, highest) = (Int64.max, Int64.min)
        for t in jobs.startedAt where t != JobTable.nullInt {
            lowest = min(lowest, t)
            highest = max(highest, t)
        }
        if lowest <= highest {
            typealias H = TimeHistogram<CountBin>
            var h = H(limit: Self.startBins, every: H.seconds(micros: lowest), H.seconds(micros: highest))
            for t in jobs.startedAt where t != JobTable.nullInt {
                h.bins[h.index(ofSeconds: H.seconds(micros: t))].count += 1
            }
            h.dropEmpty { $0.count == 0 }
            tally.starts = h
        }
        return tally
    }

    /// A second look when a signature was first seen in the newest tenth.
    public func needsSecondLook(_ first: Tally) -> Bool {
        guard let from = first.newestFrom else { return false }
        return first.firstSeen.values.contains { $0.start != Int64.max && $0.start >= from }
    }

    /// The newest tenth's jobs per name, and those with a signature first seen there.
    public func secondLook(_ jobs: JobTable, after first: Tally) -> Tally {
        var tally = Tally()
        guard let from = first.newestFrom else { return tally }
        var isNew = [Bool](repeating: false, count: jobs.strings.count)
        for (signature, seen) in first.firstSeen where seen.start != Int64.max && seen.start >= from {
            if let index = jobs.strings.lookUp(signature) { isNew[Int(index)] = true }
        }
        var recent = [GroupTally](repeating: GroupTally(), count: jobs.strings.count)
        var hits: [UInt64: GroupTally] = [:]
        for row in 0..<jobs.count where jobs.startedAt[row] != JobTable.nullInt && jobs.startedAt[row] >= from {
            let name = jobs.name[row]
            let signature = jobs.errorSignature[row]
            let new = signature != JobTable.nullString && isNew[Int(signature)]
            recent[Int(name)].add(status: jobs.status[row], hit: new)
            if new {
                hits[UInt64(name) << 32 | UInt64(signature), default: GroupTally()].add(
                    status: jobs.status[row],
                    hit: true
                )
            }
        }
        tally.recentPerName = GroupTallies(recent) { jobs.strings[UInt32($0)] }
        for (key, t) in hits {
            tally.recentHits.groups[
                Key(name: jobs.strings[UInt32(key >> 32)], signature: jobs.strings[UInt32(key & 0xffff_ffff)])
            ] = t
        }
        return tally
    }

    public func findings(_ tally: Tally, baseline: Baseline) -> [Finding] {
        var findings: [Finding] = []
        var byName: [String: [(String, GroupTally)]] = [:]
        for (key, t) in tally.counts.groups { byName[key.name, default: []].append((key.signature, t)) }
        for (text, signatures) in byName.sorted(by: { $0.key < $1.key }) {
            let failures = tally.failuresPerName[text] ?? 0
            let top = signatures.sorted { ($0.1.matched, $1.0) > ($1.1.matched, $0.0) }.prefix(3)
            for (signature, t) in top {
                let headline = ErrorSignature.headline(signature)
                findings.append(
                    Finding(
                        pattern: id,
                        group: "\(text): \(headline)",
                        name: "Job '\(text)' fails with \"\(headline)\"",
                        metric: "signatureShare",
                        value: failures > 0 ? Double(t.matched) / Double(failures) : nil,
                        matchCount: t.matched,
                        decidedCount: t.decided,
                        hitCount: t.hits,
                        successRate: t.successRate
                    )
                )
            }
        }
        // New signatures: against the jobs of the name that first showed it, in the newest tenth.
        guard let from = tally.newestFrom else { return findings }
        var clock = LocalClock(timeZone: options.timeZone)
        for (signature, seen) in tally.firstSeen.sorted(by: { ($0.value.start, $0.key) < ($1.value.start, $1.key) })
        where seen.start != Int64.max && seen.start >= from {
            let recent = tally.recentPerName[seen.name]
            let hits = tally.recentHits[Key(name: seen.name, signature: signature)]
            let headline = ErrorSignature.headline(signature)
            findings.append(
                Finding(
                    pattern: id,
                    group: "new: \(headline)",
                    name:
                        "New since \(clock.minuteText(micros: seen.start)): \"\(headline)\" (first: job \(seen.id), '\(seen.name)')",
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
}
