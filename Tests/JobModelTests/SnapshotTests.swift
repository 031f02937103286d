import Foundation
import Testing

@testable import JobModel

struct SnapshotTests {
    static let info = SnapshotInfo(
        managerVersion: "9.9.9-test",
        instance: "host-1",
        createdAt: Date(timeIntervalSince1970: 1_767_571_200.25)
    )

    static func temporaryPath(_ name: String = "s.jrsnap") -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jobmodel-tests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    @Test func roundTripsEveryFieldAcrossBatches() throws {
        let jobs = (1...1000).map(TestJobs.full)
        let path = Self.temporaryPath()
        var writer = try SnapshotWriter(path: path, info: Self.info, batchRecords: 97)
        for job in jobs { try writer.append(job) }
        let written = try writer.finish()
        #expect(written.recordCount == 1000)
        #expect(written.batchCount == 11)
        let (info, table) = try SnapshotReader.load(path: path)
        #expect(info == written)
        #expect(try SnapshotReader.info(path: path) == written, "the header alone reads the same")
        #expect(info.managerVersion == "9.9.9-test")
        #expect(info.instance == "host-1")
        #expect(info.createdAt == Self.info.createdAt)
        #expect(table.jobs == jobs)
        let leftovers = try FileManager.default.contentsOfDirectory(
            atPath: (path as NSString).deletingLastPathComponent
        )
        #expect(leftovers == ["s.jrsnap"], "no temporary file left behind")
    }

    @Test func roundTrips100kSyntheticJobs() throws {
        let table = HistorySynthesizer(seed: 7, jobCount: 100_000, days: 10).generate()
        let path = Self.temporaryPath()
        let written = try SnapshotWriter.write(table, to: path, info: Self.info)
        #expect(written.recordCount == 100_000)
        #expect(written.batchCount == 2)
        let loaded = try SnapshotReader.load(path: path).table
        #expect(loaded.count == table.count)
        #expect(loaded.id == table.id)
        #expect(loaded.startedAt == table.startedAt)
        #expect(loaded.endedAt == table.endedAt)
        #expect(loaded.cpuPercentAvg == table.cpuPercentAvg)
        #expect(loaded.retriedBy == table.retriedBy)
        for row in stride(from: 0, to: table.count, by: 997) {
            #expect(loaded[row] == table[row])
        }
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        #expect(size < 100_000 * 80, "columnar + zstd stays well under 80 bytes a job (\(size / 100_000))")
    }

    @Test func emptySnapshot() throws {
        let path = Self.temporaryPath()
        try SnapshotWriter.write(JobTable(), to: path, info: Self.info)
        let (info, table) = try SnapshotReader.load(path: path)
        #expect(info.recordCount == 0)
        #expect(table.count == 0)
    }

    static func smallSnapshot() throws -> (path: String, bytes: [UInt8]) {
        let path = temporaryPath()
        var writer = try SnapshotWriter(path: path, info: info, batchRecords: 10)
        for id in 1...25 { try writer.append(TestJobs.full(id)) }
        _ = try writer.finish()
        return (path, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    @Test func everyTruncationIsReportedAsSuch() throws {
        let (path, bytes) = try Self.smallSnapshot()
        for length in 0..<bytes.count {
            try Data(bytes[..<length]).write(to: URL(fileURLWithPath: path))
            #expect(throws: SnapshotError.self) { try SnapshotReader.load(path: path) }
            do {
                _ = try SnapshotReader.load(path: path)
            } catch {
                #expect(
                    error.code == .truncated || error.code == .badMagic && length < 8 || error.code == .corruptData,
                    "length \(length): \(error.message)"
                )
                #expect(error.message.contains(path))
            }
        }
    }

    @Test func corruptBytesNeverCrashAndNeverLoadSilently() throws {
        let (path, bytes) = try Self.smallSnapshot()
        var random = SystemRandomNumberGenerator()
        var caught = 0
        for position in stride(from: 0, to: bytes.count, by: 3) {
            var damaged = bytes
            damaged[position] ^= UInt8.random(in: 1...255, using: &random)
            try Data(damaged).write(to: URL(fileURLWithPath: path))
            do {
                let (_, table) = try SnapshotReader.load(path: path)
                // A flip in a spot no check covers must still give back 25 whole jobs.
                #expect(table.count == 25)
            } catch {
                caught += 1
                #expect(error.message.contains(path))
            }
        }
        #expect(caught > 0)
    }

    @Test func newerFormatVersionIsRefused() throws {
        let (path, bytes) = try Self.smallSnapshot()
        var newer = bytes
        newer[8] = 2
        try Data(newer).write(to: URL(fileURLWithPath: path))
        #expect {
            try SnapshotReader.load(path: path)
        } throws: { error in
            let e = error as! SnapshotError
            return e.code == .unsupportedVersion && e.message.contains("version 2")
        }
    }

    @Test func otherFilesAreNotSnapshots() throws {
        let path = Self.temporaryPath()
        try Data("id,name\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: SnapshotError(.badMagic, "")) { try SnapshotReader.load(path: path) }
        #expect(throws: SnapshotError(.notFound, "")) { try SnapshotReader.load(path: path + ".missing") }
        try Data().write(to: URL(fileURLWithPath: path))
        #expect(throws: SnapshotError(.truncated, "")) { try SnapshotReader.load(path: path) }
    }

    @Test func aFailedWriteLeavesThePreviousFile() throws {
        let (path, bytes) = try Self.smallSnapshot()
        do {
            var writer = try SnapshotWriter(path: path, info: Self.info)
            try writer.append(TestJobs.full(1))
            // dropped without finish(): as if the process died mid-write
        }
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) == bytes)
        let leftovers = try FileManager.default.contentsOfDirectory(
            atPath: (path as NSString).deletingLastPathComponent
        )
        #expect(leftovers == ["s.jrsnap"])
        #expect(throws: SnapshotError.self) {
            _ = try SnapshotWriter(path: "/nonexistent-dir/x.jrsnap", info: Self.info)
        }
    }

    /// The committed golden file was written by format v1 from `golden-v1.jsonl`: a change
    /// that reads it differently is a format break.
    @Test func goldenSnapshotStillReads() throws {
        let fixtures = try #require(Bundle.module.resourceURL?.appendingPathComponent("Fixtures"))
        let snapshot = fixtures.appendingPathComponent("golden-v1.jrsnap").path
        let expected = try JobJSONLines.parse(
            [UInt8](try Data(contentsOf: fixtures.appendingPathComponent("golden-v1.jsonl"))),
            file: "golden-v1.jsonl"
        )
        let (info, table) = try SnapshotReader.load(path: snapshot)
        #expect(info.formatVersion == 1)
        #expect(info.instance == "golden")
        #expect(info.recordCount == expected.count)
        #expect(table.jobs == expected)
    }
}
