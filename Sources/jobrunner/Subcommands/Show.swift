import ArgumentParser
import Foundation
import JobModel

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one job's record.",
        discussion: "Example: jobrunner show 42 (or --json for the record as the API gives it)"
    )

    @OptionGroup var service: ClientOptions
    @Flag(help: "The record as JSON.")
    var json = false
    @Argument(help: "The job id.")
    var id: Int

    func run() async throws {
        try await runClient {
            let client = try service.client()
            let reply = try await client.send(.GET, "/v1/jobs/\(id)")
            if json {
                writeOut(reply.body + Data("\n".utf8))
                return
            }
            let job = try APIClient.decode(Job.self, reply.body)
            writeOut(Array(Self.describe(job).utf8))
        }
    }

    /// The record as aligned `field: value` lines; empty fields are left out.
    static func describe(_ job: Job) -> String {
        var lines: [(String, String)] = [
            ("id", String(job.id)), ("name", job.name), ("status", job.status.rawValue),
            ("command", ShellQuoting.join(job.command)),
        ]
        func add(_ key: String, _ value: String?) { if let value { lines.append((key, value)) } }
        add("reason", job.reason)
        add("exit code", job.exitCode.map(String.init))
        add("signal", job.signal.map(String.init))
        // The last line its stderr wrote (the whole tail: `jobrunner logs --stderr`).
        add("error", job.errorTail.flatMap { $0.split(whereSeparator: \.isNewline).last.map(String.init) })
        add("signature", job.errorSignature.map(ErrorSignature.headline))
        add("cwd", job.cwd)
        add("queue", job.queue)
        add(
            "labels",
            job.labels.isEmpty
                ? nil : job.labels.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: " ")
        )
        add("started", job.startedAt.map { Timestamp.format($0) })
        add("ended", job.endedAt.map { Timestamp.format($0) })
        add("duration", job.durationSeconds.map(JobTableView.duration))
        add("attempt", job.attempt > 1 ? String(job.attempt) : nil)
        add("retry of", job.parentId.map(String.init))
        add("retried by", job.retriedBy.map(String.init))
        add("rerun of", job.rerunOf.map(String.init))
        add("schedule", job.scheduleId.map(String.init))
        add("pid", job.pid.map(String.init))
        let m = job.metrics
        add("cpu", String(format: "%.2f s, avg %.0f%%, max %.0f%%", m.cpuSeconds, m.cpuPercentAvg, m.cpuPercentMax))
        add("memory", "avg \(JobTableView.bytes(m.rssBytesAvg)), max \(JobTableView.bytes(m.rssBytesMax))")
        add("io", "read \(JobTableView.bytes(m.ioReadBytes)), written \(JobTableView.bytes(m.ioWriteBytes))")
        add("leak suspected", m.memoryLeakSuspected ? "yes" : nil)
        add("stalled", m.stalledSeconds > 0 ? String(format: "%.1f s", m.stalledSeconds) : nil)
        let width = lines.map(\.0.count).max() ?? 0
        return lines.map { $0.0 + ":" + String(repeating: " ", count: width - $0.0.count + 1) + $0.1 + "\n" }.joined()
    }
}
