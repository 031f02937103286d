import Foundation
import JobModel

/// Small factories for hand-built histories.
enum TestJobs {
    /// 2026-01-05T00:00:00Z, a Monday.
    static let monday = Date(timeIntervalSince1970: 1_767_571_200)

    static func job(
        _ id: Int,
        _ name: String = "job",
        _ status: JobStatus = .succeeded,
        at start: Date? = monday,
        duration: Double? = 1,
        exitCode: Int? = nil,
        signal: Int? = nil,
        attempt: Int = 1,
        parentId: Int? = nil,
        retriedBy: Int? = nil,
        metrics: JobMetrics = JobMetrics()
    ) -> Job {
        Job(
            id: id,
            instance: "test",
            name: name,
            command: ["/bin/true"],
            status: status,
            startedAt: start,
            endedAt: start.flatMap { s in duration.map { s.addingTimeInterval($0) } },
            durationSeconds: duration,
            exitCode: exitCode ?? (status == .succeeded ? 0 : status == .failed ? 1 : nil),
            signal: signal,
            attempt: attempt,
            parentId: parentId,
            retriedBy: retriedBy,
            metrics: metrics
        )
    }

    /// A job with every field set, including awkward text.
    static func full(_ id: Int) -> Job {
        Job(
            id: id,
            instance: "host-1",
            name: "etl-daily:\(id % 7)",
            command: ["/usr/bin/env", "sh", "-c", "echo 'it''s', \"quoted\"\nnext line; exit \(id % 5)", ""],
            cwd: id % 3 == 0 ? nil : "/srv/jobs dir,\"x\"",
            labels: id % 2 == 0 ? [:] : ["team": "data, eng", "tier": "1\n2", "ünï": "cödé"],
            status: JobStatus.allCases[id % JobStatus.allCases.count],
            pid: id % 4 == 0 ? nil : 1000 + id,
            startedAt: id % 5 == 0 ? nil : Timestamp.date(micros: 1_767_571_200_000_000 + Int64(id) * 1_234_567),
            endedAt: id % 6 == 0 ? nil : Timestamp.date(micros: 1_767_571_300_000_000 + Int64(id) * 1_234_567 + 17),
            durationSeconds: id % 6 == 0 ? nil : Double(id) * 0.123_456_789,
            exitCode: id % 3 == 1 ? nil : -2 + id % 300,
            signal: id % 4 == 1 ? 9 : nil,
            reason: id % 8 == 3 ? "lost: manager restarted, exit record missing" : nil,
            attempt: 1 + id % 3,
            parentId: id % 3 == 0 ? nil : id - 1,
            retriedBy: id % 5 == 1 ? id + 1 : nil,
            // Workflow fields: only in later batches too (their columns are then absent).
            queue: id > 500 && id % 4 == 2 ? "lane \(id % 3)" : nil,
            rerunOf: id % 11 == 0 ? id / 2 : nil,
            scheduleId: id > 900 ? id % 3 + 1 : nil,
            timeoutSeconds: id % 7 == 0 ? Double(id) / 4 : nil,
            maxRssBytes: id > 300 && id % 5 == 0 ? id << 20 : nil,
            retries: id > 600 ? id % 4 : nil,
            // Failure signatures: only in some batches (absent columns read as null).
            errorTail: id > 200 && id % 6 == 1
                ? "Traceback (most recent call last):\n  \"/srv/x.py\", line \(id)\r\nValueError: bad, \"\(id)\"\n"
                : nil,
            errorSignature: id > 200 && id % 6 == 1 ? "ValueError: bad, \"<n>\"" : nil,
            metrics: JobMetrics(
                sampleCount: id % 100,
                cpuPercentAvg: Double(id % 1000) / 10,
                cpuPercentMax: Double(id) * 1.000_000_1,
                cpuSeconds: 1.0 / Double(id + 1),
                rssBytesAvg: id * 4096,
                rssBytesMax: id * 8192 + 1,
                rssTrendBytesPerSecond: -Double(id) * 3.5,
                memoryLeakSuspected: id % 9 == 0,
                ioOpsPerSecondAvg: Double(id % 50),
                ioOpsPerSecondPeak: Double(id % 50) * 7.25,
                ioReadBytes: id << 20,
                ioWriteBytes: Int.max - id,
                netConnectionsPerSecondAvg: 0.001 * Double(id % 13),
                netConnectionsPerSecondPeak: .pi * Double(id % 3),
                netConnectionsTotal: id % 77,
                stalledSeconds: Double(id % 400),
                processCountMax: id % 12,
                leftoverProcesses: id % 4,
                memoryPeakBytes: id % 10 < 7 ? 0 : id * 65_536 + 3
            )
        )
    }
}
