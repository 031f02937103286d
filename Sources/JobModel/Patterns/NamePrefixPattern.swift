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

    public func evaluate(_ jobs: JobTable, baseline: Baseline) -> [Finding] {
        var families: [String: GroupTally] = [:]
        for (key, tally) in Findings.perName(jobs, hit: { _ in false }) {
            families[Self.prefix(of: jobs.strings[key]), default: GroupTally()] =
                families[Self.prefix(of: jobs.strings[key]), default: GroupTally()] + tally
        }
        let groups = families.map { prefix, tally in
            NamedGroup(group: prefix, name: "Job name starts with '\(prefix)'", tally: tally)
        }
        return Findings.success(pattern: id, groups: groups, baseline: baseline, options: options).sortedWorstFirst()
    }
}
