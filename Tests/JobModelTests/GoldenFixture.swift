import Foundation
import Testing

@testable import JobModel

/// Writes the golden fixtures when `JOBMODEL_WRITE_GOLDEN` names a directory; run once
/// per format version: `JOBMODEL_WRITE_GOLDEN=Tests/JobModelTests/Fixtures swift test --filter GoldenFixture`.
struct GoldenFixture {
    @Test func writeGoldenFiles() throws {
        guard let dir = ProcessInfo.processInfo.environment["JOBMODEL_WRITE_GOLDEN"] else { return }
        let jobs =
            (1...60).map(TestJobs.full)
            + HistorySynthesizer(seed: 3, jobCount: 60, days: 2).generate().jobs
            .map { job in
                var j = job
                j.id += 1000
                j.parentId = j.parentId.map { $0 + 1000 }
                j.retriedBy = j.retriedBy.map { $0 + 1000 }
                return j
            }
        let encoder = JobJSONLines.makeEncoder()
        var data = Data()
        for job in jobs { data += try JobJSONLines.line(job, encoder: encoder) }
        try data.write(to: URL(fileURLWithPath: dir + "/golden-v1.jsonl"))
        var writer = try SnapshotWriter(
            path: dir + "/golden-v1.jrsnap",
            info: SnapshotInfo(managerVersion: "0.1.0", instance: "golden", createdAt: TestJobs.monday),
            batchRecords: 50
        )
        for job in jobs { try writer.append(job) }
        _ = try writer.finish()
    }
}
