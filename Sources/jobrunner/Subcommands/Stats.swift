import ArgumentParser
import Foundation
import JobModel

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What fails, when and why: the service's findings as sentences.",
        discussion:
            "Example: jobrunner stats --tz Europe/Berlin (hours and weekdays in that zone); --json for GET /v1/stats."
    )

    @OptionGroup var service: ClientOptions
    @Option(help: "IANA time zone of the hour and weekday findings (default: UTC).")
    var tz: String?
    @Flag(help: "Every finding, not only the significant ones.")
    var all = false
    @Flag(help: "The report as JSON (GET /v1/stats).")
    var json = false

    func run() async throws {
        try await runClient {
            let client = try service.client()
            var query: [String] = []
            if let tz { query.append("tz=\(List.escape(tz))") }
            if all { query.append("all=true") }
            let reply = try await client.send(
                .GET,
                "/v1/stats" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
            )
            if json {
                writeOut(reply.body + Data("\n".utf8))
                return
            }
            let report = try APIClient.decode(AnalysisReport.self, reply.body)
            writeOut(Array(Self.sentences(report).utf8))
        }
    }

    /// The headline, then one sentence per finding (strongest evidence first).
    static func sentences(_ report: AnalysisReport) -> String {
        let b = report.baseline
        let percent = FindingText.percent
        var out =
            "\(report.jobCount) jobs; \(b.decidedCount) decided, \(percent(b.successRate)) succeeded, \(percent(b.chainSuccessRate)) of chains after retries.\n"
        let findings = report.patterns.sorted { ($0.pValue ?? 1) < ($1.pValue ?? 1) }
        if findings.isEmpty { return out + "Nothing stands out: no group differs significantly from the rest.\n" }
        for f in findings { out += "- " + FindingText.sentence(f) + ".\n" }
        return out
    }
}
