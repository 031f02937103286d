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
                Several inputs (a fleet's snapshots, one per host) are read one at a time and \
                their counts merged: memory grows with the groups, not with the jobs. A retry \
                chain must not span two inputs.
                Set SOURCE_DATE_EPOCH to fix `generatedAt` (reproducible output).
                """
        )

        @OptionGroup var input: InputOptions

        @Option(help: "Output format: table, json or csv.")
        var format: OutputFormat = .table

        @OptionGroup var analysis: AnalysisFlags

        func run() async throws {
            let report = try analysis.analyzeEach(input)
            var out = OutputFile.standardOutput()
            try out.write(try ReportRenderer.render(report, format: format))
            try out.commit()
        }
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}
