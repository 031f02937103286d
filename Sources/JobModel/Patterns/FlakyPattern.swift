import Foundation

/// Flaky jobs against broken ones: per name, the share of jobs (retry chains) whose
/// attempts both failed and passed — the first failed, a retry succeeded — against the
/// rest; a runs test of the name's pass/fail order (random alternation is flakiness,
/// streaks are a period of breakage); the seconds spent on failed attempts. A name that
/// never passed is not flaky: it is broken, and reported as such. Where a name runs more
/// than one command, each name + command is a group too (group `NAME: COMMAND`): which of
/// its commands is the flaky one.
public struct FlakyPattern: Pattern {
    public let id = "flaky"
    public let summary =
        "Per name: share of jobs whose attempts both failed and passed (flaky); names that never pass (broken)"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    /// One name's chains and attempts.
    struct NameTally: Sendable {
        var chains = GroupTally()
        var attempts = GroupTally()
        var failedSeconds = 0.0
        /// Pass/fail runs of its decided attempts, in id (creation) order, and the first
        /// and last outcome (a run may go on in the next part).
        var runs = 0
        var first: Bool?
        var last: Bool?

        mutating func attempt(passed: Bool) {
            if last != passed { runs += 1 }
            if first == nil { first = passed }
            last = passed
        }

        /// The next part's tally of the same name.
        mutating func merge(_ other: NameTally) {
            chains = chains + other.chains
            attempts = attempts + other.attempts
            failedSeconds += other.failedSeconds
            runs += other.runs - (last != nil && last == other.first ? 1 : 0)
            first = first ?? other.first
            last = other.last ?? last
        }
    }

    /// A chain's name and command (argv as pool indices, hashed), within one part.
    struct CommandKey: Hashable {
        var name: UInt32
        var command: UInt64
    }

    /// A name and the command of its chains (shell-quoted), across parts.
    struct NamedCommand: Hashable, Sendable {
        var name: String
        var command: String
    }

    /// Per name, and per name and command.
    public struct Tally: PatternTally {
        var names: [String: NameTally] = [:]
        var commands: [NamedCommand: NameTally] = [:]

        public mutating func merge(_ other: Tally) {
            func add<K>(_ a: inout [K: NameTally], _ b: [K: NameTally]) {
                for (key, t) in b {
                    if var current = a[key] {
                        current.merge(t)
                        a[key] = current
                    } else {
                        a[key] = t
                    }
                }
            }
            add(&names, other.names)
            add(&commands, other.commands)
        }
    }

    static func commandHash(_ jobs: JobTable, _ row: Int) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for k in Int(jobs.commandOffsets[row])..<Int(jobs.commandOffsets[row + 1]) {
            hash = (hash ^ UInt64(jobs.commandArgs[k])) &* 0x100_0000_01b3
        }
        return hash
    }

    public func tally(_ jobs: JobTable) -> Tally {
        let retryRows = jobs.retryRowsByID()
        var perCommand: [CommandKey: (row: Int, tally: NameTally)] = [:]
        // Indexed by the name's string-pool index: no hashing per row.
        var tallies = [NameTally](repeating: NameTally(), count: jobs.strings.count)
        var seen = [Bool](repeating: false, count: jobs.strings.count)
        for row in 0..<jobs.count {
            let status = jobs.statusOf(row)
            let name = Int(jobs.name[row])
            seen[name] = true
            if status.isDecided {
                tallies[name].attempts.add(status: jobs.status[row])
                tallies[name].attempt(passed: status == .succeeded)
                if status.isFailure, jobs.durationSeconds[row].isFinite {
                    tallies[name].failedSeconds += jobs.durationSeconds[row]
                }
            }
            // A chain, from its first attempt to its end.
            guard jobs.parentId[row] == JobTable.nullInt else { continue }
            let (end, length) = jobs.chainEnd(from: row, retryRows: retryRows)
            guard jobs.statusOf(end).isDecided else { continue }
            // A retry follows a failure: a chain of two or more that ends passing both failed and passed.
            let flakyChain = length > 1 && jobs.statusOf(end) == .succeeded
            tallies[name].chains.add(status: jobs.status[end], hit: flakyChain)
            let key = CommandKey(name: UInt32(name), command: Self.commandHash(jobs, row))
            perCommand[key, default: (row, NameTally())].tally.chains.add(status: jobs.status[end], hit: flakyChain)
        }
        var tally = Tally()
        for (i, t) in tallies.enumerated() where seen[i] { tally.names[jobs.strings[UInt32(i)]] = t }
        for (key, entry) in perCommand {
            let named = NamedCommand(name: jobs.strings[key.name], command: ShellQuoting.join(jobs[entry.row].command))
            if var current = tally.commands[named] {
                current.merge(entry.tally)
                tally.commands[named] = current
            } else {
                tally.commands[named] = entry.tally
            }
        }
        return tally
    }

    public func findings(_ tally: Tally, baseline: Baseline) -> [Finding] {
        let sorted = tally.names.sorted { $0.key < $1.key }
        var findings: [Finding] = []

        // Flaky: names whose chains fail-then-pass more often than the rest's; never-passing names are left out.
        let flaky = sorted.filter { $0.value.attempts.succeeded > 0 }
        let total = flaky.reduce(GroupTally()) { $0 + $1.value.chains }
        let groups = flaky.map { name, t in
            NamedGroup(group: name, name: "Job '\(name)' is flaky: \(Self.detail(t))", tally: t.chains)
        }
        findings += Findings.share(pattern: id, metric: "flakyShare", groups: groups, total: total, options: options)
            .sorted { ($0.value ?? 0, $1.group) > ($1.value ?? 0, $0.group) }

        // Flaky per name + command, for names that run more than one command.
        var commandsPerName: [String: Int] = [:]
        for key in tally.commands.keys { commandsPerName[key.name, default: 0] += 1 }
        let commandGroups = tally.commands.filter { (commandsPerName[$0.key.name] ?? 0) > 1 }
            .map { key, entry in
                let name = key.name
                let command = key.command
                let shown = command.count > 80 ? String(command.prefix(79)) + "…" : command
                return NamedGroup(
                    group: "\(name): \(shown)",
                    name: "Job '\(name)' running `\(shown)` is flaky",
                    tally: entry.chains
                )
            }
            .sorted { $0.group < $1.group }
        if !commandGroups.isEmpty {
            findings += Findings.share(
                pattern: id,
                metric: "flakyShare",
                groups: commandGroups,
                total: commandGroups.reduce(GroupTally()) { $0 + $1.tally },
                options: options
            )
            .sorted { ($0.value ?? 0, $1.group) > ($1.value ?? 0, $0.group) }
        }

        // Broken: names that never passed, against the success of the rest.
        let broken = sorted.filter { $0.value.attempts.succeeded == 0 && $0.value.attempts.decided > 0 }
        let pValues: [Double?] = broken.map { _, t in
            Statistics.proportionPValue(
                0,
                t.attempts.decided,
                baseline.succeededCount,
                baseline.decidedCount - t.attempts.decided
            )
        }
        let significant = Statistics.benjaminiHochberg(pValues, q: options.falseDiscoveryRate)
        for (i, (name, t)) in broken.enumerated() {
            findings.append(
                Finding(
                    pattern: id,
                    group: "broken \(name)",
                    name:
                        "Job '\(name)' never passed: broken, not flaky (\(Self.duration(t.failedSeconds)) on failed attempts)",
                    value: 0,
                    baselineValue: baseline.decidedCount > 0 ? baseline.successRate : nil,
                    matchCount: t.attempts.matched,
                    decidedCount: t.attempts.decided,
                    hitCount: 0,
                    successRate: 0,
                    relativeDifference: baseline.successRate > 0 ? -1 : nil,
                    pValue: pValues[i],
                    significant: significant[i]
                )
            )
        }
        return findings
    }

    /// `"1.2 h on failed attempts; passes and failures alternate at random (runs z = 0.4)"`.
    static func detail(_ t: NameTally) -> String {
        var text = "\(duration(t.failedSeconds)) on failed attempts"
        if let z = runsZ(passes: t.attempts.succeeded, failures: t.attempts.failures, runs: t.runs) {
            let order =
                z < -1.96
                ? "failures come in streaks" : z > 1.96 ? "passes and failures alternate" : "failures fall at random"
            text += String(format: "; %@ (runs z = %.1f)", order, z)
        }
        return text
    }

    /// Wald–Wolfowitz runs test: z of `runs` against its expectation for a random order of
    /// `passes` and `failures`; `nil` when either is 0 or too few for the normal approximation.
    static func runsZ(passes n1: Int, failures n2: Int, runs: Int) -> Double? {
        guard n1 >= 2, n2 >= 2 else { return nil }
        let a = Double(n1)
        let b = Double(n2)
        let n = a + b
        let mean = 2 * a * b / n + 1
        let variance = 2 * a * b * (2 * a * b - n) / (n * n * (n - 1))
        guard variance > 0 else { return nil }
        return (Double(runs) - mean) / variance.squareRoot()
    }

    static func duration(_ seconds: Double) -> String {
        switch seconds {
        case ..<120: return String(format: "%.0f s", seconds)
        case ..<7_200: return String(format: "%.0f min", seconds / 60)
        default: return String(format: "%.1f h", seconds / 3_600)
        }
    }
}
