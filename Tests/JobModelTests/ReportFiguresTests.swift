import Foundation
import JobModel
import Testing

/// The report's figures on hand-built histories, each checked against a count by hand.
struct ReportFiguresTests {
    static let utc = AnalysisOptions(timeZone: TimeZone(identifier: "UTC")!)

    static func table(_ jobs: [Job]) -> JobTable {
        var table = JobTable()
        for job in jobs { table.append(job) }
        return table
    }

    @Test func heatMapDaysAndPeriodInTheGivenZone() throws {
        let monday = TestJobs.monday  // 2026-01-05 00:00 UTC
        let jobs = [
            TestJobs.job(1, "a", .succeeded, at: monday.addingTimeInterval(20 * 3600)),
            TestJobs.job(2, "a", .failed, at: monday.addingTimeInterval(20 * 3600 + 60)),
            TestJobs.job(3, "a", .crashed, at: monday.addingTimeInterval(86_400 + 3 * 3600), signal: 9),
            TestJobs.job(4, "a", .cancelled, at: monday.addingTimeInterval(86_400)),  // no outcome
            TestJobs.job(5, "a", .pending, at: nil),
        ]
        let f = ReportFigures.compute(Self.table(jobs), options: Self.utc)
        #expect(f.heat[0][20] == ReportFigures.Cell(failures: 1, decided: 2))
        #expect(f.heat[1][3] == ReportFigures.Cell(failures: 1, decided: 1))
        #expect(f.heat.flatMap { $0 }.reduce(0) { $0 + $1.decided } == 3)
        let day = Timestamp.daysFromCivil(year: 2026, month: 1, day: 5)
        #expect(f.days.map(\.day) == [day, day + 1])
        #expect(f.days[0].jobs == 2 && f.days[0].decided == 2 && f.days[0].succeeded == 1)
        #expect(f.days[1].jobs == 2 && f.days[1].decided == 1 && f.days[1].succeeded == 0)
        #expect(f.firstStartMicros == Timestamp.micros(monday.addingTimeInterval(20 * 3600)))
        #expect(f.signals.map(\.signal) == [9])

        // In Tokyo (UTC+9) Monday 20:00 UTC is Tuesday 05:00.
        let tokyo = AnalysisOptions(timeZone: TimeZone(identifier: "Asia/Tokyo")!)
        let t = ReportFigures.compute(Self.table(jobs), options: tokyo)
        #expect(t.heat[1][5] == ReportFigures.Cell(failures: 1, decided: 2))
        #expect(t.days.first?.day == day + 1)
    }

    @Test func namesWithWilsonIntervalsWorstFirst() throws {
        var jobs: [Job] = []
        for i in 0..<10 { jobs.append(TestJobs.job(jobs.count + 1, "good", i < 9 ? .succeeded : .failed)) }
        for i in 0..<10 { jobs.append(TestJobs.job(jobs.count + 1, "bad", i < 2 ? .succeeded : .failed)) }
        jobs.append(TestJobs.job(jobs.count + 1, "never-decided", .cancelled))
        let f = ReportFigures.compute(Self.table(jobs), options: Self.utc)
        #expect(f.nameRates.map(\.name) == ["bad", "good"])
        let bad = f.nameRates[0]
        #expect(bad.decided == 10 && bad.succeeded == 2 && bad.rate == 0.2)
        // Wilson 95 % for 2 of 10: 0.0567 to 0.5098 (standard tables).
        #expect(abs(bad.low - 0.0567) < 0.0005 && abs(bad.high - 0.5098) < 0.0005)
        let (low, high) = Statistics.wilsonInterval(successes: 8, trials: 10)
        #expect(abs(low - 0.4902) < 0.0005 && abs(high - 0.9433) < 0.0005)
        let none = Statistics.wilsonInterval(successes: 0, trials: 0)
        #expect(none.0 == 0 && none.1 == 1)
        #expect(f.names == 3)
    }

    @Test func durationBinsRetriesAndExitCodes() {
        let jobs = [
            TestJobs.job(1, "r", .failed, duration: 0.05, exitCode: 3, retriedBy: 2),
            TestJobs.job(2, "r", .succeeded, duration: 0.1, attempt: 2, parentId: 1),  // rescued
            TestJobs.job(3, "s", .failed, duration: 5, exitCode: 3, retriedBy: 4),
            TestJobs.job(4, "s", .failed, duration: 50_000, exitCode: 1, attempt: 2, parentId: 3),  // not rescued
            TestJobs.job(5, "t", .failed, duration: 2, exitCode: 3),  // never retried
            TestJobs.job(6, "t", .succeeded, duration: 2),
            TestJobs.job(7, "t", .timedOut, duration: 30),
        ]
        let f = ReportFigures.compute(Self.table(jobs), options: Self.utc)
        #expect(f.durationBins[.failed] == [1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1])
        #expect(f.durationBins[.succeeded] == [0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(f.durationBins[.timedOut]?[6] == 1, "30 s falls in [30, 100)")
        #expect(f.chains == 5)
        #expect(f.chainsFirstFailed == 4 && f.chainsRetried == 2 && f.chainsRescued == 1)
        #expect(f.attempts[0] == ReportFigures.Cell(failures: 4, decided: 5), "a timeout is a failure")
        #expect(f.attempts[1] == ReportFigures.Cell(failures: 1, decided: 2))
        #expect(f.exitCodes.map(\.code) == [3, 1] && f.exitCodes.map(\.count) == [3, 1])
    }

    @Test func burstsStallsAndLeaksFollowThePatternsRules() {
        func sampled(_ id: Int, _ name: String, _ set: (inout JobMetrics) -> Void) -> Job {
            var m = JobMetrics()
            m.sampleCount = 10
            set(&m)
            return TestJobs.job(id, name, metrics: m)
        }
        var jobs = [
            sampled(1, "io") {
                $0.ioOpsPerSecondPeak = 500
                $0.ioOpsPerSecondAvg = 100
            },
            sampled(2, "io") {
                $0.ioOpsPerSecondPeak = 500
                $0.ioOpsPerSecondAvg = 200
            },  // peak < 4 × average
            sampled(3, "net") {
                $0.netConnectionsPerSecondPeak = 50
                $0.netConnectionsPerSecondAvg = 1
            },
            sampled(4, "slow") { $0.stalledSeconds = 61 },
        ]
        for i in 0..<6 { jobs.append(sampled(5 + i, "leaky") { $0.memoryLeakSuspected = true }) }
        jobs.append(TestJobs.job(20, "unsampled"))
        let f = ReportFigures.compute(Self.table(jobs), options: Self.utc)
        #expect(f.sampledJobs == 10)
        #expect(f.ioBursts == 1 && f.netBursts == 1 && f.stalls == 1 && f.leaks == 6)
        #expect(f.leakTrends.map(\.name) == ["leaky"], "names with 5 or more suspects when no finding names one")
        #expect(f.leakTrends[0].points.first?.runs == 6)
        let named = ReportFigures.compute(Self.table(jobs), options: Self.utc, leakNames: ["io"])
        #expect(named.leakTrends.map(\.name) == ["io"])
    }

    @Test func anEmptyHistoryHasNoFigures() {
        let f = ReportFigures.compute(JobTable(), options: Self.utc)
        #expect(f.days.isEmpty && f.nameRates.isEmpty && f.leakTrends.isEmpty && f.chains == 0)
        #expect(f.firstStartMicros == nil)
    }

    @Test func topFindingsAreSignificantTestedAndOnePerGroup() {
        func finding(_ pattern: String, _ group: String, p: Double?, significant: Bool = true) -> Finding {
            Finding(
                pattern: pattern,
                group: group,
                name: "\(pattern) \(group)",
                value: 0.5,
                baselineValue: 0.9,
                matchCount: 100,
                decidedCount: 100,
                hitCount: 50,
                successRate: 0.5,
                pValue: p,
                significant: significant
            )
        }
        let findings = [
            finding("name-prefix", "sync", p: 1e-9),
            finding("name", "sync-crm", p: 1e-9),  // the same jobs as the prefix
            finding("name", "feed-odds", p: 1e-9),  // the same numbers, other jobs: both stay
            finding("status", "failed", p: nil),  // informational
            finding("hour-of-day", "20", p: 0.2, significant: false),
            finding("retries", "x", p: 1e-3),
        ]
        let top = FindingText.top(findings, limit: 8)
        #expect(top.map(\.group) == ["feed-odds", "sync-crm", "x"])
        #expect(FindingText.top(findings, limit: 1).map(\.group) == ["feed-odds"])
        #expect(FindingText.sentence(top[0]).contains("50 % succeed, against 90 % overall"))
        #expect(FindingText.support(top[0]) == "100 jobs; p < 0.001, very strong evidence")
        #expect(FindingText.grouped(1_234_567) == "1,234,567" && FindingText.grouped(-12) == "-12")
    }
}
