import Foundation

extension ContrastPattern {
    /// Bin of a figure's log histogram: 32 bins per doubling, each at most 2.2 % wide (the
    /// exponent and the top five bits of the mantissa of a positive double), 0 for 0,
    /// negatives and NaN.
    @inline(__always)
    static func bin(_ v: Double) -> Int { v > 0 ? Int(truncatingIfNeeded: v.bitPattern >> 47) : 0 }

    /// The smallest value of bin `bin`.
    static func edge(_ bin: Int) -> Double { bin == 0 ? 0 : Double(bitPattern: UInt64(bin) << 47) }

    /// Bins of a figure's histogram.
    static let binCount = 1 << 16

    /// The value of `figure` for `row`.
    @inline(__always)
    static func value(_ figure: Figure, _ jobs: JobTable, _ row: Int, _ running: RunningAtStart) -> Double {
        switch figure {
        case .cpuSeconds: jobs.cpuSeconds[row]
        case .rssBytesMax: Double(jobs.rssBytesMax[row])
        case .ioBytes: Double(jobs.ioReadBytes[row] &+ jobs.ioWriteBytes[row])
        case .netConnectionsTotal: Double(jobs.netConnectionsTotal[row])
        case .runningAtStart: Double(running.at(row: row, jobs))
        }
    }

    /// `/usr/bin/python3` → `python3`.
    static func base(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// Words, not scripts: an argument of at most 40 bytes without spaces or controls.
    static func isWord(_ argument: String) -> Bool {
        argument.utf8.count <= 40 && !argument.utf8.contains { $0 <= 32 }
    }

    /// Jobs running on each instance, per minute: +1 at each start, -1 after each end.
    struct RunningAtStart: Sendable {
        /// By instance pool index: its slot, or -1.
        private var slot: [Int32] = []
        private var first: [Int64] = []
        private var running: [[Int32]] = []

        init(_ jobs: JobTable) {
            slot = Array(repeating: -1, count: jobs.strings.count)
            var bounds: [(first: Int64, last: Int64)] = []
            for row in 0..<jobs.count where jobs.startedAt[row] != JobTable.nullInt {
                let instance = Int(jobs.instance[row])
                let start = jobs.startedAt[row] / 60_000_000
                let end = jobs.endedAt[row] != JobTable.nullInt ? jobs.endedAt[row] / 60_000_000 : start
                if slot[instance] < 0 {
                    slot[instance] = Int32(bounds.count)
                    bounds.append((start, max(start, end)))
                } else {
                    let k = Int(slot[instance])
                    bounds[k] = (min(bounds[k].first, start), max(bounds[k].last, end))
                }
            }
            first = bounds.map(\.first)
            // A damaged history spanning ages is not worth a per-minute array.
            running = bounds.map {
                $0.last - $0.first < 50_000_000 ? Array(repeating: 0, count: Int($0.last - $0.first) + 2) : []
            }
            for row in 0..<jobs.count where jobs.startedAt[row] != JobTable.nullInt {
                let k = Int(slot[Int(jobs.instance[row])])
                guard !running[k].isEmpty else { continue }
                running[k][Int(jobs.startedAt[row] / 60_000_000 - first[k])] += 1
                let end = jobs.endedAt[row]
                if end != JobTable.nullInt, end >= jobs.startedAt[row] {
                    running[k][Int(end / 60_000_000 - first[k]) + 1] -= 1
                }
            }
            for k in running.indices {
                var sum: Int32 = 0
                for m in running[k].indices {
                    sum += running[k][m]
                    running[k][m] = sum
                }
            }
        }

        @inline(__always)
        func at(row: Int, _ jobs: JobTable) -> Int32 {
            let t = jobs.startedAt[row]
            guard t != JobTable.nullInt else { return 0 }
            let k = Int(slot[Int(jobs.instance[row])])
            let minute = Int(t / 60_000_000 - first[k])
            return minute >= 0 && minute < running[k].count ? running[k][minute] : 0
        }
    }

    /// Decided and failed jobs, small.
    struct Counts32: Sendable {
        var decided: Int32 = 0
        var failed: Int32 = 0

        @inline(__always)
        mutating func add(failed f: Int32) {
            decided &+= 1
            failed &+= f
        }

        mutating func add(_ other: Counts32) {
            decided &+= other.decided
            failed &+= other.failed
        }

        var counts: Counts { Counts(decided: Int(decided), failed: Int(failed)) }
    }

    /// Counts per label (key and value pool indices packed), in a table of their own:
    /// open addressing with a multiplicative hash, where a `Dictionary` lookup per label of
    /// every job was a tenth of the pattern's time.
    struct LabelCounts: Sendable {
        private var keys = [UInt64](repeating: .max, count: 64)
        private var counts = [Counts32](repeating: Counts32(), count: 64)
        private var used = 0

        @inline(__always)
        private func slot(_ key: UInt64) -> Int {
            let mask = keys.count - 1
            var i = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
            while keys[i] != key && keys[i] != .max { i = (i + 1) & mask }
            return i
        }

        @inline(__always)
        mutating func add(_ key: UInt64, failed f: Int32) {
            counts[insert(key)].add(failed: f)
        }

        mutating func add(_ key: UInt64, _ c: Counts32) {
            counts[insert(key)].add(c)
        }

        /// The slot of `key`, taken if it is new.
        @inline(__always)
        private mutating func insert(_ key: UInt64) -> Int {
            var i = slot(key)
            guard keys[i] == .max else { return i }
            if (used + 1) * 2 > keys.count {
                let old = entries
                keys = Array(repeating: .max, count: keys.count * 2)
                counts = Array(repeating: Counts32(), count: keys.count)
                used = 0
                for (k, c) in old { counts[insert(k)].add(c) }
                i = slot(key)
            }
            keys[i] = key
            used += 1
            return i
        }

        var entries: [(key: UInt64, counts: Counts32)] {
            zip(keys, counts).filter { $0.0 != .max }.map { (key: $0.0, counts: $0.1) }
        }
    }

    /// The first look at some rows of one table: counts by string-pool index and by bin.
    struct FirstLook: Sendable {
        var name: [Counts32]
        var command: [Counts32]
        var argument: [Counts32]
        var occurrences: [Int32]
        var cwd: [Counts32]
        var instance: [Counts32]
        var labels = LabelCounts()
        var hour = [Counts32](repeating: Counts32(), count: 24)
        var weekday = [Counts32](repeating: Counts32(), count: 7)
        var duration = [Counts32](repeating: Counts32(), count: DurationPattern.buckets.count)
        var figures: [[Counts32]]
        var total = Counts()

        init(_ jobs: JobTable, options: AnalysisOptions, rows: Range<Int>, running: RunningAtStart) {
            let pool = jobs.strings.count
            name = Array(repeating: Counts32(), count: pool)
            command = name
            argument = name
            cwd = name
            instance = name
            occurrences = Array(repeating: 0, count: pool)
            figures = Array(
                repeating: Array(repeating: Counts32(), count: ContrastPattern.binCount),
                count: Figure.allCases.count
            )
            var clock = LocalClock(timeZone: options.timeZone)
            var decided = 0
            var failures = 0
            for row in rows {
                let a0 = Int(jobs.commandOffsets[row])
                let a1 = Int(jobs.commandOffsets[row + 1])
                if a1 > a0 + 1 { for k in (a0 + 1)..<a1 { occurrences[Int(jobs.commandArgs[k])] &+= 1 } }
                let status = jobs.status[row]
                guard status >= 2 && status <= 5 else { continue }  // decided
                let f: Int32 = status != 2 ? 1 : 0
                decided += 1
                failures += Int(f)
                name[Int(jobs.name[row])].add(failed: f)
                if a1 > a0 {
                    command[Int(jobs.commandArgs[a0])].add(failed: f)
                    // Once a job, however often it is given: a scan of the arguments before it,
                    // or a set for a long command line.
                    if a1 - a0 <= 33 {
                        for k in (a0 + 1)..<a1 {
                            let a = jobs.commandArgs[k]
                            var seen = false
                            for e in (a0 + 1)..<k where jobs.commandArgs[e] == a { seen = true }
                            if !seen { argument[Int(a)].add(failed: f) }
                        }
                    } else {
                        for a in Set(jobs.commandArgs[(a0 + 1)..<a1]) { argument[Int(a)].add(failed: f) }
                    }
                }
                let c = jobs.cwd[row]
                if c != JobTable.nullString { cwd[Int(c)].add(failed: f) }
                instance[Int(jobs.instance[row])].add(failed: f)
                for k in Int(jobs.labelOffsets[row])..<Int(jobs.labelOffsets[row + 1]) {
                    labels.add(UInt64(jobs.labelKeys[k]) << 32 | UInt64(jobs.labelValues[k]), failed: f)
                }
                let t = jobs.startedAt[row]
                if t != JobTable.nullInt {
                    let s = clock.localSeconds(micros: t)
                    let day = LocalClock.day(ofLocalSeconds: s)
                    hour[Int((s - day * 86_400) / 3600)].add(failed: f)
                    weekday[LocalClock.weekday(day: day)].add(failed: f)
                }
                let d = jobs.durationSeconds[row]
                if !d.isNaN { duration[DurationPattern.bucket(d)].add(failed: f) }
                figures[0][ContrastPattern.bin(jobs.cpuSeconds[row])].add(failed: f)
                figures[1][ContrastPattern.bin(Double(jobs.rssBytesMax[row]))].add(failed: f)
                figures[2][ContrastPattern.bin(Double(jobs.ioReadBytes[row] &+ jobs.ioWriteBytes[row]))].add(failed: f)
                figures[3][ContrastPattern.bin(Double(jobs.netConnectionsTotal[row]))].add(failed: f)
                figures[4][ContrastPattern.bin(Double(running.at(row: row, jobs)))].add(failed: f)
            }
            total = Counts(decided: decided, failed: failures)
        }

        /// Adds another part's counts of the same table.
        mutating func add(_ other: FirstLook) {
            func sum(_ a: inout [Counts32], _ b: [Counts32]) { for i in a.indices { a[i].add(b[i]) } }
            sum(&name, other.name)
            sum(&command, other.command)
            sum(&argument, other.argument)
            for i in occurrences.indices { occurrences[i] &+= other.occurrences[i] }
            sum(&cwd, other.cwd)
            sum(&instance, other.instance)
            for (key, c) in other.labels.entries { labels.add(key, c) }
            sum(&hour, other.hour)
            sum(&weekday, other.weekday)
            sum(&duration, other.duration)
            for f in figures.indices { sum(&figures[f], other.figures[f]) }
            total.add(other.total)
        }

        /// The counts by value: what is merged across tables.
        func tally(_ jobs: JobTable) -> Tally {
            var tally = Tally()
            func add(_ value: Value, _ c: Counts32) {
                guard c.decided > 0 else { return }
                tally.values[value, default: Counts()].add(c.counts)
            }
            for i in 0..<jobs.strings.count {
                let text = jobs.strings[UInt32(i)]
                if name[i].decided > 0 {
                    add(.name(text), name[i])
                    let family = NamePrefixPattern.prefix(of: text)
                    if family != text { add(.family(family), name[i]) }
                }
                add(.command(ContrastPattern.base(text)), command[i])
                if occurrences[i] > 0, ContrastPattern.isWord(text) {
                    tally.arguments[text] = ArgumentCounts(occurrences: Int(occurrences[i]), counts: argument[i].counts)
                }
                add(.cwd(text), cwd[i])
                add(.instance(text), instance[i])
            }
            for (key, c) in labels.entries {
                tally.values[
                    .label(jobs.strings[UInt32(key >> 32)], jobs.strings[UInt32(key & 0xffff_ffff)]),
                    default: Counts()
                ]
                .add(c.counts)
            }
            for h in 0..<24 { add(.hour(h), hour[h]) }
            for d in 0..<7 { add(.weekday(d), weekday[d]) }
            for b in duration.indices { add(.duration(b), duration[b]) }
            for (f, figure) in Figure.allCases.enumerated() {
                var bins: [Int: Counts] = [:]
                for (b, c) in figures[f].enumerated() where c.decided > 0 { bins[b] = c.counts }
                tally.figures[figure] = bins
            }
            tally.total = total
            return tally
        }
    }

    /// What the merged first look says: every value tested, its test, and the strongest.
    struct Plan: Sendable {
        struct Tested: Sendable {
            var value: Value
            var label: String
            var phrase: String
            var counts: Counts
        }

        private(set) var tested: [Tested] = []
        private(set) var pValues: [Double?] = []
        private(set) var isFinding: [Bool] = []
        /// The strongest values, strongest first (at most ``ContrastPattern/pairLimit``).
        private(set) var top: [Value] = []
        /// Per figure, the cut points of its deciles (edges of its histogram's bins).
        private(set) var cuts: [Figure: [Double]] = [:]
        private var index: [Value: Int] = [:]

        func value(_ v: Value) -> Tested? { index[v].map { tested[$0] } }

        init(_ tally: Tally, options: AnalysisOptions) {
            var all: [Tested] = []
            for (value, counts) in tally.values {
                let (label, phrase) = Self.text(value)
                all.append(Tested(value: value, label: label, phrase: phrase, counts: counts))
            }
            let frequent = tally.arguments.sorted { ($0.value.occurrences, $1.key) > ($1.value.occurrences, $0.key) }
                .prefix(ContrastPattern.argumentLimit)
            for (argument, a) in frequent {
                all.append(
                    Tested(
                        value: .argument(argument),
                        label: "argument \(argument)",
                        phrase: "with the argument '\(argument)'",
                        counts: a.counts
                    )
                )
            }
            for figure in Figure.allCases {
                let (cuts, ranges) = Self.deciles(tally.figures[figure] ?? [:])
                self.cuts[figure] = cuts
                for (k, counts) in ranges.enumerated() {
                    let text = "\(figure.rawValue) \(Self.range(k, cuts))"
                    all.append(Tested(value: .decile(figure, k), label: text, phrase: "with \(text)", counts: counts))
                }
            }
            let total = tally.total
            tested = all.filter { $0.counts.decided > 0 && $0.counts.decided < total.decided }.sorted {
                $0.label < $1.label
            }
            for (i, t) in tested.enumerated() { index[t.value] = i }
            guard total.decided > 0, total.failed > 0 else {
                pValues = tested.map { _ in nil }
                isFinding = tested.map { _ in false }
                return
            }
            let base = Double(total.failed) / Double(total.decided)
            pValues = tested.map {
                Statistics.proportionPValue(
                    $0.counts.failed,
                    $0.counts.decided,
                    total.failed - $0.counts.failed,
                    total.decided - $0.counts.decided
                )
            }
            let significant = Statistics.benjaminiHochberg(pValues, q: options.falseDiscoveryRate)
            isFinding = tested.indices.map { significant[$0] && Self.rate(tested[$0].counts) > base }
            // Strongest first; of equal rates, the kinds in the order ``Value`` lists them (a name
            // before the command it runs), then by label.
            top = tested.indices.filter { isFinding[$0] && tested[$0].counts.decided >= options.minMatches }
                .sorted {
                    (Self.rate(tested[$0].counts), -tested[$0].value.kind, tested[$1].label)
                        > (Self.rate(tested[$1].counts), -tested[$1].value.kind, tested[$0].label)
                }
                .prefix(ContrastPattern.pairLimit)
                .map { tested[$0].value }
        }

        static func rate(_ c: Counts) -> Double { Double(c.failed) / Double(c.decided) }

        /// The group and the sentence's words of a value.
        static func text(_ value: Value) -> (label: String, phrase: String) {
            switch value {
            case .name(let s): ("name \(s)", "named '\(s)'")
            case .family(let s): ("family \(s)", "whose name starts with '\(s)'")
            case .command(let s): ("command \(s)", "running '\(s)'")
            case .argument(let s): ("argument \(s)", "with the argument '\(s)'")
            case .cwd(let s): ("cwd \(s)", "run in \(s)")
            case .instance(let s): ("instance \(s)", "on instance '\(s)'")
            case .label(let k, let v): ("label \(k)=\(v)", "labelled \(k)=\(v)")
            case .hour(let h): ("hour \(h)", "started between \(HourOfDayPattern.label(h))")
            case .weekday(let d): ("weekday \(DayOfWeekPattern.days[d])", "started on a \(DayOfWeekPattern.days[d])")
            case .duration(let b): ("duration \(DurationPattern.buckets[b])", "that ran \(DurationPattern.buckets[b])")
            case .decile(let f, let k): ("\(f.rawValue) \(k)", "with \(f.rawValue) \(k)")
            }
        }

        /// Cut points at the bins holding every tenth decided job, equal ones merged, and the
        /// counts of each range between them.
        static func deciles(_ bins: [Int: Counts]) -> (cuts: [Double], ranges: [Counts]) {
            let sorted = bins.sorted { $0.key < $1.key }
            let total = sorted.reduce(0) { $0 + $1.value.decided }
            guard total > 0 else { return ([], [Counts()]) }
            var cuts: [Double] = []
            for d in 1..<10 {
                let rank = total * d / 10
                var seen = 0
                for (bin, c) in sorted {
                    seen += c.decided
                    if seen > rank {
                        let cut = ContrastPattern.edge(bin)
                        if cuts.last != cut { cuts.append(cut) }
                        break
                    }
                }
            }
            var ranges = [Counts](repeating: Counts(), count: cuts.count + 1)
            for (bin, c) in sorted {
                let edge = ContrastPattern.edge(bin)
                ranges[cuts.reduce(0) { $0 + (edge >= $1 ? 1 : 0) }].add(c)
            }
            return (cuts, ranges)
        }

        /// `"< 2"`, `"2–4"`, `"≥ 8"`, or `"any"` without cuts.
        static func range(_ k: Int, _ cuts: [Double]) -> String {
            func number(_ v: Double) -> String {
                v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(format: "%.3g", v)
            }
            guard !cuts.isEmpty else { return "any" }
            if k == 0 { return "< \(number(cuts[0]))" }
            if k == cuts.count { return "≥ \(number(cuts[k - 1]))" }
            return "\(number(cuts[k - 1]))–\(number(cuts[k]))"
        }
    }

    /// The second look at some rows of one table: jobs with two of the strongest values.
    struct PairLook {
        /// Pair (i, j), i < j, at i * n + j.
        private(set) var counts: [Counts]

        init(_ jobs: JobTable, plan: Plan, options: AnalysisOptions, running: RunningAtStart?, rows: Range<Int>) {
            let top = plan.top
            let n = top.count
            counts = Array(repeating: Counts(), count: n * n)
            var slot: [Value: Int] = [:]
            for (i, v) in top.enumerated() { slot[v] = i }
            func bit(_ v: Value) -> UInt16 { slot[v].map { 1 << UInt16($0) } ?? 0 }
            let pool = jobs.strings.count
            // Bits by pool index, worked out when first met (-1: not yet).
            var nameBits = [Int32](repeating: -1, count: pool)
            var commandBits = nameBits
            var argumentBits = nameBits
            var cwdBits = nameBits
            var instanceBits = nameBits
            var labelBits: [UInt64: UInt16] = [:]
            let hasLabels = top.contains { if case .label = $0 { true } else { false } }
            let needsClock = top.contains {
                switch $0 {
                case .hour, .weekday: true
                default: false
                }
            }
            let hourBits = (0..<24).map { bit(.hour($0)) }
            let weekdayBits = (0..<7).map { bit(.weekday($0)) }
            let durationBits = DurationPattern.buckets.indices.map { bit(.duration($0)) }
            let figures: [(figure: Figure, cuts: [Double], bits: [UInt16])] = Figure.allCases.compactMap { f in
                let cuts = plan.cuts[f] ?? []
                let bits = (0...cuts.count).map { bit(.decile(f, $0)) }
                return bits.contains { $0 != 0 } ? (f, cuts, bits) : nil
            }
            let running = running ?? RunningAtStart(JobTable())
            var clock = LocalClock(timeZone: options.timeZone)
            for row in rows {
                let status = jobs.status[row]
                guard status >= 2 && status <= 5 else { continue }  // decided
                var mask: UInt16 = 0
                let name = Int(jobs.name[row])
                if nameBits[name] < 0 {
                    let text = jobs.strings[UInt32(name)]
                    nameBits[name] = Int32(bit(.name(text)) | bit(.family(NamePrefixPattern.prefix(of: text))))
                }
                mask |= UInt16(nameBits[name])
                let a0 = Int(jobs.commandOffsets[row])
                let a1 = Int(jobs.commandOffsets[row + 1])
                if a1 > a0 {
                    let c = Int(jobs.commandArgs[a0])
                    if commandBits[c] < 0 {
                        commandBits[c] = Int32(bit(.command(ContrastPattern.base(jobs.strings[UInt32(c)]))))
                    }
                    mask |= UInt16(commandBits[c])
                    for k in (a0 + 1)..<a1 {
                        let a = Int(jobs.commandArgs[k])
                        if argumentBits[a] < 0 { argumentBits[a] = Int32(bit(.argument(jobs.strings[UInt32(a)]))) }
                        mask |= UInt16(argumentBits[a])
                    }
                }
                let cwd = jobs.cwd[row]
                if cwd != JobTable.nullString {
                    if cwdBits[Int(cwd)] < 0 { cwdBits[Int(cwd)] = Int32(bit(.cwd(jobs.strings[cwd]))) }
                    mask |= UInt16(cwdBits[Int(cwd)])
                }
                let instance = Int(jobs.instance[row])
                if instanceBits[instance] < 0 {
                    instanceBits[instance] = Int32(bit(.instance(jobs.strings[UInt32(instance)])))
                }
                mask |= UInt16(instanceBits[instance])
                if hasLabels {
                    for k in Int(jobs.labelOffsets[row])..<Int(jobs.labelOffsets[row + 1]) {
                        let key = UInt64(jobs.labelKeys[k]) << 32 | UInt64(jobs.labelValues[k])
                        if let b = labelBits[key] {
                            mask |= b
                        } else {
                            let b = bit(.label(jobs.strings[jobs.labelKeys[k]], jobs.strings[jobs.labelValues[k]]))
                            labelBits[key] = b
                            mask |= b
                        }
                    }
                }
                let t = jobs.startedAt[row]
                if needsClock, t != JobTable.nullInt {
                    let s = clock.localSeconds(micros: t)
                    let day = LocalClock.day(ofLocalSeconds: s)
                    mask |= hourBits[Int((s - day * 86_400) / 3600)] | weekdayBits[LocalClock.weekday(day: day)]
                }
                let d = jobs.durationSeconds[row]
                if !d.isNaN { mask |= durationBits[DurationPattern.bucket(d)] }
                for figure in figures {
                    let v = ContrastPattern.value(figure.figure, jobs, row, running)
                    var k = 0
                    for cut in figure.cuts { k &+= v >= cut ? 1 : 0 }
                    mask |= figure.bits[k]
                }
                guard mask.nonzeroBitCount >= 2 else { continue }
                let f = status != 2 ? 1 : 0
                var rest = mask
                while rest != 0 {
                    let i = rest.trailingZeroBitCount
                    rest &= rest - 1
                    var others = rest
                    while others != 0 {
                        let j = others.trailingZeroBitCount
                        others &= others - 1
                        counts[i * n + j].decided += 1
                        counts[i * n + j].failed += f
                    }
                }
            }
        }
    }
}
