public import Foundation

/// A pattern written as data (`--patterns FILE`, `patterns.file`): group the jobs by a
/// field, a label or a bucket, optionally keep only some, and test each group's success
/// rate — or the share of its jobs that meet a condition — against the rest, with the same
/// significance machinery (two proportions, Benjamini–Hochberg) as the built-in patterns.
///
/// ```json
/// {"id": "team", "summary": "Success rate per team", "groupBy": "label:team"}
/// {"id": "slow-queues", "groupBy": "queue", "share": [{"field": "durationSeconds", "above": 600}]}
/// {"id": "etl-hours", "groupBy": "hour", "filter": [{"field": "name", "matches": "etl-*"}]}
/// ```
public struct PatternRule: Sendable, Hashable, Decodable {
    /// Kebab-case id, unique, not a built-in pattern's.
    public var id: String
    public var summary: String?
    /// What the groups are: a text field (`name`, `family`, `command`, `cwd`, `instance`,
    /// `queue`, `status`, `reason`), an integer field (`exitCode`, `signal`, `attempt`),
    /// `label:KEY`, or a bucket (`hour`, `weekday`, `duration`).
    public var groupBy: String
    /// Only jobs meeting every condition are grouped.
    public var filter: [Condition]?
    /// When given, the metric is the share of each group's jobs meeting every condition
    /// (`conditionShare`); otherwise the success rate.
    public var share: [Condition]?

    /// One test of a job's field: `equals` / `in` / `matches` (a glob with `*` and `?`)
    /// for text, `above` / `below` for numbers (any metric, `durationSeconds`, …).
    public struct Condition: Sendable, Hashable, Decodable {
        public var field: String
        public var equals: String?
        public var `in`: [String]?
        public var matches: String?
        public var above: Double?
        public var below: Double?
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case id, summary, groupBy, filter, share }
}

/// A rule file could not be used: which rule and what is wrong.
public struct PatternRuleError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// The file does not exist (the others: it exists and is wrong).
    public var missing = false
    public var description: String { message }
}

extension PatternRule {
    /// The rules of a JSON file: a list of rule objects. Unknown keys, unknown fields, a
    /// repeated id or a built-in id are refused, naming the rule.
    public static func load(path: String) throws(PatternRuleError) -> [PatternRule] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let missing = !FileManager.default.fileExists(atPath: path)
            throw PatternRuleError(message: "\(path): \(missing ? "no such file" : "cannot be read")", missing: missing)
        }
        return try parse(data, source: path)
    }

    public static func parse(_ data: Data, source: String) throws(PatternRuleError) -> [PatternRule] {
        guard let list = try? JSONSerialization.jsonObject(with: data) as? [Any] else {
            throw PatternRuleError(message: "\(source): must be a JSON list of rule objects")
        }
        var rules: [PatternRule] = []
        let builtIn = Set(PatternSuite.ids)
        for (i, item) in list.enumerated() {
            let at = "\(source): rule \(i + 1)"
            guard let object = item as? [String: Any] else { throw PatternRuleError(message: "\(at) is not an object") }
            let keys = Set(CodingKeys.allCases.map(\.rawValue))
            if let unknown = object.keys.sorted().first(where: { !keys.contains($0) }) {
                throw PatternRuleError(
                    message: "\(at): '\(unknown)' is not a rule key; keys: \(keys.sorted().joined(separator: ", "))"
                )
            }
            let rule: PatternRule
            do {
                rule = try JSONDecoder().decode(PatternRule.self, from: JSONSerialization.data(withJSONObject: object))
            } catch let error as DecodingError {
                throw PatternRuleError(message: "\(at): \(JobJSONLines.describe(error))")
            } catch {
                throw PatternRuleError(message: "\(at): \(error)")
            }
            let name = "\(at) ('\(rule.id)')"
            guard rule.id.range(of: "^[a-z0-9]+(-[a-z0-9]+)*$", options: .regularExpression) != nil else {
                throw PatternRuleError(message: "\(at): 'id' must be kebab-case (a-z, 0-9 and -), not '\(rule.id)'")
            }
            if builtIn.contains(rule.id) { throw PatternRuleError(message: "\(name): 'id' is a built-in pattern's") }
            if rules.contains(where: { $0.id == rule.id }) {
                throw PatternRuleError(message: "\(name): 'id' is used twice")
            }
            guard RuleField(rule.groupBy)?.groupable == true else {
                throw PatternRuleError(
                    message:
                        "\(name): 'groupBy' '\(rule.groupBy)' is not a field to group by; use one of \(RuleField.groupNames), or label:KEY"
                )
            }
            for (key, conditions) in [("filter", rule.filter), ("share", rule.share)] {
                for (k, c) in (conditions ?? []).enumerated() {
                    let what = "\(name): '\(key)' condition \(k + 1)"
                    guard let field = RuleField(c.field) else {
                        throw PatternRuleError(message: "\(what): 'field' '\(c.field)' is unknown")
                    }
                    let tests = [c.equals != nil, c.in != nil, c.matches != nil, c.above != nil, c.below != nil]
                    guard tests.contains(true) else {
                        throw PatternRuleError(
                            message: "\(what) tests nothing; give equals, in, matches, above or below"
                        )
                    }
                    if (c.above != nil || c.below != nil) && !field.numeric {
                        throw PatternRuleError(message: "\(what): '\(c.field)' is not a number (above/below)")
                    }
                }
            }
            if rule.share?.isEmpty == true { throw PatternRuleError(message: "\(name): 'share' is an empty list") }
            rules.append(rule)
        }
        return rules
    }
}

/// A field a rule names, read from a table row.
enum RuleField: Hashable {
    case name, family, command, cwd, instance, queue, status, reason
    case exitCode, signal, attempt
    case label(String)
    case hour, weekday, duration
    case durationSeconds
    case metric(MetricColumn)

    static let groupNames =
        "name, family, command, cwd, instance, queue, status, reason, exitCode, signal, attempt, hour, weekday, duration"

    init?(_ text: String) {
        if text.hasPrefix("label:"), text.count > 6 {
            self = .label(String(text.dropFirst(6)))
            return
        }
        switch text {
        case "name": self = .name
        case "family": self = .family
        case "command": self = .command
        case "cwd": self = .cwd
        case "instance": self = .instance
        case "queue": self = .queue
        case "status": self = .status
        case "reason": self = .reason
        case "exitCode": self = .exitCode
        case "signal": self = .signal
        case "attempt": self = .attempt
        case "hour": self = .hour
        case "weekday": self = .weekday
        case "duration": self = .duration
        case "durationSeconds": self = .durationSeconds
        default:
            guard let metric = MetricColumn(rawValue: text) else { return nil }
            self = .metric(metric)
        }
    }

    var groupable: Bool {
        switch self {
        case .durationSeconds, .metric: false
        default: true
        }
    }

    var numeric: Bool {
        switch self {
        case .exitCode, .signal, .attempt, .hour, .durationSeconds, .metric: true
        default: false
        }
    }

    /// The field's text in `row` (`nil`: the job has none).
    func text(_ jobs: JobTable, _ row: Int, clock: inout LocalClock) -> String? {
        func string(_ index: UInt32) -> String? { index == JobTable.nullString ? nil : jobs.strings[index] }
        func integer(_ v: Int64) -> String? { v == JobTable.nullInt ? nil : String(v) }
        switch self {
        case .name: return jobs.strings[jobs.name[row]]
        case .family: return NamePrefixPattern.prefix(of: jobs.strings[jobs.name[row]])
        case .command:
            let first = Int(jobs.commandOffsets[row])
            guard first < Int(jobs.commandOffsets[row + 1]) else { return nil }
            let text = jobs.strings[jobs.commandArgs[first]]
            return text.split(separator: "/").last.map(String.init) ?? text
        case .cwd: return string(jobs.cwd[row])
        case .instance: return jobs.strings[jobs.instance[row]]
        case .queue: return string(jobs.queue[row]) ?? "default"
        case .status: return jobs.statusOf(row).rawValue
        case .reason: return string(jobs.reason[row])
        case .exitCode: return integer(jobs.exitCode[row])
        case .signal: return integer(jobs.signal[row])
        case .attempt: return integer(jobs.attempt[row])
        case .label(let key):
            for k in Int(jobs.labelOffsets[row])..<Int(jobs.labelOffsets[row + 1])
            where jobs.strings[jobs.labelKeys[k]] == key {
                return jobs.strings[jobs.labelValues[k]]
            }
            return nil
        case .hour:
            let t = jobs.startedAt[row]
            return t == JobTable.nullInt ? nil : String(clock.hour(micros: t))
        case .weekday:
            let t = jobs.startedAt[row]
            return t == JobTable.nullInt ? nil : DayOfWeekPattern.days[clock.weekday(micros: t)]
        case .duration:
            let d = jobs.durationSeconds[row]
            return d.isNaN ? nil : DurationPattern.buckets[DurationPattern.bucket(d)]
        case .durationSeconds, .metric: return number(jobs, row, clock: &clock).map { "\($0)" }
        }
    }

    /// The field's number in `row` (`nil`: none, or not a number).
    func number(_ jobs: JobTable, _ row: Int, clock: inout LocalClock) -> Double? {
        func integer(_ v: Int64) -> Double? { v == JobTable.nullInt ? nil : Double(v) }
        switch self {
        case .exitCode: return integer(jobs.exitCode[row])
        case .signal: return integer(jobs.signal[row])
        case .attempt: return integer(jobs.attempt[row])
        case .hour:
            let t = jobs.startedAt[row]
            return t == JobTable.nullInt ? nil : Double(clock.hour(micros: t))
        case .durationSeconds:
            let d = jobs.durationSeconds[row]
            return d.isNaN ? nil : d
        case .metric(let column):
            switch jobs.value(column, row: row) {
            case .integer(let v): return Double(v)
            case .real(let v): return v
            case .flag(let v): return v ? 1 : 0
            }
        default: return nil
        }
    }
}

/// A field whose text in a row is decided by one string-pool index (the name for `name` and
/// `family`, the first argument for `command`, the label's value for `label:KEY`): what a
/// condition or a group key makes of it is worked out once per distinct string, not once
/// per row (a glob on every job's name took 0.39 s for a million jobs).
struct PooledField {
    let field: RuleField
    /// For `label:KEY`: the key's pool index (`nil`: no job has the key).
    private let labelKey: UInt32?

    init?(_ field: RuleField, _ jobs: JobTable) {
        switch field {
        case .name, .family, .command, .cwd, .instance, .queue, .reason: labelKey = nil
        case .label(let key): labelKey = jobs.strings.lookUp(key)
        default: return nil
        }
        self.field = field
    }

    /// The pool index that decides the field's text in `row` (`nullString`: none).
    func index(_ jobs: JobTable, _ row: Int) -> UInt32 {
        switch field {
        case .name, .family: return jobs.name[row]
        case .command:
            let first = Int(jobs.commandOffsets[row])
            return first < Int(jobs.commandOffsets[row + 1]) ? jobs.commandArgs[first] : JobTable.nullString
        case .cwd: return jobs.cwd[row]
        case .instance: return jobs.instance[row]
        case .queue: return jobs.queue[row]
        case .reason: return jobs.reason[row]
        case .label:
            guard let labelKey else { return JobTable.nullString }
            for k in Int(jobs.labelOffsets[row])..<Int(jobs.labelOffsets[row + 1]) where jobs.labelKeys[k] == labelKey {
                return jobs.labelValues[k]
            }
            return JobTable.nullString
        default: return JobTable.nullString
        }
    }
}

/// A number per string-pool index and one for none (`nullString`), -1 until set.
struct PoolMemo {
    private var slots: [Int32]

    init(_ jobs: JobTable) { slots = Array(repeating: -1, count: jobs.strings.count + 1) }

    subscript(index: UInt32) -> Int32 {
        get { slots[index == JobTable.nullString ? slots.count - 1 : Int(index)] }
        set { slots[index == JobTable.nullString ? slots.count - 1 : Int(index)] = newValue }
    }
}

/// A condition of a rule on its field, remembered per string when only the field's text
/// decides it (see ``PooledField``).
struct CheckedCondition {
    let condition: PatternRule.Condition
    let field: RuleField
    private let pooled: PooledField?
    private var memo: PoolMemo

    init(_ condition: PatternRule.Condition, _ field: RuleField, _ jobs: JobTable) {
        self.condition = condition
        self.field = field
        let textOnly = condition.above == nil && condition.below == nil
        pooled = textOnly ? PooledField(field, jobs) : nil
        memo = PoolMemo(pooled == nil ? JobTable() : jobs)
    }

    mutating func holds(_ jobs: JobTable, _ row: Int, clock: inout LocalClock) -> Bool {
        guard let pooled else { return condition.holds(field, jobs, row, clock: &clock) }
        let index = pooled.index(jobs, row)
        if memo[index] < 0 { memo[index] = condition.holds(field, jobs, row, clock: &clock) ? 1 : 0 }
        return memo[index] == 1
    }
}

extension PatternRule.Condition {
    func holds(_ field: RuleField, _ jobs: JobTable, _ row: Int, clock: inout LocalClock) -> Bool {
        if above != nil || below != nil {
            guard let v = field.number(jobs, row, clock: &clock) else { return false }
            if let above, !(v > above) { return false }
            if let below, !(v < below) { return false }
        }
        if equals != nil || self.in != nil || matches != nil {
            guard let text = field.text(jobs, row, clock: &clock) else { return false }
            if let equals, text != equals { return false }
            if let list = self.in, !list.contains(text) { return false }
            if let matches, !Glob.matches(matches, text) { return false }
        }
        return true
    }
}

/// `*` (any run) and `?` (any one character) globs.
enum Glob {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern)
        let t = Array(text)
        var (i, j, star, mark) = (0, 0, -1, 0)
        while j < t.count {
            if i < p.count, p[i] == "?" || p[i] == t[j] {
                i += 1
                j += 1
            } else if i < p.count, p[i] == "*" {
                star = i
                mark = j
                i += 1
            } else if star >= 0 {
                i = star + 1
                mark += 1
                j = mark
            } else {
                return false
            }
        }
        while i < p.count, p[i] == "*" { i += 1 }
        return i == p.count
    }
}

/// A ``PatternRule`` run as a pattern.
public struct RulePattern: Pattern {
    public let rule: PatternRule
    let options: AnalysisOptions

    public init(rule: PatternRule, options: AnalysisOptions) {
        self.rule = rule
        self.options = options
    }

    public var id: String { rule.id }
    public var summary: String { rule.summary ?? "Rule: jobs grouped by \(rule.groupBy) (from the patterns file)" }

    /// The groups and, apart, all the jobs that pass the filter.
    public struct Tally: PatternTally {
        var groups: GroupTallies<String>
        var total: GroupTally

        public mutating func merge(_ other: Tally) {
            groups.merge(other.groups)
            total = total + other.total
        }
    }

    public func tally(_ jobs: JobTable) -> Tally {
        guard let field = RuleField(rule.groupBy) else { return Tally(groups: GroupTallies(), total: GroupTally()) }
        var filters = (rule.filter ?? []).compactMap { c in RuleField(c.field).map { CheckedCondition(c, $0, jobs) } }
        var shares = (rule.share ?? []).compactMap { c in RuleField(c.field).map { CheckedCondition(c, $0, jobs) } }
        let countsShares = rule.share != nil
        var clock = LocalClock(timeZone: options.timeZone)
        // Group keys numbered as they are met; for a field of the string pool, a row's key is
        // looked up by pool index (-1: not yet, -2: none), its text made once per string.
        let pooled = PooledField(field, jobs)
        var keyOfIndex = PoolMemo(jobs)
        var keyNumbers: [String: Int] = [:]
        var keys: [String] = []
        var tallies: [GroupTally] = []
        var total = GroupTally()
        func number(_ key: String?) -> Int {
            guard let key else { return -2 }
            if let n = keyNumbers[key] { return n }
            keys.append(key)
            tallies.append(GroupTally())
            keyNumbers[key] = keys.count - 1
            return keys.count - 1
        }
        func all(_ conditions: inout [CheckedCondition], _ row: Int) -> Bool {
            for k in conditions.indices where !conditions[k].holds(jobs, row, clock: &clock) { return false }
            return true
        }
        for row in 0..<jobs.count {
            guard all(&filters, row) else { continue }
            let key: Int
            if let pooled {
                let index = pooled.index(jobs, row)
                if keyOfIndex[index] == -1 { keyOfIndex[index] = Int32(number(field.text(jobs, row, clock: &clock))) }
                key = Int(keyOfIndex[index])
            } else {
                key = number(field.text(jobs, row, clock: &clock))
            }
            guard key >= 0 else { continue }
            var hit = false
            if countsShares { hit = all(&shares, row) }
            tallies[key].add(status: jobs.status[row], hit: hit)
            total.add(status: jobs.status[row], hit: hit)
        }
        var groups: [String: GroupTally] = [:]
        for (k, key) in keys.enumerated() { groups[key] = tallies[k] }
        return Tally(groups: GroupTallies(groups), total: total)
    }

    public func findings(_ tally: Tally, baseline: Baseline) -> [Finding] {
        let total = tally.total
        let shares = rule.share
        let groups = tally.groups.groups.map { key, tally in
            NamedGroup(
                group: key,
                name: "\(rule.groupBy.replacingOccurrences(of: "label:", with: "label ")) is '\(key)'",
                tally: tally
            )
        }.sorted { $0.group < $1.group }
        if shares != nil {
            return Findings.share(pattern: id, metric: "conditionShare", groups: groups, total: total, options: options)
        }
        // Success rates against the filtered jobs' own baseline.
        var base = baseline
        base.decidedCount = total.decided
        base.succeededCount = total.succeeded
        base.successRate = total.successRate ?? 0
        return Findings.success(pattern: id, groups: groups, baseline: base, options: options)
    }
}
