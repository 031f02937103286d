/// One way of grouping the history that may explain what fails, when and why.
///
/// A new pattern is one new file and one line in ``PatternSuite/all``.
public protocol Pattern: Sendable {
    /// Stable kebab-case identifier, used in `--pattern` and in output (`"name-prefix"`).
    var id: String { get }
    /// One line for `jobstats patterns`.
    var summary: String { get }
    /// Every group the pattern sees, each with its flags; the caller filters.
    func evaluate(_ jobs: JobTable, baseline: Baseline) -> [Finding]
}
