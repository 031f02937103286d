import Foundation
import Testing

/// `jobstats report` as a user runs it. Its rendering in a browser is checked by
/// `BrowserTests` (JobRunnerTests).
@Suite(.timeLimit(.minutes(2)))
struct ReportTests {
    static let sample = CLI.packageRoot.appendingPathComponent("samples/synth-small.jrsnap").path

    @Test func writesOneSelfContainedFileWithEverySection() throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("report.html").path
        let result = try CLI.run(["report", Self.sample, "--tz", "UTC", "-o", out])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("wrote \(out)"))
        let html = try String(contentsOfFile: out, encoding: .utf8)
        for heading in [
            "What stands out", "When jobs fail", "Success rate per day", "Success per job name", "How long jobs run",
            "Memory leak suspects", "Bursts, stalls and leaks", "Retries", "Exit codes and signals",
        ] {
            #expect(html.contains(">\(heading)</h2>"), "\(heading)")
        }
        // Self-contained: nothing is fetched, nothing runs.
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("@import"))
        #expect(!html.contains("url(") && !html.contains("<link"))
        // Every chart has a text alternative and its numbers.
        let charts = html.components(separatedBy: "<svg ").count - 1
        #expect(charts >= 8)
        #expect(html.components(separatedBy: "role=\"img\" aria-labelledby=").count - 1 == charts)
        #expect(html.components(separatedBy: "<desc id=").count - 1 == charts)
        #expect(html.components(separatedBy: "<summary>The numbers</summary>").count - 1 == charts)
        // The planted behaviours of the sample are in the sentences.
        #expect(html.contains("Job &#39;index-build&#39; leaks memory"))
        #expect(html.contains("20:00"))
    }

    @Test func standardOutputAndReproducibleOutput() throws {
        let a = try CLI.run(["report", Self.sample, "--tz", "UTC", "-o", "-", "--title", "Nightly <jobs>"])
        let b = try CLI.run(["report", Self.sample, "--tz", "UTC", "-o", "-", "--title", "Nightly <jobs>"])
        #expect(a.status == 0 && a.stdout.hasPrefix("<!doctype html>"))
        #expect(a.stdout.contains("<title>Nightly &lt;jobs&gt;</title>"), "the title is escaped")
        #expect(a.stdout == b.stdout, "same input, same file (SOURCE_DATE_EPOCH)")
    }

    @Test func badInputChangesNothing() throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("report.html").path
        #expect(try CLI.run(["report", dir.appendingPathComponent("missing.jrsnap").path, "-o", out]).status == 66)
        let damaged = dir.appendingPathComponent("damaged.jrsnap")
        try Data("JRSNAP not really".utf8).write(to: damaged)
        #expect(try CLI.run(["report", damaged.path, "-o", out]).status == 65)
        #expect(try CLI.run(["report", Self.sample, "--tz", "Mars/Olympus", "-o", out]).status == 64)
        #expect(try CLI.run(["report", "-o", out]).status == 64)
        #expect(!FileManager.default.fileExists(atPath: out), "no partial file")
        let noDirectory = try CLI.run(["report", Self.sample, "-o", dir.appendingPathComponent("no/such/r.html").path])
        #expect(noDirectory.status != 0 && noDirectory.stderr.contains("no/such"))
    }

    @Test func anEmptyHistoryGivesAReportThatSaysSo() throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty.jsonl")
        try Data().write(to: empty)
        let result = try CLI.run(["report", empty.path, "-o", "-"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Nothing stands out"))
        #expect(result.stdout.contains("No job with an outcome"))
    }

    /// samples/recorded-service.report.html is what `scripts/update-samples.sh` writes.
    @Test func theSampleReportHasNotDrifted() throws {
        let samples = CLI.packageRoot.appendingPathComponent("samples")
        let expected = try String(
            contentsOf: samples.appendingPathComponent("recorded-service.report.html"),
            encoding: .utf8
        )
        let result = try CLI.run([
            "report", samples.appendingPathComponent("recorded-service.jrsnap").path, "--tz", "UTC", "-o", "-",
        ])
        #expect(result.status == 0)
        #expect(result.stdout == expected, "run scripts/update-samples.sh and review the diff")
    }
}
