import ArgumentParser
import Foundation
import JobModel

extension JobStats {
    struct Compare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What changed between two histories: every group whose success rate or share moved.",
            discussion: """
                Runs the pattern suite on BEFORE and AFTER and tests every group both have (a \
                name, a prefix, an hour, a weekday, a duration band, a status, an exit code, …; at \
                least --min-matches jobs on each side) as two proportions, with Benjamini-Hochberg \
                across all of them. Lists the significant changes, worse and better (--all: every \
                group compared). Two inputs, or one split in time by --before-until and \
                --after-since. With --fail-on worse the exit status is 1 when something got \
                significantly worse: a CI gate.

                Examples:
                  jobstats compare last-week.jrsnap this-week.jrsnap
                  jobstats compare history.jrsnap --before-until 2026-11-20 --after-since 2026-11-20 --fail-on worse
                """
        )

        @Argument(help: "BEFORE and AFTER (.jrsnap, .csv or .jsonl), or one history with the split flags.")
        var inputs: [String] = []

        @Option(help: "With one input: BEFORE is the jobs started before this time (RFC 3339 or a date).")
        var beforeUntil: String?

        @Option(help: "With one input: AFTER is the jobs started at or after this time.")
        var afterSince: String?

        @Option(help: "Output format: table, json or csv.")
        var format: OutputFormat = .table

        @Option(help: "Exit 1 when something got significantly worse ('worse').")
        var failOn: FailOn?

        @OptionGroup var analysis: AnalysisFlags

        enum FailOn: String, ExpressibleByArgument, CaseIterable {
            case worse
        }

        func validate() throws {
            switch inputs.count {
            case 1:
                guard let beforeUntil, let afterSince else {
                    throw ValidationError(
                        "With one input, give --before-until and --after-since to split it (or give two inputs)."
                    )
                }
                for (flag, value) in [("--before-until", beforeUntil), ("--after-since", afterSince)]
                where Timestamp.parseMicros(value) == nil {
                    throw ValidationError(
                        "\(flag) '\(value)' is not a time; use RFC 3339 or a date such as 2026-11-20."
                    )
                }
            case 2:
                if beforeUntil != nil || afterSince != nil {
                    throw ValidationError("--before-until and --after-since split one input; with two, leave them out.")
                }
            default:
                throw ValidationError("Please give BEFORE and AFTER (two inputs), or one input with the split flags.")
            }
        }

        func run() async throws {
            InputOptions.keepFreedMemory()
            let (before, after) = try Diagnostics.timed("load") {
                if inputs.count == 2 {
                    let a = try Diagnostics.mapErrors { try JobFiles.load(inputs[0]) }.table
                    let b = try Diagnostics.mapErrors { try JobFiles.load(inputs[1]) }.table
                    return (a, b)
                }
                let table = try Diagnostics.mapErrors { try JobFiles.load(inputs[0]) }.table
                return (
                    InputOptions.window(table, from: nil, before: beforeUntil.flatMap { Timestamp.parseMicros($0) }),
                    InputOptions.window(table, from: afterSince.flatMap { Timestamp.parseMicros($0) }, before: nil)
                )
            }
            let (options, patterns) = try analysis.options()
            let report = Diagnostics.timed("compare") {
                Comparison.run(
                    before: before,
                    after: after,
                    options: options,
                    patterns: patterns,
                    now: Diagnostics.now()
                )
            }
            var out = OutputFile.standardOutput()
            try out.write(try ComparisonRenderer.render(report, format: format))
            try out.commit()
            if failOn == .worse, report.hasSignificantWorsening { throw ExitCode(1) }
        }
    }
}

/// `jobstats compare` as table, JSON or CSV.
enum ComparisonRenderer {
    static func render(_ report: ComparisonReport, format: OutputFormat) throws -> String {
        switch format {
        case .json:
            let encoder = JobJSONLines.makeEncoder()
            encoder.outputFormatting.insert(.prettyPrinted)
            return String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
        case .csv:
            var out =
                "pattern,group,name,metric,before,after,beforeCount,afterCount,difference,pValue,significant,direction\r\n"
            for c in report.changes {
                let cells = [
                    c.pattern, c.group, c.name, c.metric, "\(c.before)", "\(c.after)", "\(c.beforeCount)",
                    "\(c.afterCount)", "\(c.difference)", c.pValue.map { "\($0)" } ?? "",
                    c.significant ? "true" : "false",
                    c.direction,
                ]
                out += cells.map(JobCSV.escape).joined(separator: ",") + "\r\n"
            }
            return out
        case .table:
            let percent = FindingText.percent
            var out =
                "before: \(report.before.jobCount) jobs, \(percent(report.before.successRate)) of attempts succeeded; "
                + "after: \(report.after.jobCount) jobs, \(percent(report.after.successRate))\n"
            let significant = report.changes.filter(\.significant)
            if significant.isEmpty { out += "No group changed significantly.\n" }
            let worse = significant.filter { $0.direction == "worse" }.count
            if !significant.isEmpty {
                out +=
                    "\(significant.count) significant changes: \(worse) worse, \(significant.count - worse) better.\n"
            }
            for c in report.changes {
                let evidence = FindingText.confidence(c.pValue) ?? "not tested"
                out +=
                    "\(c.significant ? c.direction.padding(toLength: 6, withPad: " ", startingAt: 0) : "same  ") "
                    + "\(c.name): \(c.metric) \(percent(c.before)) -> \(percent(c.after)) "
                    + "(\(c.beforeCount) -> \(c.afterCount) jobs; \(evidence))\n"
            }
            return out
        }
    }
}
