/// Success rate per job name.
public struct NamePattern: Pattern {
    public let id = "name"
    public let summary = "Success rate per job name, against the rest of the history"
    let options: AnalysisOptions

    public init(options: AnalysisOptions) { self.options = options }

    public func evaluate(_ jobs: JobTable, baseline: Baseline) -> [Finding] {
        let groups = Findings.perName(jobs) { _ in false }.map { key, tally in
            let name = jobs.strings[key]
            return NamedGroup(group: name, name: "Job name is '\(name)'", tally: tally)
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
