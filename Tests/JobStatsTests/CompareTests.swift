import Foundation
import JobModel
import Testing

/// `jobstats compare` as a CI gate runs it.
@Suite(.timeLimit(.minutes(2)))
struct CompareTests {
    /// A JSON Lines history: `count` jobs of each name, the first `rate` of them succeeding.
    static func write(_ rates: [String: Double], to url: URL, start: Date, count: Int = 100) throws {
        var lines = ""
        var id = 1
        for (name, rate) in rates.sorted(by: { $0.key < $1.key }) {
            for i in 0..<count {
                let ok = Double(i) < rate * Double(count)
                let job = TestJob.make(id, name, ok, start.addingTimeInterval(Double(id) * 60))
                lines += String(decoding: JobJSON.encode(job), as: UTF8.self) + "\n"
                id += 1
            }
        }
        try Data(lines.utf8).write(to: url)
    }

    enum TestJob {
        static func make(_ id: Int, _ name: String, _ ok: Bool, _ start: Date) -> Job {
            Job(
                id: id,
                instance: "ci",
                name: name,
                command: ["/bin/true"],
                status: ok ? .succeeded : .failed,
                startedAt: start,
                endedAt: start.addingTimeInterval(1),
                durationSeconds: 1,
                exitCode: ok ? 0 : 2
            )
        }
    }

    @Test func aWorseNameFailsTheGateAndABetterOneDoesNot() throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let before = dir.appendingPathComponent("before.jsonl")
        let after = dir.appendingPathComponent("after.jsonl")
        let monday = Date(timeIntervalSince1970: 1_767_571_200)
        try Self.write(["load": 0.9, "sync": 0.9], to: before, start: monday)
        try Self.write(["load": 0.5, "sync": 0.9], to: after, start: monday.addingTimeInterval(7 * 86_400))

        let table = try CLI.run(["compare", before.path, after.path])
        #expect(table.status == 0, "without --fail-on the gate is open: \(table.stderr)")
        #expect(table.stdout.contains("worse  Job name is 'load': successRate 90 % -> 50 %"), "\(table.stdout)")
        #expect(!table.stdout.contains("'sync'"))
        let gate = try CLI.run(["compare", before.path, after.path, "--fail-on", "worse"])
        #expect(gate.status == 1)
        let improved = try CLI.run(["compare", after.path, before.path, "--fail-on", "worse"])
        #expect(improved.status == 0 && improved.stdout.contains("better"))

        let json = try CLI.run(["compare", before.path, after.path, "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let changes = try #require(object["changes"] as? [[String: Any]])
        #expect(changes.contains { $0["group"] as? String == "load" && $0["direction"] as? String == "worse" })
        let csv = try CLI.run(["compare", before.path, after.path, "--format", "csv"])
        #expect(csv.stdout.hasPrefix("pattern,group,name,metric,before,after,"))

        // One history split in time gives the same answer.
        let merged = dir.appendingPathComponent("merged.jsonl")
        let both =
            try String(contentsOf: before, encoding: .utf8)
            + String(contentsOf: after, encoding: .utf8)
            .split(separator: "\n").map { line -> String in
                // Renumber the second week's ids after the first's.
                var object = try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                object["id"] = (object["id"] as! Int) + 1_000
                return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
            }.joined(separator: "\n") + "\n"
        try Data(both.utf8).write(to: merged)
        let split = try CLI.run([
            "compare", merged.path, "--before-until", "2026-01-12", "--after-since", "2026-01-12", "--fail-on", "worse",
        ])
        #expect(split.status == 1, "\(split.stdout)\(split.stderr)")
        #expect(split.stdout.contains("'load'"))
    }

    @Test func badUsageIs64() throws {
        let sample = CLI.packageRoot.appendingPathComponent("samples/synth-small.jrsnap").path
        #expect(try CLI.run(["compare", sample]).status == 64)
        #expect(try CLI.run(["compare", sample, sample, sample]).status == 64)
        #expect(try CLI.run(["compare", sample, "--before-until", "soon", "--after-since", "2026-01-01"]).status == 64)
        #expect(try CLI.run(["compare", sample, sample, "--before-until", "2026-01-01"]).status == 64)
        #expect(try CLI.run(["compare", sample, sample, "--fail-on", "better"]).status == 64)
        #expect(try CLI.run(["compare", sample, "/nonexistent.jrsnap"]).status == 66)
        let same = try CLI.run(["compare", sample, sample, "--fail-on", "worse"])
        #expect(same.status == 0 && same.stdout.contains("No group changed significantly"))
    }
}
