import Foundation
import Testing

@testable import JobModel

/// The `change-point` pattern on planted steps and on histories without one.
struct ChangePointTests {
    static let options = AnalysisOptions(timeZone: TimeZone(identifier: "UTC")!)

    /// `name` runs every 10 minutes from Monday 00:00: failing with `before` until job
    /// `stepAt`, with `after` from then on (deterministic: failures evenly spread).
    static func jobs(_ name: String, count: Int, stepAt: Int, before: Double, after: Double, firstID: Int) -> [Job] {
        var out: [Job] = []
        var owed = 0.0
        for i in 0..<count {
            owed += i < stepAt ? before : after
            let failed = owed >= 1
            if failed { owed -= 1 }
            out.append(
                TestJobs.job(
                    firstID + i,
                    name,
                    failed ? .failed : .succeeded,
                    at: TestJobs.monday.addingTimeInterval(Double(i) * 600)
                )
            )
        }
        return out
    }

    static func run(_ jobs: [Job]) -> [Finding] {
        var table = JobTable()
        for job in jobs.sorted(by: { $0.id < $1.id }) { table.append(job) }
        return ChangePointPattern(options: options).evaluate(table, baseline: Baseline(table))
    }

    @Test func aPlantedStepIsFoundWithItsTimeAndFirstFailure() throws {
        let etl = Self.jobs("etl-daily", count: 400, stepAt: 250, before: 0.03, after: 0.4, firstID: 1)
        let steady = Self.jobs("steady", count: 400, stepAt: 0, before: 0.1, after: 0.1, firstID: 1_001)
        let findings = Self.run(etl + steady)
        let step = try #require(findings.first { $0.group == "etl-daily" })
        #expect(step.significant)
        // The step is at job 251 (index 250, 41 h 40 min after Monday 00:00); the estimate
        // may put it a job or two later, at the first failure of the new rate.
        let times = (250...253).map {
            "Since 2026-01-06 \(17 + ($0 * 10 / 60) - 41):\(String(format: "%02d", $0 * 10 % 60)) "
        }
        #expect(times.contains { step.name.hasPrefix($0) }, "\(step.name)")
        #expect(step.name.contains("'etl-daily' fails 40 % (before: 3 %)"))
        let firstFailure = etl[250...].first { $0.status == .failed }!.id
        #expect(step.name.hasSuffix("first failure after the step: job \(firstFailure)"))
        #expect((147...150).contains(step.matchCount))
        #expect(FindingText.measure(step).hasPrefix("60 % succeed since, against 97 % before"))
        #expect(findings.first { $0.group == "steady" }?.significant == false)
    }

    /// Two steps, up then down: binary segmentation finds both, the strongest with the
    /// name as its group, the other "NAME since …", each with the rates around it.
    @Test func twoStepsAreBothFound() throws {
        let up = Self.jobs("etl", count: 400, stepAt: 200, before: 0.03, after: 0.4, firstID: 1)
        let down = Self.jobs("etl", count: 200, stepAt: 0, before: 0.03, after: 0.03, firstID: 401)
            .enumerated().map { i, job in
                var job = job
                job.startedAt = TestJobs.monday.addingTimeInterval(Double(400 + i) * 600)
                job.endedAt = job.startedAt!.addingTimeInterval(1)
                return job
            }
        let steps = Self.run(up + down).filter { $0.significant && $0.group.hasPrefix("etl") }
        #expect(steps.count == 2, "\(steps.map(\.name))")
        #expect(steps.contains { $0.group == "etl" })
        #expect(steps.contains { $0.group.hasPrefix("etl since ") })
        // One step up at job ~201, one down to about 3 % at job ~401.
        let rising = try #require(steps.first { $0.value! < 0.8 })
        let falling = try #require(steps.first { $0.value! > 0.9 })
        #expect(rising.baselineValue! > 0.9 && falling.baselineValue! < 0.8)
        // The rise (strongest) is measured to the end; the fall within the part after it.
        #expect((395...405).contains(rising.matchCount), "\(rising.name)")
        #expect((195...205).contains(falling.matchCount), "\(falling.name)")
        #expect(falling.name.contains("fails 3 % (before: 40 %)"), "\(falling.name)")
    }

    @Test func anImprovementIsAStepToo() throws {
        let fixed = Self.jobs("fixed", count: 300, stepAt: 100, before: 0.5, after: 0.02, firstID: 1)
        let step = try #require(Self.run(fixed).first { $0.group == "fixed" })
        #expect(step.significant && step.value! > step.baselineValue!)
        #expect(!step.name.contains("first failure after the step"))
    }

    @Test func noStepIsFoundWhereNoneWasPlanted() {
        // Random failures at one rate: the Bonferroni bound over the splits keeps it quiet.
        var withFalseFinding = 0
        for seed in 1...40 {
            var random = FlakyPatternTests.Random(state: UInt64(seed))
            var jobs: [Job] = []
            for name in ["a", "b", "c", "d", "e"] {
                for i in 0..<200 {
                    let failed = random.unit() < 0.15
                    jobs.append(
                        TestJobs.job(
                            jobs.count + 1,
                            name,
                            failed ? .failed : .succeeded,
                            at: TestJobs.monday.addingTimeInterval(Double(i * 5 + jobs.count % 5) * 60)
                        )
                    )
                }
            }
            if Self.run(jobs).contains(where: \.significant) { withFalseFinding += 1 }
        }
        #expect(withFalseFinding <= 2, "\(withFalseFinding) of 40")
    }

    /// The synthesizer's `step-change` plant: `etl-load`'s step is found within a day of
    /// the planted time, from 7 % to 45 %; without the plant `etl-load` shows no step.
    @Test func theSynthesizedStepIsFound() throws {
        var synthesizer = HistorySynthesizer(seed: 3, jobCount: 30_000, days: 30)
        synthesizer.plants = [.stepChange]
        let table = synthesizer.generate()
        let findings = ChangePointPattern(options: Self.options).evaluate(table, baseline: Baseline(table))
        let step = try #require(findings.first { $0.group == "etl-load" })
        #expect(step.significant)
        #expect(step.value! < 0.65 && step.baselineValue! > 0.85, "45 % failing after, about 7 % before")
        // "Since YYYY-MM-DD HH:MM": within a day of the planted step.
        let since = try #require(
            step.name.split(separator: " ").dropFirst().prefix(2).joined(separator: " ") as String?
        )
        let planted = Timestamp.date(micros: synthesizer.stepMicros)
        let found = try #require(Timestamp.parse(since.replacingOccurrences(of: " ", with: "T") + ":00Z"))
        #expect(abs(found.timeIntervalSince(planted)) < 86_400, "\(since) vs \(planted)")
        let plain = HistorySynthesizer(seed: 3, jobCount: 30_000, days: 30).generate()
        let none = ChangePointPattern(options: Self.options).evaluate(plain, baseline: Baseline(plain))
        #expect(none.first { $0.group == "etl-load" }?.significant != true)
    }

    @Test func theSplitStatisticOnAKnownSequence() throws {
        // 30 passes then 30 failures: the split is at 30 and overwhelming.
        let failed = Array(repeating: false, count: 30) + Array(repeating: true, count: 30)
        let split = try #require(ChangePointPattern.bestSplit(failed, minimumSegment: 20))
        #expect(split.at == 30)
        #expect(abs(split.statistic - 2 * 60 * log(2)) < 1e-9, "2·(0 + 0 − 60·ln ½)")
        #expect(split.pValue < 1e-10)
        #expect(ChangePointPattern.bestSplit(Array(repeating: false, count: 100), minimumSegment: 20) == nil)
        #expect(ChangePointPattern.bestSplit(failed, minimumSegment: 31) == nil, "too short for two segments")
    }
}
