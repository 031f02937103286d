import Foundation
import Testing

@testable import JobModel

/// The `flaky` pattern on planted and on null histories.
struct FlakyPatternTests {
    static let options = AnalysisOptions(timeZone: TimeZone(identifier: "UTC")!)

    /// The synthesizer's SplitMix64: every history is the same on every run.
    typealias Random = HistorySynthesizer.Random

    /// `chains` chains per name: the first attempt fails with `firstFailure[name]` (default
    /// `fail`), a retry then passes with `rescue`; one retry at most.
    static func history(
        names: [String],
        chains: Int,
        fail: Double,
        rescue: Double,
        firstFailure: [String: Double] = [:],
        seed: UInt64
    ) -> JobTable {
        var random = Random(state: seed)
        var table = JobTable()
        var id = 1
        for i in 0..<chains {
            for name in names {
                let start = TestJobs.monday.addingTimeInterval(Double(i * names.count + id) * 60)
                let failed = random.unit() < (firstFailure[name] ?? fail)
                if !failed {
                    table.append(TestJobs.job(id, name, .succeeded, at: start))
                    id += 1
                    continue
                }
                let passed = random.unit() < rescue
                table.append(TestJobs.job(id, name, .failed, at: start, retriedBy: id + 1))
                table.append(
                    TestJobs.job(id + 1, name, passed ? .succeeded : .failed, at: start, attempt: 2, parentId: id)
                )
                id += 2
            }
        }
        return table
    }

    static func run(_ table: JobTable) -> [Finding] {
        FlakyPattern(options: options).evaluate(table, baseline: Baseline(table))
    }

    @Test func thePlantedFlakyNameIsFoundAndOnlyIt() throws {
        let names = (1...8).map { "job-\($0)" }
        let table = Self.history(
            names: names,
            chains: 200,
            fail: 0.05,
            rescue: 0.9,
            firstFailure: ["job-3": 0.35],
            seed: 7
        )
        let flaky = Self.run(table).filter { $0.significant }
        #expect(flaky.map(\.group) == ["job-3"])
        let f = try #require(flaky.first)
        #expect(f.metric == "flakyShare" && f.matchCount == 200)
        #expect(f.name.hasPrefix("Job 'job-3' is flaky: ") && f.name.contains("runs z = "))
    }

    /// A name that runs two commands: the flaky one is named with its command; the other
    /// is not flaky, and names with one command get no command groups.
    @Test func theFlakyCommandOfANameIsFound() throws {
        var random = Random(state: 11)
        var jobs: [Job] = []
        func chain(_ name: String, _ command: [String], firstFailure: Double) {
            let id = jobs.count + 1
            let start = TestJobs.monday.addingTimeInterval(Double(id) * 60)
            var first = TestJobs.job(id, name, .succeeded, at: start)
            first.command = command
            guard random.unit() < firstFailure else {
                jobs.append(first)
                return
            }
            first.status = .failed
            first.retriedBy = id + 1
            var retry = TestJobs.job(id + 1, name, .succeeded, at: start, attempt: 2, parentId: id)
            retry.command = command
            jobs += [first, retry]
        }
        for _ in 0..<200 {
            chain("etl", ["/bin/etl", "--full"], firstFailure: 0.4)
            chain("etl", ["/bin/etl", "--delta"], firstFailure: 0.05)
            chain("web", ["/bin/web"], firstFailure: 0.05)
        }
        let findings = Self.run(JobTable(jobs))
        let full = try #require(findings.first { $0.group == "etl: /bin/etl --full" })
        #expect(full.significant && full.matchCount == 200)
        #expect(full.name.hasPrefix("Job 'etl' running `/bin/etl --full` is flaky"))
        #expect(findings.first { $0.group == "etl: /bin/etl --delta" }?.significant == false)
        #expect(!findings.contains { $0.group.hasPrefix("web: ") })
    }

    @Test func aNameThatNeverPassesIsBrokenNotFlaky() throws {
        var table = Self.history(names: ["ok-a", "ok-b"], chains: 100, fail: 0.1, rescue: 0.9, seed: 3)
        let first = table.count + 1
        for i in 0..<20 {
            table.append(TestJobs.job(first + 2 * i, "down", .failed, duration: 30, retriedBy: first + 2 * i + 1))
            table.append(
                TestJobs.job(first + 2 * i + 1, "down", .failed, duration: 30, attempt: 2, parentId: first + 2 * i)
            )
        }
        let findings = Self.run(table)
        let broken = try #require(findings.first { $0.group == "broken down" })
        #expect(broken.significant && broken.value == 0 && broken.decidedCount == 40)
        #expect(broken.name == "Job 'down' never passed: broken, not flaky (20 min on failed attempts)")
        #expect(!findings.contains { $0.group == "down" }, "a broken name is not in the flaky shares")
    }

    @Test func nothingIsFoundWhereNothingWasPlanted() {
        // Every name fails and is rescued alike: any finding is a false one. Benjamini-Hochberg
        // at 5 % keeps the share of histories with one at about 5 %.
        var withFalseFinding = 0
        for seed in 1...40 {
            let table = Self.history(
                names: (1...12).map { "n\($0)" },
                chains: 60,
                fail: 0.2,
                rescue: 0.8,
                seed: UInt64(seed)
            )
            if Self.run(table).contains(where: \.significant) { withFalseFinding += 1 }
        }
        #expect(withFalseFinding <= 4, "\(withFalseFinding) of 40 null histories had a finding")
    }

    @Test func theRunsTestTellsAlternationFromStreaks() throws {
        // 10 passes and 10 failures: alternating (20 runs) against two streaks (2 runs).
        let alternating = try #require(FlakyPattern.runsZ(passes: 10, failures: 10, runs: 20))
        let streaks = try #require(FlakyPattern.runsZ(passes: 10, failures: 10, runs: 2))
        // Expected runs 11, variance 4.737: z = 4.13 and -4.13.
        #expect(abs(alternating - 4.135) < 0.01 && abs(streaks + 4.135) < 0.01)
        #expect(FlakyPattern.runsZ(passes: 10, failures: 0, runs: 1) == nil)
    }

    @Test func theSynthesizedFlakyFamilyIsFound() {
        let table = HistorySynthesizer(seed: 1, jobCount: 5_000, days: 30).generate()
        let groups = Set(Self.run(table).filter(\.significant).map(\.group))
        #expect(groups == ["sync-crm", "sync-ledger"])
    }
}
