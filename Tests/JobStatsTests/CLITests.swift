import ArgumentParser
import Foundation
import JobModel
import Testing

@testable import jobstats

/// Runs the built `jobstats` binary as a user would.
enum CLI {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let binary: URL = {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("jobstats")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return packageRoot.appendingPathComponent(".build/debug/jobstats")
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["SOURCE_DATE_EPOCH"] = "1767571200"
        env.merge(environment) { $1 }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self)
        )
    }

    static func temporaryDirectory() -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jobstats-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

@Suite(.timeLimit(.minutes(2)))
struct CLITests {
    /// The CI regression users copy: every snapshot in samples/ gives its recorded output.
    @Test func samplesGiveTheirRecordedAnalysis() throws {
        let samples = CLI.packageRoot.appendingPathComponent("samples")
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: samples.path).filter {
            $0.hasSuffix(".jrsnap")
        }
        #expect(!snapshots.isEmpty)
        for snapshot in snapshots {
            let base = samples.appendingPathComponent(String(snapshot.dropLast(".jrsnap".count)))
            for format in ["json", "csv"] {
                let expected = try String(contentsOf: base.appendingPathExtension("analyze.\(format)"), encoding: .utf8)
                let result = try CLI.run([
                    "analyze", samples.appendingPathComponent(snapshot).path, "--tz", "UTC", "--format", format,
                ])
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.stdout == expected, "\(snapshot) --format \(format) differs from its recorded output")
            }
        }
    }

    @Test func analyzeJSONHasTheContractShape() throws {
        let sample = CLI.packageRoot.appendingPathComponent("samples/synth-small.jrsnap").path
        let result = try CLI.run(["analyze", sample, "--tz", "UTC", "--format", "json", "--pattern", "hour-of-day"])
        #expect(result.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        #expect(Set(object.keys) == ["generatedAt", "jobCount", "baseline", "patterns"])
        #expect(object["generatedAt"] as? String == "2026-01-05T00:00:00.000000Z")
        let baseline = object["baseline"] as! [String: Any]
        #expect(Set(baseline.keys) == ["jobCount", "decidedCount", "successRate", "chainSuccessRate"])
        let patterns = object["patterns"] as! [[String: Any]]
        #expect(patterns.allSatisfy { $0["pattern"] as? String == "hour-of-day" })
        let most = try #require(patterns.first { $0["group"] as? String == "most-failures" })
        #expect(most["mostFailures"] as? [String] == ["20:00-20:59"])
        for key in [
            "group", "name", "matchCount", "decidedCount", "successRate", "differenceFromAverage",
            "relativeDifference", "pValue", "significant",
        ] {
            #expect(patterns.allSatisfy { $0.keys.contains(key) }, "every finding has \(key)")
        }
    }

    @Test func tableOutputIsReadable() throws {
        let sample = CLI.packageRoot.appendingPathComponent("samples/synth-small.jrsnap").path
        let result = try CLI.run(["analyze", sample, "--tz", "UTC"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("5000 jobs, 5000 with an outcome;"))
        #expect(result.stdout.contains("Job name starts with 'sync'"))
        #expect(result.stdout.contains("Hours with the most failures: 20:00-20:59"))
    }

    @Test func mergesInputsAndFiltersByTime() throws {
        let dir = CLI.temporaryDirectory()
        let a = dir.appendingPathComponent("a.jrsnap").path
        let b = dir.appendingPathComponent("b.csv").path
        #expect(try CLI.run(["synth", "--jobs", "300", "--seed", "1", "--instance", "host-a", "-o", a]).status == 0)
        #expect(try CLI.run(["synth", "--jobs", "200", "--seed", "2", "--instance", "host-b", "-o", b]).status == 0)
        let merged = try CLI.run(["analyze", a, b, "--format", "json", "--pattern", "status"])
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect(merged.stdout.contains("\"jobCount\" : 500"))
        let window = try CLI.run([
            "jobs", a, "--since", "2026-01-10", "--until", "2026-01-12T00:00:00Z", "--format", "jsonl",
        ])
        let lines = window.stdout.split(separator: "\n")
        #expect(!lines.isEmpty && lines.count < 300)
        let jobs = try JobJSONLines.parse(Array(window.stdout.utf8), file: "out")
        #expect(
            jobs.allSatisfy {
                $0.startedAt! >= Timestamp.parse("2026-01-10")! && $0.startedAt! < Timestamp.parse("2026-01-12")!
            }
        )
    }

    @Test func jobsExportFiltersAndConvertRoundTrips() throws {
        let dir = CLI.temporaryDirectory()
        let snapshot = dir.appendingPathComponent("h.jrsnap").path
        #expect(try CLI.run(["synth", "--jobs", "1000", "-o", snapshot]).status == 0)
        let failed = try CLI.run(["jobs", snapshot, "--status", "failed", "--name", "sync-*", "--format", "csv"])
        #expect(failed.status == 0)
        let rows = try JobCSV.parse(Array(failed.stdout.utf8), file: "out.csv")
        #expect(!rows.isEmpty)
        #expect(rows.allSatisfy { $0.status == .failed && $0.name.hasPrefix("sync-") })

        let csv = dir.appendingPathComponent("h.csv").path
        let jsonl = dir.appendingPathComponent("h.jsonl").path
        let back = dir.appendingPathComponent("back.jrsnap").path
        #expect(try CLI.run(["convert", snapshot, "-o", csv]).status == 0)
        #expect(try CLI.run(["convert", csv, "-o", jsonl]).status == 0)
        #expect(try CLI.run(["convert", jsonl, "-o", back]).status == 0)
        let original = try SnapshotReader.load(path: snapshot).table.jobs
        #expect(try SnapshotReader.load(path: back).table.jobs == original)
        let json = try CLI.run(["jobs", back, "--format", "json"])
        let array = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [Any]
        #expect(array.count == 1000)
    }

    @Test func infoShowsHeaderCountsAndSpan() throws {
        let sample = CLI.packageRoot.appendingPathComponent("samples/synth-small.jrsnap").path
        let result = try CLI.run(["info", sample, "--format", "json"])
        #expect(result.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        #expect(object["jobCount"] as? Int == 5000)
        #expect(object["formatVersion"] as? Int == 1)
        #expect(object["firstStartedAt"] as? String != nil)
        let counts = object["statusCounts"] as! [String: Int]
        #expect(counts.values.reduce(0, +) == 5000)
    }

    /// samples/patterns.json: its three rules run beside the built-in patterns.
    @Test func patternRulesRunFromAFile() throws {
        let root = CLI.packageRoot.path
        let result = try CLI.run([
            "analyze", root + "/samples/synth-small.jrsnap", "--tz", "UTC", "--format", "json", "--all",
            "--patterns", root + "/samples/patterns.json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONDecoder().decode(AnalysisReport.self, from: Data(result.stdout.utf8))
        let ids = Set(report.patterns.map(\.pattern))
        #expect(ids.isSuperset(of: ["team", "slow-runs", "etl-hours", "name"]))
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("bad-rules-\(getpid()).json").path
        try Data(#"[{"id":"x","groupBy":"colour"}]"#.utf8).write(to: URL(fileURLWithPath: bad))
        defer { try? FileManager.default.removeItem(atPath: bad) }
        let refused = try CLI.run(["analyze", root + "/samples/synth-small.jrsnap", "--patterns", bad])
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("rule 1 ('x'): 'groupBy' 'colour'"))
    }

    @Test func patternsListsEveryID() throws {
        let result = try CLI.run(["patterns"])
        for id in PatternSuite.ids { #expect(result.stdout.contains(id + " ")) }
    }

    @Test(arguments: [
        (["analyze"], Int32(64), "at least one INPUT"),
        (["analyze", "x.jrsnap", "--pattern", "nope"], 64, "--pattern 'nope' is unknown"),
        (["analyze", "x.jrsnap", "--tz", "Mars/Olympus"], 64, "--tz 'Mars/Olympus' is not a time zone"),
        (["analyze", "x.jrsnap", "--burst-factor", "0.5"], 64, "--burst-factor must be 1 or more"),
        (["analyze", "x.jrsnap", "--since", "last tuesday"], 64, "--since 'last tuesday' is not a time"),
        (["jobs", "x.jrsnap", "--status", "exploded"], 64, "Unknown status"),
        (["convert", "x.jrsnap", "-o", "out.txt"], 64, ".jrsnap, .csv or .jsonl"),
        (["analyze", "/nonexistent/x.jrsnap"], 66, "/nonexistent/x.jrsnap"),
        (["analyze", "/nonexistent/x.csv"], 66, "no such file"),
        (["frobnicate"], 64, "Unexpected argument"),
        (["analyze", "samples/synth-small.jrsnap", "--patterns", "/nonexistent/rules.json"], 66, "no such file"),
    ])
    func badInputGetsASysexitsCode(arguments: [String], status: Int32, message: String) throws {
        let result = try CLI.run(arguments)
        #expect(result.status == status, "\(result.stderr)")
        #expect(result.stderr.contains(message))
        #expect(result.stdout.isEmpty)
    }

    @Test func damagedInputIsDataError() throws {
        let dir = CLI.temporaryDirectory()
        let good = dir.appendingPathComponent("good.jrsnap").path
        #expect(try CLI.run(["synth", "--jobs", "500", "-o", good]).status == 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        let truncated = dir.appendingPathComponent("truncated.jrsnap")
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        var result = try CLI.run(["analyze", truncated.path])
        #expect(result.status == 65)
        #expect(result.stderr.contains("truncated"))
        #expect(result.stdout.isEmpty)
        bytes[bytes.count - 100] ^= 0xFF
        let corrupt = dir.appendingPathComponent("corrupt.jrsnap")
        try bytes.write(to: corrupt)
        result = try CLI.run(["analyze", corrupt.path])
        #expect(result.status == 65)
        #expect(result.stderr.hasPrefix("Error: \(corrupt.path)"))
        let csv = dir.appendingPathComponent("bad.csv")
        try Data("id,name,command,status\n1,a,b,failed\n2,a,b,weird\n".utf8).write(to: csv)
        result = try CLI.run(["analyze", csv.path])
        #expect(result.status == 65)
        #expect(result.stderr.contains("line 3"))
    }

    @Test func failedConversionLeavesNoFile() throws {
        let dir = CLI.temporaryDirectory()
        let csv = dir.appendingPathComponent("bad.csv")
        try Data("id,name,command,status\n1,a,b,weird\n".utf8).write(to: csv)
        let out = dir.appendingPathComponent("out.jrsnap")
        #expect(try CLI.run(["convert", csv.path, "-o", out.path]).status == 65)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["bad.csv"])
    }

    @Test func parsesOptions() throws {
        let command = try JobStats.Analyze.parse([
            "a.jrsnap", "b.csv", "--format", "csv", "--pattern", "name", "--all", "--min-matches", "3",
        ])
        #expect(command.input.inputs == ["a.jrsnap", "b.csv"])
        #expect(command.format == .csv)
        #expect(command.analysis.all)
        #expect(command.analysis.minMatches == 3)
        #expect(throws: (any Error).self) { try JobStats.Analyze.parse(["a.jrsnap", "--format", "xml"]) }
    }
}
