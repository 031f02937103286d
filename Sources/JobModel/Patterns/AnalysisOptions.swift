public import Foundation

/// Settings of an analysis, shared by every pattern.
public struct AnalysisOptions: Sendable {
    /// Time zone of hours and days (`--tz`).
    public var timeZone: TimeZone
    /// Smallest group listed by default (`--min-matches`).
    public var minMatches: Int
    /// False discovery rate for `significant` (`--fdr`).
    public var falseDiscoveryRate: Double
    /// Seconds of `stalledSeconds` from which a job counts as stalled (`--stalled-after`).
    public var stalledAfterSeconds: Double
    /// A burst is a rolling-window peak at least this many times the job's average (`--burst-factor`).
    public var burstFactor: Double
    /// List every group, not only significant ones of `minMatches` or more (`--all`).
    public var showAll: Bool
    /// Patterns written as data (`--patterns FILE`, `patterns.file`), run after the built-in ones.
    public var rules: [PatternRule]

    public init(
        timeZone: TimeZone = .current,
        minMatches: Int = 5,
        falseDiscoveryRate: Double = 0.05,
        stalledAfterSeconds: Double = 60,
        burstFactor: Double = 4,
        showAll: Bool = false,
        rules: [PatternRule] = []
    ) {
        self.timeZone = timeZone
        self.minMatches = minMatches
        self.falseDiscoveryRate = falseDiscoveryRate
        self.stalledAfterSeconds = stalledAfterSeconds
        self.burstFactor = burstFactor
        self.showAll = showAll
        self.rules = rules
    }
}

/// A value of an analysis setting that cannot be used; `field` is the name both the HTTP
/// query and `jobstats analyze` use (`minMatches`, `--min-matches`).
public struct AnalysisOptionsError: Error, Sendable, CustomStringConvertible {
    public var field: String
    public var message: String
    public var description: String { "'\(field)' \(message)" }
}

extension AnalysisOptions {
    /// The settings and the patterns asked for, checked once for every front end
    /// (`jobstats analyze`, `GET /v1/stats`): a time zone name, limits of each number, and
    /// pattern ids.
    public static func make(
        timeZone: String?,
        minMatches: Int = 5,
        falseDiscoveryRate: Double = 0.05,
        stalledAfterSeconds: Double = 60,
        burstFactor: Double = 4,
        showAll: Bool = false,
        patterns: [String] = [],
        rules: [PatternRule] = []
    ) throws(AnalysisOptionsError) -> (options: AnalysisOptions, patterns: [String]) {
        let known = PatternSuite.ids + rules.map(\.id)
        for id in patterns where !known.contains(id) {
            throw AnalysisOptionsError(
                field: "pattern",
                message: "'\(id)' is unknown; patterns are \(known.joined(separator: ", "))"
            )
        }
        var zone = TimeZone.current
        if let timeZone {
            guard let named = TimeZone(identifier: timeZone) else {
                throw AnalysisOptionsError(
                    field: "tz",
                    message: "'\(timeZone)' is not a time zone; use an IANA name such as Europe/Paris, or UTC"
                )
            }
            zone = named
        }
        guard minMatches >= 1 else { throw AnalysisOptionsError(field: "minMatches", message: "must be 1 or more") }
        guard falseDiscoveryRate > 0, falseDiscoveryRate < 1 else {
            throw AnalysisOptionsError(field: "fdr", message: "must be between 0 and 1")
        }
        guard stalledAfterSeconds >= 0 else {
            throw AnalysisOptionsError(field: "stalledAfter", message: "must be 0 or more seconds")
        }
        guard burstFactor >= 1 else { throw AnalysisOptionsError(field: "burstFactor", message: "must be 1 or more") }
        let options = AnalysisOptions(
            timeZone: zone,
            minMatches: minMatches,
            falseDiscoveryRate: falseDiscoveryRate,
            stalledAfterSeconds: stalledAfterSeconds,
            burstFactor: burstFactor,
            showAll: showAll,
            rules: rules
        )
        return (options, patterns)
    }

    /// The settings from query parameters (`tz`, `minMatches`, `fdr`, `stalledAfter`,
    /// `burstFactor`, `all`, `pattern` repeated): what `GET /v1/stats` takes.
    public static func parse(
        _ parameters: [(name: String, value: String)],
        rules: [PatternRule] = []
    ) throws(AnalysisOptionsError) -> (options: AnalysisOptions, patterns: [String]) {
        func one(_ name: String) -> String? { parameters.last { $0.name == name }?.value }
        func number<T: LosslessStringConvertible>(
            _ name: String,
            _ fallback: T,
            _ what: String
        ) throws(AnalysisOptionsError) -> T {
            guard let text = one(name) else { return fallback }
            guard let value = T(text) else { throw AnalysisOptionsError(field: name, message: "must be \(what)") }
            return value
        }
        let known: Set<String> = ["tz", "minMatches", "fdr", "stalledAfter", "burstFactor", "all", "pattern"]
        if let unknown = parameters.first(where: { !known.contains($0.name) }) {
            throw AnalysisOptionsError(
                field: unknown.name,
                message: "is not a parameter; use \(known.sorted().joined(separator: ", "))"
            )
        }
        let all = one("all").map { $0 == "true" || $0 == "1" || $0.isEmpty } ?? false
        return try make(
            timeZone: one("tz"),
            minMatches: try number("minMatches", 5, "an integer of 1 or more"),
            falseDiscoveryRate: try number("fdr", 0.05, "a number between 0 and 1"),
            stalledAfterSeconds: try number("stalledAfter", 60.0, "a number of seconds"),
            burstFactor: try number("burstFactor", 4.0, "a number of 1 or more"),
            showAll: all,
            patterns: parameters.filter { $0.name == "pattern" }.map(\.value),
            rules: rules
        )
    }

    /// Every setting as text: equal keys, equal reports (the service's stats cache).
    public func cacheKey(patterns: [String]) -> String {
        "\(timeZone.identifier)|\(minMatches)|\(falseDiscoveryRate)|\(stalledAfterSeconds)|\(burstFactor)|\(showAll)|"
            + patterns.joined(separator: ",")
    }
}
