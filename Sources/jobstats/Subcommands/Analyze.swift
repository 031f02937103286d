import ArgumentParser
import Foundation
import JobModel

extension JobStats {
    struct Analyze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the pattern suite over job history.",
            discussion: """
                Lists the groups of jobs whose success rate (or share of leaks, bursts, stalls) \
                differs significantly from the rest, controlling the false discovery rate across \
                each pattern's groups (Benjamini-Hochberg). `jobstats patterns` lists the patterns.
                Set SOURCE_DATE_EPOCH to fix `generatedAt` (reproducible output).
                """
        )

        @OptionGroup var input: InputOptions

        @Option(help: "Output format: table, json or csv.")
        var format: OutputFormat = .table

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

        /// The options checked by the code `GET /v1/stats` uses, errors named as flags.
        func analysisOptions() throws -> (options: AnalysisOptions, patterns: [String]) {
            do {
                return try AnalysisOptions.make(
                    timeZone: tz,
                    minMatches: minMatches,
                    falseDiscoveryRate: fdr,
                    stalledAfterSeconds: stalledAfter,
                    burstFactor: burstFactor,
                    showAll: all,
                    patterns: patterns
                )
            } catch {
                let flags = [
                    "pattern": "--pattern", "tz": "--tz", "minMatches": "--min-matches", "fdr": "--fdr",
                    "stalledAfter": "--stalled-after", "burstFactor": "--burst-factor",
                ]
                throw ValidationError("\(flags[error.field] ?? error.field) \(error.message).")
            }
        }

        func validate() throws {
            _ = try analysisOptions()
        }

        func run() async throws {
            let (table, _) = try Diagnostics.timed("load") { try input.load() }
            let (options, patterns) = try analysisOptions()
            let report = Diagnostics.timed("analyze") {
                Analysis.run(table, options: options, patterns: patterns, now: Diagnostics.now())
            }
            var out = OutputFile.standardOutput()
            try out.write(try ReportRenderer.render(report, format: format))
            try out.commit()
        }
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}
