/// Success rate per name family: the text before the first `-`, `_`, `.` or `:`.
public struct NamePrefixPattern: Pattern {
    public let id = "name-prefix"
    public let summary = "Success rate per name family (text before the first -, _, . or :)"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    /// The family of a job name: the text before the first separator, or the whole name.
    public static func prefix(of name: String) -> String {
        if let i = name.firstIndex(where: { $0 == "-" || $0 == "_" || $0 == "." || $0 == ":" }) {
            return String(name[..<i])
        }
        return name
    }

    public func tally(_ jobs: JobTable) -> GroupTallies<String> { Findings.perName(jobs) { _ in false } }

    public func findings(_ tally: GroupTallies<String>, baseline: Baseline) -> [Finding] {
        var families: [String: GroupTally] = [:]
        for (name, tally) in tally.groups {
            families[Self.prefix(of: name), default: GroupTally()] =
                families[Self.prefix(of: name), default: GroupTally()] + tally
        }
        let groups = families.map { prefix, tally in
            NamedGroup(group: prefix, name: "Job name starts with '\(prefix)'", tally: tally)
        }
        return Findings.success(pattern: id, groups: groups, baseline: baseline, options: options).sortedWorstFirst()
    }
}
