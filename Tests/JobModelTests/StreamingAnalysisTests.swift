import Foundation
import Testing

@testable import JobModel

/// Analysis part by part (a fleet's inputs, one at a time) gives the findings of the same
/// history analysed as one table: every pattern's tally merges exactly.
struct StreamingAnalysisTests {
    /// Three hosts' histories with every plant, different seeds, sizes and spans. Each
    /// host numbers its jobs from 1; here they are renumbered apart, so that the whole
    /// table's retry chains are the hosts' own (in one table, equal ids would join them).
    static func hosts() -> [JobTable] {
        (0..<3).map { i in
            var s = HistorySynthesizer(
                seed: UInt64(11 + i),
                jobCount: [6_000, 9_000, 4_000][i],
                days: [20, 30, 12][i],
                instance: "host-\(i)"
            )
            s.plants = Set(HistorySynthesizer.Plant.allCases)
            let offset = i * 100_000
            return JobTable(
                s.generate().jobs.map { job in
                    var j = job
                    j.id += offset
                    j.parentId = j.parentId.map { $0 + offset }
                    j.retriedBy = j.retriedBy.map { $0 + offset }
                    return j
                }
            )
        }
    }

    static func json(_ report: AnalysisReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }

    @Test(arguments: [false, true])
    func partsGiveTheFindingsOfTheWhole(showAll: Bool) throws {
        let hosts = Self.hosts()
        var whole = JobTable()
        for h in hosts { whole.append(contentsOf: h) }
        var options = AnalysisOptions(timeZone: TimeZone(identifier: "UTC")!)
        options.showAll = showAll
        let rule = try PatternRule.parse(
            Data(#"[{"id":"by-team","groupBy":"label:team"}]"#.utf8),
            source: "test"
        )
        options.rules = rule
        let now = Date(timeIntervalSince1970: 1_767_571_200)
        let one = Analysis.run(whole, options: options, now: now)
        var passes = 0
        let parts = Analysis.run(options: options, now: now) { body in
            passes += 1
            for h in hosts { body(h) }
        }
        #expect(passes == 2, "contrast's pairs and new signatures take a second look")
        #expect(parts.jobCount == whole.count)
        #expect(parts.baseline == one.baseline)
        // Every pattern found something to compare.
        let patterns = Set(one.patterns.map(\.pattern))
        for id in ["contrast", "change-point", "flaky", "failure-signature", "by-team"] {
            #expect(patterns.contains(id), "\(id)")
        }
        #expect(one.patterns.contains { $0.pattern == "contrast" && $0.group.contains(" AND ") })
        #expect(parts.patterns.count == one.patterns.count)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for (a, b) in zip(parts.patterns, one.patterns) {
            let (x, y) = (
                String(decoding: try encoder.encode(a), as: UTF8.self),
                String(decoding: try encoder.encode(b), as: UTF8.self)
            )
            if x != y {
                Issue.record("parts: \(x)\nwhole: \(y)")
                break
            }
        }
        #expect(try Self.json(parts) == Self.json(one))
    }

    /// Bins of start time nest: a histogram counted in parts and merged is the histogram of
    /// the whole, whatever the cut.
    @Test func timeHistogramsMergeExactly() {
        let starts: [Int64] = (0..<5_000).map { Int64($0) * Int64($0 % 7 + 1) * 37 }.sorted()
        func histogram(_ s: ArraySlice<Int64>) -> TimeHistogram<CountBin> {
            var h = TimeHistogram<CountBin>(limit: 64, every: s.first ?? 0, s.last ?? 0)
            for t in s { h.bins[h.index(ofSeconds: t)].count += 1 }
            h.dropEmpty { $0.count == 0 }
            return h
        }
        let whole = histogram(starts[...])
        for cut in [1, 100, 2_500, 4_999] {
            var merged = histogram(starts[..<cut])
            merged.merge(histogram(starts[cut...]))
            #expect(merged.shift == whole.shift)
            #expect(merged.keys == whole.keys)
            #expect(merged.bins.map(\.count) == whole.bins.map(\.count))
        }
        #expect(whole.keys.count <= 64)
        #expect(whole.bins.reduce(0) { $0 + $1.count } == starts.count)
    }
}
