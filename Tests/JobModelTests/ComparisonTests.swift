import Foundation
import JobModel
import Testing

/// `jobstats compare`'s test of two histories.
struct ComparisonTests {
    static func history(_ rates: [String: Double], count: Int = 100, firstID: Int = 1) -> JobTable {
        var table = JobTable()
        var id = firstID
        for (name, rate) in rates.sorted(by: { $0.key < $1.key }) {
            for i in 0..<count {
                let ok = Double(i) < rate * Double(count)
                table.append(
                    TestJobs.job(
                        id,
                        name,
                        ok ? .succeeded : .failed,
                        at: TestJobs.monday.addingTimeInterval(Double(id) * 600),
                        exitCode: ok ? 0 : 2
                    )
                )
                id += 1
            }
        }
        return table
    }

    static let options = AnalysisOptions(timeZone: TimeZone(identifier: "UTC")!)

    @Test func aNameThatGotWorseIsFoundAndTheOtherIsNot() throws {
        let before = Self.history(["load": 0.9, "sync": 0.9])
        let after = Self.history(["load": 0.5, "sync": 0.9])
        let report = Comparison.run(before: before, after: after, options: Self.options)
        let load = try #require(report.changes.first { $0.pattern == "name" && $0.group == "load" })
        #expect(load.significant && load.direction == "worse")
        #expect(load.before == 0.9 && load.after == 0.5 && load.beforeCount == 100 && load.afterCount == 100)
        #expect(abs(load.difference + 0.4) < 1e-12)
        #expect(!report.changes.contains { $0.group == "sync" && $0.pattern == "name" }, "sync did not move")
        let failedShare = try #require(report.changes.first { $0.pattern == "status" && $0.group == "failed" })
        #expect(failedShare.direction == "worse", "more failures is worse")
        #expect(report.hasSignificantWorsening)

        let back = Comparison.run(before: after, after: before, options: Self.options)
        #expect(back.changes.first { $0.pattern == "name" && $0.group == "load" }?.direction == "better")
        #expect(!back.hasSignificantWorsening, "only better: the gate passes")
    }

    @Test func theSameProcessTwiceGivesNoChange() {
        // Two synthetic histories of the same behaviours with different seeds: noise only.
        for seed in [UInt64(1), 2, 3] {
            let a = HistorySynthesizer(seed: seed, jobCount: 4_000, days: 20).generate()
            let b = HistorySynthesizer(seed: seed + 100, jobCount: 4_000, days: 20).generate()
            let report = Comparison.run(before: a, after: b, options: Self.options)
            #expect(report.changes.filter(\.significant).count <= 1, "seed \(seed): \(report.changes.map(\.name))")
        }
        let a = Self.history(["x": 0.8])
        let all = Comparison.run(
            before: a,
            after: a,
            options: AnalysisOptions(timeZone: TimeZone(identifier: "UTC")!, showAll: true)
        )
        #expect(!all.changes.isEmpty && all.changes.allSatisfy { !$0.significant && $0.difference == 0 })
    }
}
