import Foundation
import Testing

@testable import JobModel

/// Pattern rules: what a file may say, and what a rule counts.
struct RulePatternTests {
    static let options = AnalysisOptions(timeZone: TimeZone(identifier: "UTC")!)

    static func rules(_ json: String) throws -> [PatternRule] {
        try PatternRule.parse(Data(json.utf8), source: "rules.json")
    }

    @Test(arguments: [
        (#"{"id":"x","groupBy":"name"}"#, "must be a JSON list"),
        (#"[1]"#, "rule 1 is not an object"),
        (#"[{"id":"x","groupBy":"name","colour":1}]"#, "rule 1: 'colour' is not a rule key"),
        (#"[{"groupBy":"name"}]"#, "rule 1: missing field 'id'"),
        (#"[{"id":"Bad Id","groupBy":"name"}]"#, "'id' must be kebab-case"),
        (#"[{"id":"name","groupBy":"name"}]"#, "'id' is a built-in pattern's"),
        (#"[{"id":"a","groupBy":"name"},{"id":"a","groupBy":"cwd"}]"#, "rule 2 ('a'): 'id' is used twice"),
        (#"[{"id":"a","groupBy":"cpuSeconds"}]"#, "'groupBy' 'cpuSeconds' is not a field to group by"),
        (#"[{"id":"a","groupBy":"name","filter":[{"field":"colour","equals":"x"}]}]"#, "'field' 'colour' is unknown"),
        (#"[{"id":"a","groupBy":"name","filter":[{"field":"name"}]}]"#, "tests nothing"),
        (#"[{"id":"a","groupBy":"name","share":[{"field":"cwd","above":1}]}]"#, "'cwd' is not a number"),
        (#"[{"id":"a","groupBy":"name","share":[]}]"#, "'share' is an empty list"),
    ])
    func badRulesAreRefusedNamingTheRule(json: String, expected: String) {
        #expect {
            try Self.rules(json)
        } throws: { error in
            let message = (error as? PatternRuleError)?.message ?? ""
            return message.hasPrefix("rules.json") && message.contains(expected)
        }
    }

    /// A label's success rate per value, against the jobs that have the label; jobs
    /// without it and jobs the filter drops are left out.
    @Test func aLabelRuleCountsItsGroups() throws {
        var jobs: [Job] = []
        for i in 0..<60 {
            var job = TestJobs.job(
                i + 1,
                i < 50 ? "etl-\(i % 2)" : "web",
                (i < 20 ? i < 15 : i % 10 == 0) ? .failed : .succeeded
            )
            if i < 50 { job.labels = ["team": i < 20 ? "data" : "ops"] }
            jobs.append(job)
        }
        let rule = try #require(
            try Self.rules(#"[{"id":"team","groupBy":"label:team","filter":[{"field":"name","matches":"etl-?"}]}]"#)
                .first
        )
        let table = JobTable(jobs)
        let findings = RulePattern(rule: rule, options: Self.options).evaluate(table, baseline: Baseline(table))
        #expect(findings.map(\.group) == ["data", "ops"])
        let data = findings[0]
        #expect(data.matchCount == 20 && data.hitCount == 5 && data.successRate == 0.25)
        // The baseline is the filtered jobs': 50 etl jobs, 15 + 3 failed.
        #expect(data.baselineValue == 32.0 / 50.0)
        #expect(data.pValue == Statistics.proportionPValue(5, 20, 27, 30))
        #expect(data.significant)
        #expect(data.name == "label team is 'data'")
    }

    /// `share`: the share of each group's jobs meeting every condition.
    @Test func aShareRuleCountsItsCondition() throws {
        var jobs: [Job] = []
        for i in 0..<80 {
            jobs.append(
                TestJobs.job(
                    i + 1,
                    i < 40 ? "slow" : "fast",
                    .succeeded,
                    duration: i < 40 ? (i < 30 ? 900 : 10) : (i < 42 ? 700 : 5)
                )
            )
        }
        let rule = try #require(
            try Self.rules(#"[{"id":"long","groupBy":"name","share":[{"field":"durationSeconds","above":600}]}]"#).first
        )
        let table = JobTable(jobs)
        let findings = RulePattern(rule: rule, options: Self.options).evaluate(table, baseline: Baseline(table))
        let slow = try #require(findings.first { $0.group == "slow" })
        #expect(slow.metric == "conditionShare" && slow.hitCount == 30 && slow.matchCount == 40 && slow.value == 0.75)
        #expect(slow.baselineValue == 32.0 / 80.0)
        #expect(slow.significant)
        #expect(findings.first { $0.group == "fast" }?.significant == false)
    }

    /// Rules run with the suite and are chosen with `pattern` like built-in ones.
    @Test func rulesRunInTheSuite() throws {
        let rules = try Self.rules(#"[{"id":"by-status","groupBy":"status"}]"#)
        let (options, patterns) = try AnalysisOptions.make(
            timeZone: "UTC",
            showAll: true,
            patterns: ["by-status"],
            rules: rules
        )
        let report = Analysis.run(JobTable((1...10).map { TestJobs.job($0) }), options: options, patterns: patterns)
        // Only the rule ran, and it did run (every group listed: it found one).
        #expect(report.patterns.map(\.pattern) == ["by-status"])
        #expect(report.patterns.first?.group == "succeeded")
        #expect(throws: AnalysisOptionsError.self) {
            try AnalysisOptions.make(timeZone: "UTC", patterns: ["by-status"])
        }
    }

    @Test(arguments: [
        ("etl-*", "etl-daily", true), ("etl-*", "etl", false), ("*-daily", "etl-daily", true),
        ("e?l*", "etl-x", true), ("*", "", true), ("a*b*c", "axxbyyc", true), ("a*b*c", "axxbyy", false),
    ])
    func globs(pattern: String, text: String, matches: Bool) {
        #expect(Glob.matches(pattern, text) == matches)
    }
}
