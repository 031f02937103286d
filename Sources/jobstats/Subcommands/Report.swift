import ArgumentParser
import Foundation
import JobModel

extension JobStats {
    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an HTML report of the history: findings as sentences and charts.",
            discussion: """
                One self-contained HTML file (inline SVG and CSS, no script, nothing loaded from \
                elsewhere; opens offline and prints): the headline, the top findings, failures by \
                hour and weekday, the daily success rate, success per name with confidence \
                intervals, durations per status, leak suspects' memory, bursts and stalls, retries, \
                exit codes. Written atomically: a failure leaves no partial file.

                Example: jobstats report state/snapshots/*.jrsnap --tz Europe/Berlin -o report.html
                """
        )

        @OptionGroup var input: InputOptions

        @Option(name: .shortAndLong, help: "The HTML file to write ('-': standard output).")
        var output = "report.html"

        @Option(help: "The report's title.")
        var title: String?

        @OptionGroup var analysis: AnalysisFlags

        func run() async throws {
            let (table, options, report) = try analysis.analyze(input)
            let html = Diagnostics.timed("figures") {
                let leakNames = report.patterns.filter { $0.pattern == "memory-leak" && $0.significant }.map(\.group)
                let figures = ReportFigures.compute(table, options: options, leakNames: leakNames)
                var page = HTMLReport(
                    report: report,
                    figures: figures,
                    inputs: input.inputs.map { ($0 as NSString).lastPathComponent },
                    title: title
                )
                page.falseDiscoveryRate = options.falseDiscoveryRate
                return page.render()
            }
            try Diagnostics.timed("write") {
                try Diagnostics.mapErrors {
                    if output == "-" {
                        var out = OutputFile.standardOutput()
                        try out.write(html)
                        try out.commit()
                    } else {
                        try OutputFile.write(Array(html.utf8), toAtomicPath: output, sync: false)
                    }
                }
            }
            if output != "-" {
                Diagnostics.note("wrote \(output) (\(html.utf8.count / 1024 + 1) KiB, \(table.count) jobs)")
            }
        }
    }
}
