/// Success rate per job name.
public struct NamePattern: Pattern {
    public let id = "name"
    public let summary = "Success rate per job name, against the rest of the history"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    public func tally(_ jobs: JobTable) -> GroupTallies<String> { Findings.perName(jobs) { _ in false } }

    public func findings(_ tally: GroupTallies<String>, baseline: Baseline) -> [Finding] {
        let groups = tally.groups.map { name, tally in
            NamedGroup(group: name, name: "Job name is '\(name)'", tally: tally)
        }
        return Findings.success(pattern: id, groups: groups, baseline: baseline, options: options).sortedWorstFirst()
    }
}

extension [Finding] {
    /// Lowest value first (worst success rate), then by group.
    func sortedWorstFirst() -> [Finding] {
        sorted { ($0.value ?? .infinity, $0.group) < ($1.value ?? .infinity, $1.group) }
    }
}
