import Foundation
import Testing

@testable import JobModel

/// Mutated and truncated real snapshots give a clean `SnapshotError` or the whole
/// history, never a crash or a hang. CI runs a fixed seed; `scripts/fuzz-snapshot.sh` runs
/// longer with `JOBMODEL_FUZZ_CASES` and `JOBMODEL_FUZZ_SEED`.
struct SnapshotFuzzTests {
    @Test func mutatedSnapshotsFailCleanly() throws {
        let environment = ProcessInfo.processInfo.environment
        let cases = environment["JOBMODEL_FUZZ_CASES"].flatMap(Int.init) ?? 3000
        var random = HistorySynthesizer.Random(state: environment["JOBMODEL_FUZZ_SEED"].flatMap(UInt64.init) ?? 42)
        let path = SnapshotTests.temporaryPath()
        var writer = try SnapshotWriter(path: path, info: SnapshotTests.info, batchRecords: 40)
        for id in 1...100 { try writer.append(TestJobs.full(id)) }
        _ = try writer.finish()
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let fuzzed = path + ".fuzz"
        var failures = 0
        var wholes = 0
        for _ in 0..<cases {
            var bytes = original
            switch Int.random(in: 0..<4, using: &random) {
            case 0:  // flip a few bytes
                for _ in 0..<Int.random(in: 1...8, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            case 1:  // truncate
                bytes.removeLast(Int.random(in: 1..<bytes.count, using: &random))
            case 2:  // insert garbage
                let at = Int.random(in: 0...bytes.count, using: &random)
                bytes.insert(
                    contentsOf: (0..<Int.random(in: 1...64, using: &random)).map { _ in
                        UInt8.random(in: 0...255, using: &random)
                    },
                    at: at
                )
            default:  // delete a run
                let at = Int.random(in: 0..<bytes.count, using: &random)
                bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...64, using: &random)))
            }
            try Data(bytes).write(to: URL(fileURLWithPath: fuzzed))
            do {
                let (_, table) = try SnapshotReader.load(path: fuzzed)
                #expect(table.count == 100, "a damaged file never loads as a partial history")
                // Whatever loaded must also print.
                if table.count > 0 { _ = try JobJSONLines.makeEncoder().encode(table[table.count - 1]) }
                wholes += 1
            } catch {
                #expect((error as? SnapshotError)?.message.contains(fuzzed) == true, "\(error)")
                failures += 1
            }
        }
        #expect(failures > cases / 2)
        #expect(failures + wholes == cases)
    }
}
