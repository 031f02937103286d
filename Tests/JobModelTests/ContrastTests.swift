import Foundation
import Testing

@testable import JobModel

/// The `contrast` pattern: hand-counted tables, a planted failing label, pairs, and
/// histories where failures share nothing.
struct ContrastTests {
    static let options = AnalysisOptions(timeZone: TimeZone(identifier: "UTC")!)

    static func run(_ table: JobTable, options: AnalysisOptions = options) -> [Finding] {
        ContrastPattern(options: options).evaluate(table, baseline: Baseline(table))
    }

    /// 10 jobs with `team=x` (8 failed) among 30 with `team=y` (2 failed): the value's
    /// figures are the counted ones, its p-value the two-proportion test's.
    @Test func aLabelsFiguresAreTheCountedOnes() throws {
        var jobs: [Job] = []
        for i in 0..<40 {
            var job = TestJobs.job(i + 1, "job", (i < 10 ? i < 8 : i < 12) ? .failed : .succeeded)
            job.labels = ["team": i < 10 ? "x" : "y"]
            jobs.append(job)
        }
        let findings = Self.run(JobTable(jobs))
        let x = try #require(findings.first { $0.group == "label team=x" })
        #expect(x.metric == "failureRate")
        #expect(x.matchCount == 10 && x.hitCount == 8 && x.decidedCount == 10)
        #expect(x.value == 0.8)
        #expect(x.baselineValue == 0.25)
        #expect(abs(x.relativeDifference! - 2.2) < 1e-12)
        #expect(x.pValue == Statistics.proportionPValue(8, 10, 2, 30))
        #expect(x.significant)
        let y = try #require(findings.first { $0.group == "label team=y" })
        #expect(!y.significant)  // fails less than the rest: not what failures share
        #expect(FindingText.measure(x).hasPrefix("80 % fail, against 25 % overall"))
        // Attributes every job has (the one name, the one instance) are not tested.
        #expect(!findings.contains { $0.group == "name job" })
    }

    /// The synthesizer's planted label is found, with about three times the failures.
    @Test func thePlantedFailingLabelIsFound() throws {
        var synthesizer = HistorySynthesizer(seed: 7, jobCount: 20_000, days: 30)
        synthesizer.plants = [.failingLabel]
        let table = synthesizer.generate()
        let findings = Self.run(table)
        let eu = try #require(findings.first { $0.group == "label region=eu-west" })
        #expect(eu.significant)
        #expect(eu.value! > 1.8 * eu.baselineValue!)
        #expect(findings.first { $0.group == "label region=us-east" }?.significant == false)
        // The evening peak the synthesizer always plants is found too.
        #expect(findings.first { $0.group == "hour 20" }?.significant == true)
    }

    /// A pair is reported when its jobs fail more than those of either value without the
    /// other: `queue=night` fails only together with `team=data`.
    @Test func aPairThatExplainsMoreIsFound() throws {
        var jobs: [Job] = []
        var id = 0
        for team in ["data", "web"] {
            for queue in ["night", "day"] {
                for i in 0..<200 {
                    id += 1
                    let failing = team == "data" && queue == "night" ? i < 120 : i < 20
                    var job = TestJobs.job(id, "job-\(id % 3)", failing ? .failed : .succeeded)
                    job.labels = ["team": team, "queue": queue]
                    jobs.append(job)
                }
            }
        }
        let findings = Self.run(JobTable(jobs))
        let pair = try #require(findings.first { $0.group.contains(" AND ") })
        #expect(
            pair.group == "label queue=night AND label team=data"
                || pair.group == "label team=data AND label queue=night"
        )
        #expect(pair.significant && pair.matchCount == 200 && pair.hitCount == 120)
        #expect(findings.first { $0.group == "label team=data" }?.significant == true)
    }

    /// Histories whose failures are independent of every attribute: over 40 seeds, few
    /// have any significant value (BH at 5 % keeps the chance of any false discovery near
    /// 5 % per history).
    @Test func failuresThatShareNothingGiveFewFindings() {
        var historiesWithFindings = 0
        for seed in 0..<40 {
            var random = HistorySynthesizer.Random(state: UInt64(seed) &* 0x9E37_79B9 &+ 1)
            var jobs: [Job] = []
            for i in 0..<1_500 {
                var job = TestJobs.job(
                    i + 1,
                    "name-\(random.int(0...5))",
                    random.chance(0.15) ? .failed : .succeeded,
                    at: TestJobs.monday.addingTimeInterval(Double(random.int(0...(14 * 86_400)))),
                    duration: random.logNormal(median: 20, sigma: 1.5)
                )
                job.labels = ["team": ["a", "b", "c"][random.int(0...2)]]
                job.command = ["/bin/\(["sh", "python3"][random.int(0...1)])", "--mode", "m\(random.int(0...3))"]
                job.metrics.cpuSeconds = random.logNormal(median: 2, sigma: 1)
                job.metrics.rssBytesMax = random.int(1_000_000...90_000_000)
                jobs.append(job)
            }
            if Self.run(JobTable(jobs)).contains(where: \.significant) { historiesWithFindings += 1 }
        }
        #expect(historiesWithFindings <= 6, "\(historiesWithFindings) of 40 noise histories had a finding")
    }

    @Test func noFailuresNoFindings() {
        let jobs = (1...50).map { TestJobs.job($0, "ok", .succeeded) }
        #expect(Self.run(JobTable(jobs)).isEmpty)
    }

    /// Deciles from the log histogram: each cut within 2.2 % above the exact decile (a bin's
    /// lower edge), every job in exactly one range, and the ranges' counts exact.
    @Test func decilesAreCutAtBinEdgesAndCountExactly() {
        var bins: [Int: ContrastPattern.Counts] = [:]
        let values = (1...10_000).map { Double($0) * 0.37 }
        for (i, v) in values.enumerated() {
            bins[ContrastPattern.bin(v), default: ContrastPattern.Counts()].add(
                ContrastPattern.Counts(decided: 1, failed: i % 3 == 0 ? 1 : 0)
            )
        }
        let (cuts, ranges) = ContrastPattern.Plan.deciles(bins)
        #expect(cuts.count == 9)
        for (d, cut) in cuts.enumerated() {
            let exact = values[values.count * (d + 1) / 10]
            #expect(cut <= exact && exact < cut * 1.022, "decile \(d + 1): cut \(cut), exact \(exact)")
        }
        #expect(ranges.map(\.decided).reduce(0, +) == values.count)
        #expect(ranges.map(\.failed).reduce(0, +) == (values.count + 2) / 3)
        for (k, range) in ranges.enumerated() {
            let lower = k == 0 ? -Double.infinity : cuts[k - 1]
            let upper = k == cuts.count ? Double.infinity : cuts[k]
            #expect(range.decided == values.filter { $0 >= lower && $0 < upper }.count)
        }
        #expect(ContrastPattern.bin(0) == 0 && ContrastPattern.bin(-1) == 0 && ContrastPattern.bin(.nan) == 0)
        #expect(ContrastPattern.edge(ContrastPattern.bin(.infinity)) == .infinity)
    }

    /// An argument given many times counts its job once, on short and long command lines.
    @Test(arguments: [3, 50])
    func repeatedArgumentsCountTheJobOnce(repeats: Int) throws {
        let jobs = (1...40).map { i in
            var job = TestJobs.job(i, "n", i % 2 == 0 ? .failed : .succeeded)
            job.command = ["/bin/tool"] + Array(repeating: i <= 20 ? "again" : "other", count: repeats)
            return job
        }
        var options = AnalysisOptions(timeZone: TimeZone(identifier: "UTC")!)
        options.showAll = true
        let table = JobTable(jobs)
        let findings = ContrastPattern(options: options).evaluate(table, baseline: Baseline(table))
        let again = try #require(findings.first { $0.group == "argument again" })
        #expect(again.decidedCount == 20)
        #expect(again.hitCount == 10)
    }
}
