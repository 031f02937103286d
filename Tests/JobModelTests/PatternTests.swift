import Foundation
import Testing

@testable import JobModel

struct PatternTests {
    static let utc = AnalysisOptions(timeZone: TimeZone(identifier: "UTC")!, showAll: true)

    static func run(_ jobs: [Job], _ id: String, options: AnalysisOptions = utc) -> [Finding] {
        Analysis.run(JobTable(jobs), options: options, patterns: [id]).patterns
    }

    static func repeatJobs(_ count: Int, from firstID: Int, _ make: (Int) -> Job) -> [Job] {
        (firstID..<(firstID + count)).map(make)
    }

    /// 10 'a' jobs: 2 succeeded, 8 failed; 30 'b' jobs: 27 succeeded, 3 failed. Baseline 29/40.
    static let twoNames: [Job] =
        repeatJobs(2, from: 1) { TestJobs.job($0, "etl-a") }
        + repeatJobs(8, from: 3) { TestJobs.job($0, "etl-a", .failed) }
        + repeatJobs(27, from: 11) { TestJobs.job($0, "sync_b") }
        + repeatJobs(3, from: 38) { TestJobs.job($0, "sync_b", .failed) }

    @Test func baseline() {
        let b = Baseline(
            JobTable(Self.twoNames + [TestJobs.job(99, "x", .running), TestJobs.job(100, "x", .cancelled)])
        )
        #expect(b.jobCount == 42)
        #expect(b.decidedCount == 40)
        #expect(b.successRate == 29.0 / 40)
        #expect(b.chainSuccessRate == 29.0 / 40)
    }

    @Test func perName() throws {
        let findings = Self.run(Self.twoNames, "name")
        #expect(findings.map(\.group) == ["etl-a", "sync_b"], "worst first")
        let a = findings[0]
        #expect(a.name == "Job name is 'etl-a'")
        #expect(a.matchCount == 10)
        #expect(a.decidedCount == 10)
        #expect(a.successRate == 0.2)
        #expect(abs(a.relativeDifference! - (0.2 - 0.725) / 0.725) < 1e-12)
        #expect(a.differenceFromAverage == "-72%")
        // Small group: Fisher's exact test against the rest (2/10 vs 27/30).
        #expect(a.pValue == Statistics.fisherExact(a: 2, b: 8, c: 27, d: 3))
        #expect(a.significant)
        #expect(findings[1].differenceFromAverage == "+24%")
    }

    @Test func perNamePrefix() {
        let jobs =
            Self.twoNames + Self.repeatJobs(5, from: 50) { TestJobs.job($0, "etl.c", .failed) }
            + [TestJobs.job(60, "plain"), TestJobs.job(61, "x:y")]
        let findings = Self.run(jobs, "name-prefix")
        let etl = try! #require(findings.first { $0.group == "etl" })
        #expect(etl.name == "Job name starts with 'etl'")
        #expect(etl.matchCount == 15)
        #expect(etl.successRate == 2.0 / 15)
        #expect(Set(findings.map(\.group)) == ["etl", "sync", "plain", "x"])
    }

    @Test func defaultListingHidesSmallAndInsignificantGroups() {
        var options = Self.utc
        options.showAll = false
        let jobs = Self.twoNames + [TestJobs.job(70, "tiny", .failed)]
        let groups = Analysis.run(JobTable(jobs), options: options, patterns: ["name"]).patterns.map(\.group)
        #expect(groups.contains("etl-a"))
        #expect(!groups.contains("tiny"), "1 job is below --min-matches 5")
        options.minMatches = 11
        #expect(
            !Analysis.run(JobTable(jobs), options: options, patterns: ["name"]).patterns.map(\.group).contains("etl-a")
        )
    }

    @Test func fiftyEqualNamesRaiseNoFalseAlarm() {
        // 50 names with the same 80 % success: no name differs, nothing may be flagged.
        var jobs: [Job] = []
        var id = 0
        for n in 0..<50 {
            for k in 0..<40 {
                id += 1
                jobs.append(TestJobs.job(id, "job\(n)", (k * 7 + n) % 5 == 0 ? .failed : .succeeded))
            }
        }
        #expect(Self.run(jobs, "name").filter(\.significant).isEmpty)
    }

    @Test func hourOfDayInTheGivenZone() throws {
        // Five failures at 20:xx UTC, ten successes at 08:xx UTC.
        let evening = TestJobs.monday.addingTimeInterval(20 * 3600 + 600)
        let morning = TestJobs.monday.addingTimeInterval(8 * 3600)
        let jobs =
            Self.repeatJobs(5, from: 1) { TestJobs.job($0, "j", .failed, at: evening) }
            + Self.repeatJobs(10, from: 6) { TestJobs.job($0, "j", .succeeded, at: morning) }
        let utc = Self.run(jobs, "hour-of-day")
        #expect(utc.map(\.group) == ["8", "20", "most-failures"])
        #expect(utc[1].name == "Started between 20:00-20:59")
        #expect(utc[1].successRate == 0)
        #expect(utc[2].mostFailures == ["20:00-20:59"])
        #expect(utc[2].hitCount == 5)
        var paris = Self.utc
        paris.timeZone = try #require(TimeZone(identifier: "Europe/Paris"))  // UTC+1 in January
        let local = Self.run(jobs, "hour-of-day", options: paris)
        #expect(local.last?.mostFailures == ["21:00-21:59"])
        #expect(local.map(\.group) == ["9", "21", "most-failures"])
    }

    @Test func mostFailuresListsTies() {
        let jobs = [3, 3, 15, 15, 9].enumerated().map { i, hour in
            TestJobs.job(
                i + 1,
                "j",
                hour == 9 ? .succeeded : .failed,
                at: TestJobs.monday.addingTimeInterval(Double(hour) * 3600)
            )
        }
        #expect(Self.run(jobs, "hour-of-day").last?.mostFailures == ["03:00-03:59", "15:00-15:59"])
    }

    @Test func dayOfWeek() {
        let jobs = (0..<14).map { d in
            TestJobs.job(
                d + 1,
                "j",
                d % 7 == 6 ? .failed : .succeeded,
                at: TestJobs.monday.addingTimeInterval(Double(d) * 86_400 + 3600)
            )
        }
        let findings = Self.run(jobs, "day-of-week")
        #expect(findings.map(\.group) == DayOfWeekPattern.days)
        #expect(findings.last?.name == "Started on a Sunday")
        #expect(findings.last?.successRate == 0)
        #expect(findings.first?.matchCount == 2)
    }

    @Test func durationBuckets() {
        let durations: [Double] = [0.5, 0.99, 1, 9.9, 10, 59, 60, 599, 600, 3599, 3600, 86_400]
        let jobs =
            durations.enumerated().map { i, d in
                TestJobs.job(i + 1, "j", i % 2 == 0 ? .succeeded : .failed, duration: d)
            }
            + [TestJobs.job(99, "j", .running, duration: nil)]
        let findings = Self.run(jobs, "duration")
        #expect(findings.map(\.group) == DurationPattern.buckets)
        #expect(findings.allSatisfy { $0.matchCount == 2 && $0.successRate == 0.5 })
        #expect(findings[0].name == "Ran <1s")
    }

    @Test func statusCountsAndStalled() {
        let stalled = JobMetrics(stalledSeconds: 61)
        let jobs = [
            TestJobs.job(1, "j", .succeeded), TestJobs.job(2, "j", .failed, metrics: stalled),
            TestJobs.job(3, "j", .failed), TestJobs.job(4, "j", .crashed, signal: 11),
            TestJobs.job(5, "j", .lost, metrics: stalled),
        ]
        let findings = Self.run(jobs, "status")
        #expect(findings.map(\.group) == ["succeeded", "failed", "crashed", "lost", "stalled"])
        #expect(findings[1].matchCount == 2)
        #expect(findings[1].value == 0.4)
        #expect(findings[4].matchCount == 2)
        #expect(findings[4].name == "Stalled for 60s or more")
    }

    @Test func retriesPerAttemptPerChainAndRescues() throws {
        let jobs = [
            TestJobs.job(1, "sync", .failed, retriedBy: 2),
            TestJobs.job(2, "sync", .succeeded, attempt: 2, parentId: 1),  // rescued
            TestJobs.job(3, "sync", .failed, retriedBy: 4),
            TestJobs.job(4, "sync", .failed, attempt: 2, parentId: 3, retriedBy: 5),
            TestJobs.job(5, "sync", .succeeded, attempt: 3, parentId: 4),  // rescued on the third attempt
            TestJobs.job(6, "etl", .failed, retriedBy: 7),
            TestJobs.job(7, "etl", .failed, attempt: 2, parentId: 6),  // not rescued
            TestJobs.job(8, "etl", .succeeded),
        ]
        let findings = Self.run(jobs, "retries")
        let byGroup = Dictionary(uniqueKeysWithValues: findings.map { ($0.group, $0) })
        #expect(byGroup["attempt 1"]?.successRate == 1.0 / 4)
        #expect(byGroup["attempt 2"]?.successRate == 1.0 / 3)
        #expect(byGroup["attempt 3+"]?.successRate == 1)
        let rescued = try #require(byGroup["rescued"])
        #expect(rescued.matchCount == 3)
        #expect(rescued.hitCount == 2)
        #expect(rescued.value == 2.0 / 3)
        #expect(byGroup["rescued sync"]?.value == 1)
        #expect(byGroup["rescued etl"]?.value == 0)
        // Chains end at 2, 5, 7, 8: three of four succeed; per attempt 3 of 8 (2, 5, 8).
        let chain = try #require(byGroup["chain"])
        #expect(chain.value == 0.75)
        #expect(chain.baselineValue == 0.375)
        #expect(chain.differenceFromAverage == "+100%")
    }

    @Test func exitCodesAndSignalsPerName() {
        let jobs = [
            TestJobs.job(1, "x", .failed, exitCode: 3), TestJobs.job(2, "x", .failed, exitCode: 3),
            TestJobs.job(3, "x", .failed, exitCode: 3), TestJobs.job(4, "x", .failed, exitCode: 1),
            TestJobs.job(5, "x", .crashed, signal: 11), TestJobs.job(6, "x", .crashed, signal: 11),
            TestJobs.job(7, "x", .succeeded), TestJobs.job(8, "x", .succeeded),
        ]
        let findings = Self.run(jobs, "exit-codes")
        #expect(findings.map(\.group) == ["x exit=3", "x exit=1", "x signal=11"])
        #expect(findings[0].matchCount == 3)
        #expect(findings[0].value == 3.0 / 8)
        #expect(findings[2].name == "Job 'x' killed by signal 11")
    }

    @Test func sharePatternsFindTheNamesWithTheProperty() throws {
        let leak = JobMetrics(memoryLeakSuspected: true)
        let ioBurst = JobMetrics(ioOpsPerSecondAvg: 50, ioOpsPerSecondPeak: 400)
        let ioSteady = JobMetrics(ioOpsPerSecondAvg: 500, ioOpsPerSecondPeak: 900)
        let storm = JobMetrics(netConnectionsPerSecondAvg: 2, netConnectionsPerSecondPeak: 40)
        let stall = JobMetrics(stalledSeconds: 300)
        var jobs: [Job] = []
        for i in 0..<20 {
            jobs.append(TestJobs.job(i * 5 + 1, "indexer", metrics: i < 16 ? leak : JobMetrics()))
            jobs.append(TestJobs.job(i * 5 + 2, "backup", metrics: i < 15 ? ioBurst : ioSteady))
            jobs.append(TestJobs.job(i * 5 + 3, "feed", .failed, metrics: i < 12 ? storm : JobMetrics()))
            jobs.append(TestJobs.job(i * 5 + 4, "ledger", metrics: i < 10 ? stall : JobMetrics()))
            jobs.append(TestJobs.job(i * 5 + 5, "quiet"))
        }
        var options = Self.utc
        options.showAll = false
        func top(_ id: String) -> [Finding] { Self.run(jobs, id, options: options) }
        #expect(top("memory-leak").map(\.group) == ["indexer"])
        #expect(top("memory-leak")[0].value == 0.8)
        #expect(top("memory-leak")[0].baselineValue == 16.0 / 100)
        #expect(top("memory-leak")[0].differenceFromAverage == "+400%")
        #expect(top("io-burst").map(\.group) == ["backup"])
        #expect(top("io-burst")[0].hitCount == 15, "900/500 is no burst at factor 4")
        #expect(top("net-burst").map(\.group) == ["feed"])
        #expect(top("net-burst")[0].successRate == 0)
        #expect(top("stalled").map(\.group) == ["ledger"])
        #expect(top("stalled")[0].metric == "stalledShare")
    }

    @Test func synthesizedHistoryShowsEveryPlantedBehaviour() throws {
        let table = HistorySynthesizer(seed: 11, jobCount: 20_000, days: 30).generate()
        var options = Self.utc
        options.showAll = false
        let report = Analysis.run(table, options: options)
        func groups(_ id: String) -> [String] { report.patterns.filter { $0.pattern == id }.map(\.group) }
        #expect(report.patterns.first { $0.group == "most-failures" }?.mostFailures == ["20:00-20:59"])
        #expect(groups("memory-leak").sorted() == ["index-build", "index-merge"])
        #expect(groups("io-burst") == ["backup-db"])
        #expect(groups("net-burst") == ["feed-gameday"])
        #expect(groups("stalled") == ["sync-ledger"])
        #expect(groups("name-prefix").first == "sync", "the flaky family fails most")
        #expect(groups("retries").contains("rescued sync-crm"))
        #expect(report.baseline.chainSuccessRate > report.baseline.successRate)
    }

    @Test func synthesizerIsDeterministic() {
        let a = HistorySynthesizer(seed: 5, jobCount: 3000).generate()
        let b = HistorySynthesizer(seed: 5, jobCount: 3000).generate()
        let c = HistorySynthesizer(seed: 6, jobCount: 3000).generate()
        #expect(a.jobs == b.jobs)
        #expect(a.jobs != c.jobs)
        #expect(a.count == 3000)
    }
}
