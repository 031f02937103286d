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

        func validate() throws {
            let known = PatternSuite.ids
            for id in patterns where !known.contains(id) {
                throw ValidationError("Unknown pattern '\(id)'. Please use one of: \(known.joined(separator: ", ")).")
            }
            if let tz, TimeZone(identifier: tz) == nil {
                throw ValidationError(
                    "Unknown time zone '\(tz)'. Please use an IANA name such as Europe/Paris, or UTC."
                )
            }
            if minMatches < 1 { throw ValidationError("--min-matches must be 1 or more.") }
            if !(fdr > 0 && fdr < 1) { throw ValidationError("--fdr must be between 0 and 1.") }
            if !(stalledAfter >= 0) { throw ValidationError("--stalled-after must be 0 or more seconds.") }
            if !(burstFactor >= 1) { throw ValidationError("--burst-factor must be 1 or more.") }
        }

        func run() async throws {
            let (table, _) = try Diagnostics.timed("load") { try input.load() }
            let options = AnalysisOptions(
                timeZone: tz.flatMap { TimeZone(identifier: $0) } ?? .current,
                minMatches: minMatches,
                falseDiscoveryRate: fdr,
                stalledAfterSeconds: stalledAfter,
                burstFactor: burstFactor,
                showAll: all
            )
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
