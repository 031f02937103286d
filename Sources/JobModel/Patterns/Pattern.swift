/// One way of grouping the history that may explain what fails, when and why.
///
/// A pattern counts a history part by part: ``tally(_:)`` counts one part (one input of a
/// fleet, or the whole table) into a ``Tally`` keyed by what the groups are called, not by
/// row or string-pool index; the parts' tallies are merged, in history order, and
/// ``findings(_:baseline:)`` reads the merged tally. Memory grows with the groups a pattern
/// forms, not with the jobs, so `jobstats analyze` can count a fleet's snapshots one at a
/// time. A pattern that must look at the rows again once every part is counted (contrast's
/// pairs of the strongest values, the newest tenth of failure signatures) says so in
/// ``needsSecondLook(_:)`` and counts it in ``secondLook(_:after:)``.
///
/// A new pattern is one new file and one line in ``PatternSuite/all``.
public protocol Pattern: Sendable {
    associatedtype Tally: PatternTally
    /// Stable kebab-case identifier, used in `--pattern` and in output (`"name-prefix"`).
    var id: String { get }
    /// One line for `jobstats patterns`.
    var summary: String { get }
    /// The counts of one part of the history.
    func tally(_ jobs: JobTable) -> Tally
    /// Whether ``secondLook(_:after:)`` has anything to count, given every part's first tally.
    func needsSecondLook(_ first: Tally) -> Bool
    /// The counts of one part that need every part's first tally (`first`, merged); merged
    /// into `first` before the findings are read.
    func secondLook(_ jobs: JobTable, after first: Tally) -> Tally
    /// Every group the pattern sees, each with its flags; the caller filters.
    func findings(_ tally: Tally, baseline: Baseline) -> [Finding]
}

/// Counts of part of a history, mergeable: part by part, in history order.
public protocol PatternTally: Sendable {
    /// Adds the counts of the next part.
    mutating func merge(_ other: Self)
}

extension Pattern {
    public func needsSecondLook(_ first: Tally) -> Bool { false }
    public func secondLook(_ jobs: JobTable, after first: Tally) -> Tally { first }

    /// The findings of one table: its tally (and second look) read at once.
    public func evaluate(_ jobs: JobTable, baseline: Baseline) -> [Finding] {
        var tally = tally(jobs)
        if needsSecondLook(tally) { tally.merge(secondLook(jobs, after: tally)) }
        return findings(tally, baseline: baseline)
    }
}

/// Tallies per group, merged by adding: what most patterns count.
public struct GroupTallies<Key: Hashable & Sendable>: PatternTally {
    public var groups: [Key: GroupTally]

    public init(_ groups: [Key: GroupTally] = [:]) { self.groups = groups }

    /// Tallies from an array indexed by `key` (the groups with jobs).
    init(_ array: [GroupTally], key: (Int) -> Key) {
        groups = [:]
        for (i, t) in array.enumerated() where t.matched > 0 { groups[key(i)] = t }
    }

    public mutating func merge(_ other: Self) { groups.merge(other.groups, uniquingKeysWith: +) }

    subscript(key: Key) -> GroupTally { groups[key] ?? GroupTally() }

    /// All groups together.
    var total: GroupTally { groups.values.reduce(GroupTally(), +) }
}
