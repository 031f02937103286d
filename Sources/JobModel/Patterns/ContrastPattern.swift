import Foundation
import Synchronization

/// What the failures share: failed jobs against all decided jobs over every attribute value
/// at once, then pairs of the strongest values.
///
/// The attribute values of a job: each label `key=value`, its name, family (see
/// ``NamePrefixPattern``), command basename, each argument among the 32 most frequent
/// (words of at most 40 bytes),
/// working directory, instance, start hour and weekday (`--tz`), duration bucket, the
/// decile of its CPU seconds, peak RSS, I/O bytes and connections, and the decile of how
/// many jobs were running when it started. Each value is tested against the rest of the
/// decided jobs (two proportions), with Benjamini–Hochberg across every value tested;
/// a value is a finding when it fails significantly more (`lift` = its failure rate over
/// the overall one). Then the 12 strongest values are paired: `label team=data AND hour
/// 20` is a finding when the pair fails significantly more than the rest (BH across
/// pairs) and more than either value without the other.
public struct ContrastPattern: Pattern {
    public let id = "contrast"
    public let summary =
        "Attribute values (labels, name, command, hour, deciles of CPU, memory, …) and pairs that failed jobs share"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    /// Arguments tested: the most frequent ones.
    static let argumentLimit = 32
    /// Values paired.
    static let pairLimit = 12

    /// Counts of decided and failed jobs per attribute value (or pair), mergeable: each
    /// part of the rows is counted on its own core and the parts are added up.
    struct Tally: Sendable {
        var decided: [Int]
        var failed: [Int]
        var totalDecided = 0
        var totalFailed = 0

        init(count: Int) {
            decided = Array(repeating: 0, count: count)
            failed = Array(repeating: 0, count: count)
        }

        mutating func add(_ other: Tally) {
            for k in decided.indices {
                decided[k] += other.decided[k]
                failed[k] += other.failed[k]
            }
            totalDecided += other.totalDecided
            totalFailed += other.totalFailed
        }
    }

    /// `count` by `body` over the decided rows, in parts on every core, each part with its
    /// own tally and scratch arrays; the tallies are added up.
    fileprivate static func tally(
        _ jobs: JobTable,
        _ attributes: Attributes,
        count: Int,
        _ body:
            @escaping @Sendable (_ failure: Bool, _ ids: [Int], _ scratch: inout [Int], _ tally: inout Tally) -> Void
    ) -> Tally {
        let parts = max(1, min(ProcessInfo.processInfo.activeProcessorCount, jobs.count / 50_000))
        let results = Mutex([Tally]())
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            var tally = Tally(count: count)
            var ids: [Int] = []
            var scratch: [Int] = []
            let rows = (jobs.count * part / parts)..<(jobs.count * (part + 1) / parts)
            for row in rows {
                let status = jobs.status[row]
                guard status >= 2 && status <= 5 else { continue }  // decided
                let failure = status != 2
                tally.totalDecided += 1
                if failure { tally.totalFailed += 1 }
                attributes.values(of: row, into: &ids)
                body(failure, ids, &scratch, &tally)
            }
            results.withLock { $0.append(tally) }
        }
        var total = Tally(count: count)
        for part in results.withLock({ $0 }) { total.add(part) }
        return total
    }

    public func evaluate(_ jobs: JobTable, baseline: Baseline) -> [Finding] {
        let attributes = Attributes(jobs, options: options)
        let counts = Self.tally(jobs, attributes, count: attributes.count) { failure, ids, _, tally in
            for id in ids {
                tally.decided[id] += 1
                if failure { tally.failed[id] += 1 }
            }
        }
        let (decided, failed) = (counts.decided, counts.failed)
        let (totalDecided, totalFailed) = (counts.totalDecided, counts.totalFailed)
        guard totalDecided > 0, totalFailed > 0 else { return [] }
        let base = Double(totalFailed) / Double(totalDecided)
        let tested = (0..<attributes.count).filter { decided[$0] > 0 && decided[$0] < totalDecided }
        let pValues: [Double?] = tested.map {
            Statistics.proportionPValue(failed[$0], decided[$0], totalFailed - failed[$0], totalDecided - decided[$0])
        }
        let significant = Statistics.benjaminiHochberg(pValues, q: options.falseDiscoveryRate)
        var findings: [Finding] = []
        var strong: [(id: Int, rate: Double)] = []
        for (k, id) in tested.enumerated() {
            let rate = Double(failed[id]) / Double(decided[id])
            let isFinding = significant[k] && rate > base
            findings.append(
                finding(
                    group: attributes.label(id),
                    name: "Jobs " + attributes.phrase(id),
                    failed: failed[id],
                    decided: decided[id],
                    base: base,
                    pValue: pValues[k],
                    significant: isFinding
                )
            )
            if isFinding, decided[id] >= options.minMatches { strong.append((id, rate)) }
        }
        // Pairs of the strongest values (a value and its own family are not paired: one
        // implies the other).
        strong.sort { ($0.rate, $1.id) > ($1.rate, $0.id) }
        let top = strong.prefix(Self.pairLimit).map(\.id)
        if top.count >= 2 {
            findings += pairs(of: Array(top), jobs, attributes, failed: failed, decided: decided, base: base)
        }
        return findings.sorted { ($0.value ?? 0, $1.group) > ($1.value ?? 0, $0.group) }
    }

    private func pairs(
        of top: [Int],
        _ jobs: JobTable,
        _ attributes: Attributes,
        failed: [Int],
        decided: [Int],
        base: Double
    ) -> [Finding] {
        var slot = [Int](repeating: -1, count: attributes.count)
        for (k, id) in top.enumerated() { slot[id] = k }
        let n = top.count
        let slots = slot
        // Pair (i, j), i < j, is counted at i * n + j.
        let counts = Self.tally(jobs, attributes, count: n * n) { failure, ids, present, tally in
            present.removeAll(keepingCapacity: true)
            for id in ids where slots[id] >= 0 { present.append(slots[id]) }
            guard present.count >= 2 else { return }
            for a in 0..<present.count {
                for b in (a + 1)..<present.count {
                    let (i, j) = (min(present[a], present[b]), max(present[a], present[b]))
                    tally.decided[i * n + j] += 1
                    if failure { tally.failed[i * n + j] += 1 }
                }
            }
        }
        let (pairDecided, pairFailed) = (counts.decided, counts.failed)
        let (totalDecided, totalFailed) = (counts.totalDecided, counts.totalFailed)
        var candidates: [(i: Int, j: Int)] = []
        for i in 0..<n {
            for j in (i + 1)..<n where pairDecided[i * n + j] > 0 {
                // The same jobs as one of the two: the pair says nothing more.
                let both = pairDecided[i * n + j]
                if both == decided[top[i]] || both == decided[top[j]] { continue }
                candidates.append((i, j))
            }
        }
        let pValues: [Double?] = candidates.map { c in
            let (f, d) = (pairFailed[c.i * n + c.j], pairDecided[c.i * n + c.j])
            return Statistics.proportionPValue(f, d, totalFailed - f, totalDecided - d)
        }
        let significant = Statistics.benjaminiHochberg(pValues, q: options.falseDiscoveryRate)
        return candidates.enumerated().compactMap { k, c in
            let (f, d) = (pairFailed[c.i * n + c.j], pairDecided[c.i * n + c.j])
            let rate = Double(f) / Double(d)
            // More than either alone: the pair's jobs fail more than the jobs of each value
            // without the other, significantly.
            let (a, b) = (top[c.i], top[c.j])
            let beyondA = Statistics.proportionPValue(f, d, failed[a] - f, decided[a] - d)
            let beyondB = Statistics.proportionPValue(f, d, failed[b] - f, decided[b] - d)
            let explainsMore =
                rate > Double(failed[a]) / Double(decided[a]) && rate > Double(failed[b]) / Double(decided[b])
                && (beyondA ?? 1) <= options.falseDiscoveryRate && (beyondB ?? 1) <= options.falseDiscoveryRate
            guard explainsMore || options.showAll else { return nil }
            return finding(
                group: attributes.label(a) + " AND " + attributes.label(b),
                name: "Jobs " + attributes.phrase(a) + ", and " + attributes.phrase(b),
                failed: f,
                decided: d,
                base: base,
                pValue: pValues[k],
                significant: significant[k] && rate > base && explainsMore
            )
        }
    }

    private func finding(
        group: String,
        name: String,
        failed: Int,
        decided: Int,
        base: Double,
        pValue: Double?,
        significant: Bool
    ) -> Finding {
        let rate = Double(failed) / Double(decided)
        return Finding(
            pattern: id,
            group: group,
            name: name,
            metric: "failureRate",
            value: rate,
            baselineValue: base,
            matchCount: decided,
            decidedCount: decided,
            hitCount: failed,
            successRate: 1 - rate,
            relativeDifference: base > 0 ? (rate - base) / base : nil,
            pValue: pValue,
            significant: significant
        )
    }
}

/// The attribute values of the jobs of a table, numbered: a job's values are found with
/// array lookups by string-pool index, no hashing of strings per job.
private struct Attributes {
    private(set) var labels: [String] = []
    private var phrases: [String] = []
    private var index: [String: Int] = [:]
    let jobs: JobTable
    /// By pool index: the value of a name, family, command basename, argument, cwd, instance.
    private var nameValue: [Int32]
    private var familyValue: [Int32]
    private var commandValue: [Int32]
    private var argumentValue: [Int32]
    private var cwdValue: [Int32]
    private var instanceValue: [Int32]
    /// Label pairs (key index << 32 | value index).
    /// The value of each label entry (`labelKeys` / `labelValues` index).
    private var labelAttribute: [Int32] = []
    /// Per row: hour (5 bits, 31 = no start), weekday (3 bits, 7 = none), duration bucket
    /// (3 bits, 7 = none), then the decile bin of each ``Figure`` (4 bits each), worked
    /// out once for both passes.
    private var derived: [UInt64] = []
    private var hourValue: [Int] = []
    private var weekdayValue: [Int] = []
    private var durationValue: [Int] = []
    /// Deciles: cut points and the first value number, per figure.
    private var deciles: [(figure: Figure, cuts: [Double], first: Int)] = []
    /// Jobs running at each minute of the history (from its first start).
    private var runningByMinute: [Int32] = []
    private var firstMinute: Int64 = 0

    var count: Int { labels.count }

    func label(_ id: Int) -> String { labels[id] }
    func phrase(_ id: Int) -> String { phrases[id] }

    /// The value `label` (the finding's group), with `phrase`, what a sentence says of its
    /// jobs ("labelled team=data").
    private mutating func add(_ label: String, _ phrase: String) -> Int {
        if let id = index[label] { return id }
        labels.append(label)
        phrases.append(phrase)
        index[label] = labels.count - 1
        return labels.count - 1
    }

    /// `/usr/bin/python3` → `python3`.
    private func base(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    init(_ jobs: JobTable, options: AnalysisOptions) {
        self.jobs = jobs
        let poolCount = jobs.strings.count
        nameValue = Array(repeating: -1, count: poolCount)
        familyValue = Array(repeating: -1, count: poolCount)
        commandValue = Array(repeating: -1, count: poolCount)
        argumentValue = Array(repeating: -1, count: poolCount)
        cwdValue = Array(repeating: -1, count: poolCount)
        instanceValue = Array(repeating: -1, count: poolCount)
        var argumentCounts = [Int](repeating: 0, count: poolCount)
        var labelValue: [UInt64: Int] = [:]
        labelAttribute.reserveCapacity(jobs.labelKeys.count)
        for row in 0..<jobs.count {
            let name = Int(jobs.name[row])
            if nameValue[name] < 0 {
                let text = jobs.strings[UInt32(name)]
                nameValue[name] = Int32(add("name \(text)", "named '\(text)'"))
                let family = NamePrefixPattern.prefix(of: text)
                familyValue[name] =
                    family == text ? -1 : Int32(add("family \(family)", "whose name starts with '\(family)'"))
            }
            let args = Int(jobs.commandOffsets[row])..<Int(jobs.commandOffsets[row + 1])
            if let first = args.first {
                let command = Int(jobs.commandArgs[first])
                if commandValue[command] < 0 {
                    let text = jobs.strings[UInt32(command)]
                    commandValue[command] = Int32(
                        add("command \(base(text))", "running '\(base(text))'")
                    )
                }
                for k in args.dropFirst() { argumentCounts[Int(jobs.commandArgs[k])] += 1 }
            }
            let cwd = jobs.cwd[row]
            if cwd != JobTable.nullString, cwdValue[Int(cwd)] < 0 {
                cwdValue[Int(cwd)] = Int32(add("cwd \(jobs.strings[cwd])", "run in \(jobs.strings[cwd])"))
            }
            let instance = Int(jobs.instance[row])
            if instanceValue[instance] < 0 {
                instanceValue[instance] = Int32(
                    add("instance \(jobs.strings[UInt32(instance)])", "on instance '\(jobs.strings[UInt32(instance)])'")
                )
            }
            for k in Int(jobs.labelOffsets[row])..<Int(jobs.labelOffsets[row + 1]) {
                let key = UInt64(jobs.labelKeys[k]) << 32 | UInt64(jobs.labelValues[k])
                if let id = labelValue[key] {
                    labelAttribute.append(Int32(id))
                } else {
                    let pair = "\(jobs.strings[jobs.labelKeys[k]])=\(jobs.strings[jobs.labelValues[k]])"
                    let id = add("label \(pair)", "labelled \(pair)")
                    labelValue[key] = id
                    labelAttribute.append(Int32(id))
                }
            }
        }
        // Words, not scripts: an argument of at most 40 bytes without spaces or controls.
        let frequent = argumentCounts.indices.filter {
            argumentCounts[$0] > 0 && jobs.strings[UInt32($0)].utf8.count <= 40
                && !jobs.strings[UInt32($0)].utf8.contains { $0 <= 32 }
        }
        .sorted { (argumentCounts[$0], $1) > (argumentCounts[$1], $0) }
        .prefix(ContrastPattern.argumentLimit)
        for a in frequent {
            argumentValue[a] = Int32(
                add("argument \(jobs.strings[UInt32(a)])", "with the argument '\(jobs.strings[UInt32(a)])'")
            )
        }
        hourValue = (0..<24).map { add("hour \($0)", "started between \(HourOfDayPattern.label($0))") }
        weekdayValue = DayOfWeekPattern.days.map { add("weekday \($0)", "started on a \($0)") }
        durationValue = DurationPattern.buckets.map { add("duration \($0)", "that ran \($0)") }
        running()
        for figure in Figure.allCases { addDeciles(figure) }
        derive(clock: LocalClock(timeZone: options.timeZone))
    }

    /// Packs each row's hour, weekday, duration bucket and decile bins into ``derived``,
    /// column by column. A bin is the number of cut points at or below the value, counted
    /// without branches: a scan that stopped at the first cut above the value mispredicted
    /// so often that it was a third of the pattern's time.
    private mutating func derive(clock: consuming LocalClock) {
        var packed = [UInt64](repeating: 0, count: jobs.count)
        for row in 0..<jobs.count {
            let t = jobs.startedAt[row]
            if t != JobTable.nullInt {
                let s = clock.localSeconds(micros: t)
                let day = LocalClock.day(ofLocalSeconds: s)
                packed[row] = UInt64((s - day * 86_400) / 3600) | UInt64(LocalClock.weekday(day: day)) << 5
            } else {
                packed[row] = 31 | 7 << 5
            }
            let d = jobs.durationSeconds[row]
            packed[row] |= UInt64(d.isNaN ? 7 : DurationPattern.bucket(d)) << 8
        }
        for (k, decile) in deciles.enumerated() {
            let shift = UInt64(11 + 4 * k)
            let cuts = decile.cuts
            func bins(_ values: some Collection<Double>) {
                for (row, v) in values.enumerated() {
                    var bin: UInt64 = 0
                    for cut in cuts { bin &+= v >= cut ? 1 : 0 }
                    packed[row] |= bin << shift
                }
            }
            switch decile.figure {
            case .cpuSeconds: bins(jobs.cpuSeconds)
            case .rssBytesMax: bins(jobs.rssBytesMax.lazy.map(Double.init))
            case .ioBytes: bins(zip(jobs.ioReadBytes, jobs.ioWriteBytes).lazy.map { Double($0 &+ $1) })
            case .netConnectionsTotal: bins(jobs.netConnectionsTotal.lazy.map(Double.init))
            case .runningAtStart:
                let running = (0..<jobs.count).map { Double(runningAt(row: $0)) }
                bins(running)
            }
        }
        derived = packed
    }

    /// The figures cut into deciles.
    enum Figure: String, CaseIterable {
        case cpuSeconds, rssBytesMax, ioBytes, netConnectionsTotal, runningAtStart
    }

    private func value(_ figure: Figure, row: Int) -> Double {
        switch figure {
        case .cpuSeconds: jobs.cpuSeconds[row]
        case .rssBytesMax: Double(jobs.rssBytesMax[row])
        case .ioBytes: Double(jobs.ioReadBytes[row] &+ jobs.ioWriteBytes[row])
        case .netConnectionsTotal: Double(jobs.netConnectionsTotal[row])
        case .runningAtStart: Double(runningAt(row: row))
        }
    }

    /// Cut points of the figure's deciles (from a sample of at most 8,192 decided jobs),
    /// equal ones merged, and a value for each range between them.
    private mutating func addDeciles(_ figure: Figure) {
        var sample: [Double] = []
        let step = max(1, jobs.count / 8_192)
        for row in stride(from: 0, to: jobs.count, by: step) where jobs.status[row] >= 2 && jobs.status[row] <= 5 {
            sample.append(value(figure, row: row))
        }
        sample.sort()
        var cuts: [Double] = []
        if !sample.isEmpty {
            for d in 1..<10 {
                let cut = sample[min(sample.count - 1, sample.count * d / 10)]
                if cuts.last != cut { cuts.append(cut) }
            }
        }
        let first = labels.count
        func number(_ v: Double) -> String {
            v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(format: "%.3g", v)
        }
        for k in 0...cuts.count {
            let range =
                k == 0
                ? "< \(number(cuts.first ?? 0))"
                : k == cuts.count
                    ? "≥ \(number(cuts[k - 1]))"
                    : "\(number(cuts[k - 1]))–\(number(cuts[k]))"
            let text = "\(figure.rawValue) \(cuts.isEmpty ? "any" : range)"
            _ = add(text, "with \(text)")
        }
        deciles.append((figure, cuts, first))
    }

    /// Jobs running per minute: +1 at each start, -1 after each end.
    private mutating func running() {
        var first = Int64.max
        var last = Int64.min
        for row in 0..<jobs.count where jobs.startedAt[row] != JobTable.nullInt {
            first = min(first, jobs.startedAt[row] / 60_000_000)
            let end = jobs.endedAt[row]
            last = max(last, (end != JobTable.nullInt ? end : jobs.startedAt[row]) / 60_000_000)
        }
        guard first <= last, last - first < 50_000_000 else { return }
        firstMinute = first
        var delta = [Int32](repeating: 0, count: Int(last - first) + 2)
        for row in 0..<jobs.count where jobs.startedAt[row] != JobTable.nullInt {
            delta[Int(jobs.startedAt[row] / 60_000_000 - first)] += 1
            let end = jobs.endedAt[row]
            if end != JobTable.nullInt { delta[Int(end / 60_000_000 - first) + 1] -= 1 }
        }
        var running: Int32 = 0
        runningByMinute = delta.map {
            running += $0
            return running
        }
    }

    private func runningAt(row: Int) -> Int32 {
        let t = jobs.startedAt[row]
        guard t != JobTable.nullInt, !runningByMinute.isEmpty else { return 0 }
        let minute = Int(t / 60_000_000 - firstMinute)
        return minute >= 0 && minute < runningByMinute.count ? runningByMinute[minute] : 0
    }

    /// The values of `row`, in `ids`.
    func values(of row: Int, into ids: inout [Int]) {
        ids.removeAll(keepingCapacity: true)
        let name = Int(jobs.name[row])
        ids.append(Int(nameValue[name]))
        if familyValue[name] >= 0 { ids.append(Int(familyValue[name])) }
        let args = Int(jobs.commandOffsets[row])..<Int(jobs.commandOffsets[row + 1])
        if let first = args.first {
            ids.append(Int(commandValue[Int(jobs.commandArgs[first])]))
            for k in args.dropFirst() {
                let a = argumentValue[Int(jobs.commandArgs[k])]
                if a >= 0, !ids.contains(Int(a)) { ids.append(Int(a)) }
            }
        }
        let cwd = jobs.cwd[row]
        if cwd != JobTable.nullString { ids.append(Int(cwdValue[Int(cwd)])) }
        ids.append(Int(instanceValue[Int(jobs.instance[row])]))
        for k in Int(jobs.labelOffsets[row])..<Int(jobs.labelOffsets[row + 1]) { ids.append(Int(labelAttribute[k])) }
        let packed = derived[row]
        let hour = Int(packed & 31)
        if hour < 24 {
            ids.append(hourValue[hour])
            ids.append(weekdayValue[Int(packed >> 5 & 7)])
        }
        let bucket = Int(packed >> 8 & 7)
        if bucket < 7 { ids.append(durationValue[bucket]) }
        for (k, decile) in deciles.enumerated() { ids.append(decile.first + Int(packed >> UInt64(11 + 4 * k) & 15)) }
    }
}
