import Foundation
import Testing

@testable import JobModel

struct FormatTests {
    @Test(arguments: [
        ["/bin/sh", "-c", "echo 'hi there'; exit 3"],
        ["a b", "", "it's", "\"q\"", "back\\slash", "$HOME", "tab\tand\nnewline", "ünïcode"],
        [],
    ])
    func shellQuotingRoundTrips(argv: [String]) {
        #expect(ShellQuoting.split(ShellQuoting.join(argv)) == argv)
    }

    @Test func shellSplitReadsDoubleQuotesAndEscapes() {
        #expect(ShellQuoting.split(#"cmd "a \"b\" c" d\ e 'f g'"#) == ["cmd", "a \"b\" c", "d e", "f g"])
        #expect(ShellQuoting.split("unterminated 'quote") == nil)
    }

    @Test func csvRoundTripsEveryField() throws {
        let jobs = (1...200).map(TestJobs.full)
        var text = JobCSV.header
        for job in jobs { text += JobCSV.row(job) }
        let parsed = try JobCSV.parse(Array(text.utf8), file: "t.csv")
        #expect(parsed == jobs)
    }

    /// The one list of metrics names every stored property of JobMetrics, in order: a
    /// metric added to the record without its `MetricColumn` case fails here.
    @Test func metricColumnsListEveryMetric() {
        let properties = Mirror(reflecting: JobMetrics()).children.compactMap(\.label)
        #expect(MetricColumn.allCases.map(\.rawValue) == properties)
        // Each column reads and writes its own property (a wrong key path shows as a mismatch).
        let job = TestJobs.full(977)
        var table = JobTable()
        table.append(job)
        #expect(table[0].metrics == job.metrics)
        let json = try? JSONSerialization.jsonObject(with: Data(JobJSON.encode(job))) as? [String: Any]
        let metrics = json?["metrics"] as? [String: Any]
        #expect(metrics?.count == MetricColumn.allCases.count)
        #expect((metrics?["memoryPeakBytes"] as? Int) == job.metrics.memoryPeakBytes)
        #expect((metrics?["stalledSeconds"] as? Double) == job.metrics.stalledSeconds)
    }

    @Test func csvHeaderIsTheFieldNamesWithMetricsFlattened() {
        #expect(JobCSV.columns.first == "id")
        #expect(JobCSV.columns.contains("cpuPercentMax"))
        #expect(!JobCSV.columns.contains("metrics"))
        #expect(JobCSV.columns.count == 42)
        #expect(JobCSV.columns.last == "memoryPeakBytes")
    }

    @Test func csvCommandIsShellQuotedAndLabelsAreJSON() {
        var job = TestJobs.job(1)
        job.command = ["/bin/sh", "-c", "exit 3"]
        job.labels = ["team": "data"]
        let row = JobCSV.row(job)
        #expect(row.contains("/bin/sh -c 'exit 3'"))
        #expect(row.contains(#""{""team"":""data""}""#))
    }

    @Test(arguments: [
        ("id,name,command\r\n1,a,x\r\n", "no 'status' column"),
        ("id,name,command,status\r\n1,a,x,exploded\r\n", "column 'status' is 'exploded'"),
        ("id,name,command,status\r\nx,a,b,failed\r\n", "line 2: column 'id' is 'x'"),
        ("id,name,command,status\r\n1,a,b\r\n", "line 2: 3 cells"),
        ("id,name,command,status\r\n1,a,\"b,failed\r\n", "never closed"),
        ("id,name,command,status,startedAt\r\n1,a,b,failed,yesterday\r\n", "column 'startedAt'"),
    ])
    func csvBadDataNamesTheProblem(text: String, expected: String) {
        #expect {
            try JobCSV.parse(Array(text.utf8), file: "in.csv")
        } throws: { error in
            let e = error as? JobFileError
            return e?.code == .badData && e!.message.contains(expected) && e!.message.contains("in.csv")
        }
    }

    @Test func jsonLinesRoundTripsEveryField() throws {
        let jobs = (1...200).map(TestJobs.full)
        let encoder = JobJSONLines.makeEncoder()
        var data = Data()
        for job in jobs { data += try JobJSONLines.line(job, encoder: encoder) }
        #expect(try JobJSONLines.parse(Array(data), file: "t.jsonl") == jobs)
    }

    @Test func jsonHasEveryKeyAndRFC3339Times() throws {
        let job = TestJobs.job(7, "etl", .running, duration: nil)
        let text = String(decoding: try JobJSONLines.makeEncoder().encode(job), as: UTF8.self)
        #expect(text.contains(#""startedAt":"2026-01-05T00:00:00.000000Z""#))
        #expect(text.contains(#""endedAt":null"#))
        #expect(text.contains(#""status":"running""#))
        #expect(text.contains(#""cpuPercentAvg":0"#))
    }

    @Test func jsonLinesErrorsNameTheLine() {
        let text = "{\"id\":1,\"name\":\"a\",\"command\":[],\"status\":\"failed\"}\n\n{\"id\":\"x\"}\n"
        #expect {
            try JobJSONLines.parse(Array(text.utf8), file: "in.jsonl")
        } throws: { error in
            (error as? JobFileError)?.message.hasPrefix("in.jsonl line 3:") == true
        }
    }

    @Test func tableRoundTripsAndMerges() {
        let jobs = (1...50).map(TestJobs.full)
        let table = JobTable(jobs)
        #expect(table.jobs == jobs)
        var merged = JobTable(jobs[..<20])
        merged.append(contentsOf: JobTable(jobs[20...]))
        #expect(merged.jobs == jobs)
        let odd = table.filter { table.id[$0] % 2 == 1 }
        #expect(odd.jobs == jobs.filter { $0.id % 2 == 1 })
    }
}

@Suite struct JobJSONTests {
    /// The hand-written encoder gives JSONEncoder's bytes, on a synthesized history and on
    /// awkward values.
    @Test func matchesJSONEncoderByteForByte() throws {
        let encoder = JobJSONLines.makeEncoder()
        var jobs = HistorySynthesizer(seed: 3, jobCount: 5_000).generate().jobs
        var odd = jobs[0]
        odd.labels = ["b": "1", "A": "2", "a": "3", "_x": "4", "é": "5", "Z1": "6"]
        odd.command = ["a\u{1}\u{8}\u{c}\n\r\t\"\\/\u{7f}\u{2028}é", ""]
        odd.cwd = nil
        odd.reason = "x/y"
        odd.durationSeconds = 1e-7
        odd.metrics.cpuPercentAvg = 1.2345678901234568e17
        odd.metrics.rssTrendBytesPerSecond = -0.0
        odd.metrics.stalledSeconds = .nan
        jobs.append(odd)
        for job in jobs {
            let expected = try encoder.encode(job)
            let actual = JobJSON.encode(job)
            #expect(Array(expected) == actual, "\(String(decoding: actual, as: UTF8.self))")
            if Array(expected) != actual { break }
        }
    }
}
