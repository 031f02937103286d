import Foundation
import Testing

@testable import JobModel

/// Error signatures (masking) and the `failure-signature` pattern.
struct FailureSignatureTests {
    @Test(arguments: [
        ("open /srv/data/123.csv failed", "open <path> failed"),
        ("request 5f0c3a2e-1b2c-4d5e-8f90-a1b2c3d4e5f6 timed out after 30.5 s", "request <uuid> timed out after <n> s"),
        ("at 2026-11-29T10:00:01.25Z and 2026-11-29 10:00 and 10:00:01", "at <time> and <time> and <time>"),
        ("pointer 0x7ffd1234 hash deadbeef42 word deadbeef", "pointer <hex> hash <hex> word deadbeef"),
        ("psycopg2.OperationalError at 10.0.3.4:5432", "psycopg2.OperationalError at <n>:<n>"),
        ("HTTPError: 503 from https://api.example.com/v2/items/17?x=1", "HTTPError: <n> from <url>"),
        ("  padded  \n\n  lines  ", "padded\nlines"),
        ("./relative/path and ~/home stay", "./relative/path and ~/home stay"),
    ])
    func masks(text: String, expected: String) {
        #expect(ErrorSignature.of(text) == expected)
    }

    @Test func theLastLinesAreKeptAndTwoRunsOfOneFailureAgree() throws {
        let first = (1...20).map { "progress \($0)" }.joined(separator: "\n") + "\nError: job 17 failed at /tmp/a/17\n"
        let second = (1...3).map { "step \($0)" }.joined(separator: "\n") + "\nError: job 99 failed at /tmp/b/99\n"
        let a = try #require(ErrorSignature.of(first))
        #expect(a.split(separator: "\n").count == ErrorSignature.lines)
        #expect(ErrorSignature.headline(a) == "Error: job <n> failed at <path>")
        #expect(ErrorSignature.headline(a) == ErrorSignature.headline(try #require(ErrorSignature.of(second))))
        #expect(ErrorSignature.of(" \n\t\n") == nil)
    }

    static func job(_ id: Int, _ name: String, _ status: JobStatus, _ signature: String?, hour: Double) -> Job {
        var job = TestJobs.job(id, name, status, at: TestJobs.monday.addingTimeInterval(hour * 3600))
        job.errorSignature = signature
        job.errorTail = signature
        return job
    }

    /// The top signatures per name with their share of its failures; a signature first
    /// seen in the newest tenth is reported new, an old one is not.
    @Test func topSignaturesPerNameAndNewOnes() throws {
        var jobs: [Job] = []
        for i in 0..<100 {
            let failing = i % 4 == 0
            let signature =
                !failing ? nil : i >= 92 ? "Error: disk full" : i % 8 == 0 ? "Error: timeout <n>" : "Error: refused"
            jobs.append(Self.job(i + 1, "etl", failing ? .failed : .succeeded, signature, hour: Double(i)))
        }
        let table = JobTable(jobs)
        let findings = FailureSignaturePattern(options: AnalysisOptions(timeZone: TimeZone(identifier: "UTC")!))
            .evaluate(table, baseline: Baseline(table))
        let top = findings.filter { $0.metric == "signatureShare" }
        // 25 failures (every fourth job): 12 timeouts (0, 8, …, 88), 11 refused (4, …, 84),
        // 2 disk full (92, 96).
        #expect(top.map(\.group) == ["etl: Error: timeout <n>", "etl: Error: refused", "etl: Error: disk full"])
        #expect(top[0].hitCount == 12 && top[0].value == 12.0 / 25.0)
        #expect(top[1].hitCount == 11 && top[2].hitCount == 2)
        let new = findings.filter { $0.metric == "newSignatureShare" }
        #expect(new.map(\.group) == ["new: Error: disk full"])
        #expect(new[0].name.contains("first: job 93, 'etl'"), "\(new[0].name)")
        #expect(new[0].name.hasPrefix("New since 2026-01-08 20:00"), "\(new[0].name)")
        // Of etl's 10 jobs in the newest tenth (hours 90-99), 2 failed with it.
        #expect(new[0].matchCount == 10 && new[0].hitCount == 2 && new[0].value == 0.2)
    }

    /// The synthesizer's `new-error` plant: every family's message is one signature, and
    /// etl-load's new message is reported new, the old ones are not.
    @Test func theSynthesizedNewErrorIsFound() throws {
        var synthesizer = HistorySynthesizer(seed: 5, jobCount: 20_000, days: 30)
        synthesizer.plants = [.newError]
        let table = synthesizer.generate()
        let findings = FailureSignaturePattern(options: AnalysisOptions(timeZone: TimeZone(identifier: "UTC")!))
            .evaluate(table, baseline: Baseline(table))
        let new = findings.filter { $0.metric == "newSignatureShare" }
        #expect(new.map(\.group) == ["new: KeyError: 'currency' in row <n> of <path>"])
        #expect(new.first?.name.contains("'etl-load'") == true)
        let etl = findings.filter { $0.group.hasPrefix("etl-daily: ") }
        #expect(etl.map(\.group) == ["etl-daily: psycopg2.OperationalError: could not connect to server <n>:<n>"])
        #expect(etl.first?.value == 1)
    }

    @Test func noSignaturesNoFindings() {
        let table = JobTable((1...20).map { Self.job($0, "a", .failed, nil, hour: Double($0)) })
        let pattern = FailureSignaturePattern(options: AnalysisOptions(timeZone: TimeZone(identifier: "UTC")!))
        #expect(pattern.evaluate(table, baseline: Baseline(table)).isEmpty)
    }
}
