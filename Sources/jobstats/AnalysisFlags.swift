import ArgumentParser
import JobModel

/// The analysis settings `analyze` and `report` share (the same names as `GET /v1/stats`'s).
struct AnalysisFlags: ParsableArguments {
    @Option(name: .customLong("pattern"), help: "Run only this pattern (repeatable); see `jobstats patterns`.")
    var patterns: [String] = []

    @Option(
        help: "Time zone of hours and days: an IANA name such as Europe/Paris, or UTC. Default: the local zone."
    )
    var tz: String?

    @Option(help: "Smallest group listed (without --all).")
    var minMatches: Int = 5

    @Flag(help: "List every group, significant or not, whatever its size.")
    var all = false

    @Option(help: "False discovery rate for `significant`, in (0, 1).")
    var fdr: Double = 0.05

    @Option(help: "Seconds of stalled time from which a job counts as stalled.")
    var stalledAfter: Double = 60

    @Option(help: "A burst is a rolling-window peak at least this many times the run's average.")
    var burstFactor: Double = 4

    @Option(
        name: .customLong("patterns"),
        help: ArgumentHelp(
            "A JSON file of pattern rules, run after the built-in patterns (see samples/patterns.json).",
            valueName: "file"
        )
    )
    var patternsFile: String?

    /// The rules of `--patterns`; a missing file exits 66, a bad one 65, naming the rule.
    func rules() throws -> [PatternRule] {
        guard let patternsFile else { return [] }
        do {
            return try PatternRule.load(path: patternsFile)
        } catch {
            Diagnostics.error(error.message)
            throw ExitCode(error.missing ? Diagnostics.noInput : Diagnostics.dataError)
        }
    }

    /// The options checked by the code `GET /v1/stats` uses, errors named as flags.
    func options() throws -> (options: AnalysisOptions, patterns: [String]) {
        do {
            return try AnalysisOptions.make(
                timeZone: tz,
                minMatches: minMatches,
                falseDiscoveryRate: fdr,
                stalledAfterSeconds: stalledAfter,
                burstFactor: burstFactor,
                showAll: all,
                patterns: patterns,
                rules: try rules()
            )
        } catch let error as AnalysisOptionsError {
            let flags = [
                "pattern": "--pattern", "tz": "--tz", "minMatches": "--min-matches", "fdr": "--fdr",
                "stalledAfter": "--stalled-after", "burstFactor": "--burst-factor",
            ]
            throw ValidationError("\(flags[error.field] ?? error.field) \(error.message).")
        }
    }

    func validate() throws {
        _ = try options()
    }

    /// Runs the suite over `input`'s files one at a time (see ``Analysis/run(options:patterns:now:forEachPart:)``):
    /// how `analyze` reads several inputs — a fleet's snapshots, one per host — without
    /// holding all their jobs. One input is loaded once and analysed whole.
    func analyzeEach(_ input: InputOptions) throws -> AnalysisReport {
        guard input.inputs.count > 1 else { return try analyze(input).report }
        let (options, patterns) = try options()
        return try Diagnostics.timed("load and analyze, input by input") {
            try Analysis.run(options: options, patterns: patterns, now: Diagnostics.now()) { body in
                try input.forEachInput { table, _ in body(table) }
            }
        }
    }

    /// Loads `input` and runs the suite with these settings: how `analyze` and `report` start.
    func analyze(_ input: InputOptions) throws -> (table: JobTable, options: AnalysisOptions, report: AnalysisReport) {
        let (table, _) = try Diagnostics.timed("load") { try input.load() }
        let (options, patterns) = try options()
        let report = Diagnostics.timed("analyze") {
            Analysis.run(table, options: options, patterns: patterns, now: Diagnostics.now())
        }
        return (table, options, report)
    }
}
