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

    /// CSV written elsewhere: columns in another order, an unknown column, optional
    /// columns left out, LF line ends, a blank line, quoted plain cells, labels unsorted and
    /// escaped, commands with quotes, `+5`, a CRLF inside a quoted cell.
    @Test func csvFromElsewhereReadsAsItsJobs() throws {
        let text =
            [
                "status,extra,command,name,id,labels,exitCode,reason,cpuSeconds,memoryLeakSuspected,startedAt",
                #"failed,x,"/bin/sh -c 'exit 3'",etl,1,"{""tier"":""2"",""team"":""data""}",+5,,1.5,true,2026-11-29"#,
                "",
                #"succeeded,,plain  words   here,"etl",2,"{""b"":""x\""y"",""a"":""z\u00e9""}",0,"two\#r\#nlines",,1,"#,
                #"lost,,"",b,3,,,,,0,2026-11-29T10:00:00+01:00"#,
            ].joined(separator: "\n") + "\n"
        let jobs = try JobCSV.parse(Array(text.utf8), file: "t.csv")
        var first = Job(id: 1, name: "etl", command: ["/bin/sh", "-c", "exit 3"], status: .failed)
        first.labels = ["team": "data", "tier": "2"]
        first.exitCode = 5
        first.metrics.cpuSeconds = 1.5
        first.metrics.memoryLeakSuspected = true
        first.startedAt = Timestamp.parse("2026-11-29")
        var second = Job(id: 2, name: "etl", command: ["plain", "words", "here"], status: .succeeded)
        second.labels = ["a": "z\u{e9}", "b": "x\"y"]
        second.exitCode = 0
        second.reason = "two\r\nlines"
        second.metrics.memoryLeakSuspected = true
        var third = Job(id: 3, name: "b", command: [], status: .lost)
        third.startedAt = Timestamp.parse("2026-11-29T09:00:00Z")
        #expect(jobs == [first, second, third])
        #expect(jobs.map(\.attempt) == [1, 1, 1])
        #expect(jobs.map(\.instance) == ["", "", ""])
    }

    /// The table reader gives the table the rows would make, strings pooled once.
    @Test func csvTableEqualsTheTableOfItsJobs() throws {
        let jobs = (1...300).map(TestJobs.full)
        var text = JobCSV.header
        for job in jobs { text += JobCSV.row(job) }
        let table = try JobCSV.table(Array(text.utf8), file: "t.csv")
        #expect(table.count == 300)
        #expect(table.jobs == JobTable(jobs).jobs)
        #expect(table.strings.count == JobTable(jobs).strings.count)
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
        #expect(JobCSV.columns.count == 44)
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
        (
            "id,name,command,status,pid\r\n1,a,b,failed,99999999999999999999\r\n",
            "column 'pid' is '99999999999999999999'"
        ),
        (
            "id,name,command,status,cpuSeconds\r\n1,a,b,failed,1.2.3\r\n",
            "column 'cpuSeconds' is '1.2.3', expected a number"
        ),
        ("id,name,command,status,cpuSeconds\r\n1,a,b,failed, 5\r\n", "column 'cpuSeconds' is ' 5'"),
        ("id,name,command,status,cpuSeconds\r\n1,a,b,failed,inf\r\n", "column 'cpuSeconds' is 'inf'"),
        ("id,name,command,status,memoryLeakSuspected\r\n1,a,b,failed,yes\r\n", "expected true or false"),
        ("id,name,command,status,labels\r\n1,a,b,failed,{\"\"a\"\":1}\r\n", "expected a JSON object of strings"),
        ("id,name,command,status\r\n1,,b,failed\r\n", "line 2: 'name' is empty"),
        ("id,name,command,status\r\n1,a,'b,failed\r\n", "expected shell-quoted words"),
        ("id,name,command,status\n1,a,b,failed\n2,a,\"b\"x,failed\n", "line 3: text after a closing quote"),
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

    /// The JSON Lines reader's fast path gives what `JSONDecoder` gives, line by line: escapes
    /// (surrogate pairs too), nulls, keys left out or unknown (with nested values), numbers
    /// in every JSON form, keys given twice, CRLF; the lines it leaves to the decoder too.
    @Test(arguments: [
        #"{"id":1,"name":"a","command":["x"],"status":"failed"}"#,
        #"{ "status" : "succeeded" , "command" : [ ] , "name" : "n\"q\\\/\b\f\n\r\t" , "id" : 7 }"#,
        #"{"id":2,"name":"\u00e9\ud83d\ude00","command":["a b","\u0041"],"status":"lost","labels":{"k\u0031":"v","a":"z"}}"#,
        #"{"id":3,"name":"a","command":[],"status":"running","instance":null,"labels":null,"metrics":null,"attempt":null}"#,
        #"{"id":4,"name":"a","command":[],"status":"failed","extra":{"x":[1,2.5e3,{"y":null}],"z":true},"cwd":"/w"}"#,
        #"{"id":5,"name":"a","command":[],"status":"failed","durationSeconds":1.5e2,"timeoutSeconds":-0.25,"exitCode":-3}"#,
        #"{"id":6,"name":"a","command":[],"status":"failed","metrics":{"cpuSeconds":2,"memoryLeakSuspected":true,"rssBytesMax":5,"nope":[],"sampleCount":null}}"#,
        #"{"id":7,"name":"a","command":[],"status":"failed","startedAt":"2026-11-29T10:00:00.5+01:00","endedAt":null}"#,
        #"{"id":8,"name":"a","command":[],"status":"failed","attempt":2.0}"#,
        #"{"id":9,"name":"a","command":[],"status":"failed","name":"b"}"#,
        #"{"id":10,"name":"a","command":[],"status":"failed","metrics":{"cpuSeconds":1,"cpuSeconds":2}}"#,
        "{\"id\":11,\"name\":\"a\",\"command\":[],\"status\":\"failed\"}\r",
        #"{"id":12,"name":"a","command":[],"status":"failed","labels":{"b":"1","a":"2"},"queue":"q","reason":"r"}"#,
    ])
    func jsonLinesFastPathMatchesTheDecoder(line: String) throws {
        let expected = try JSONDecoder().decode(Job.self, from: Data(line.utf8))
        #expect(try JobJSONLines.parse(Array((line + "\n").utf8), file: "t.jsonl") == [expected])
    }

    @Test(arguments: [
        (#"{"id":1,"name":"a","command":[],"status":"exploded"}"#, "'status'"),
        (#"{"id":1,"name":"a","command":[]}"#, "missing field 'status'"),
        (#"{"id":1,"name":"a","command":[],"status":"failed","pid":"x"}"#, "'pid'"),
        (#"{"id":1,"name":"a","command":[],"status":"failed","startedAt":"yesterday"}"#, "'startedAt'"),
        (#"{"id":1,"name":"a","command":[],"status":"failed""#, "not valid JSON"),
        (#"{"id":1,"name":"a","command":[],"status":"failed"} x"#, "not valid JSON"),
        (#"{"id":1,"name":"a\ud800","command":[],"status":"failed"}"#, "line 1"),
        (#"{"id":+1,"name":"a","command":[],"status":"failed"}"#, "not valid JSON"),
    ])
    func jsonLinesBadDataNamesTheProblem(line: String, expected: String) {
        #expect {
            try JobJSONLines.parse(Array((line + "\n").utf8), file: "in.jsonl")
        } throws: { error in
            let e = error as? JobFileError
            return e?.code == .badData && e!.message.hasPrefix("in.jsonl line 1: ") && e!.message.contains(expected)
        }
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
