import AsyncAlgorithms
import CoreMetrics
import Foundation
import JobModel
import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Writes a snapshot every `snapshot.intervalSeconds` and on shutdown, keeps the newest
/// `snapshot.keep`, and drops the journal segments a snapshot holds.
struct SnapshotService: Service {
    let supervisor: JobSupervisor
    let journal: Journal
    let audit: AuditLog
    /// `snapshot.*`.
    let settings: SnapshotConfiguration
    let stateDirectory: String
    /// `instance`, recorded in each snapshot's header.
    let instance: String
    let logger: Logger

    var directory: String { stateDirectory + "/snapshots" }

    func run() async throws {
        let ticks = AsyncTimerSequence(
            interval: .milliseconds(Int(settings.intervalSeconds * 1000)),
            clock: .continuous
        )
        for await _ in ticks.cancelOnGracefulShutdown() {
            await snapshot(force: false)
        }
        audit.record("shuttingDown", ["pid": Int(getpid())])
        // Not when nothing changed since the last snapshot: it holds everything, and an
        // upgrade of a server with a large history is then only the new server's start.
        await snapshot(force: false)
    }

    /// Writes one snapshot now; unless `force`, only when the history changed since the last.
    func snapshot(force: Bool) async {
        let started = ContinuousClock.now
        var endedJobs: [Int] = []
        do {
            guard let cut = try await supervisor.snapshotCut(force: force) else { return }
            let (table, segment, ended, version) = (cut.table, cut.segment, cut.ended, cut.version)
            endedJobs = ended
            let digits = String(segment)
            let name = "snapshot-" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits + ".jrsnap"
            let info = try SnapshotWriter.write(
                table,
                to: directory + "/" + name,
                info: SnapshotInfo(
                    managerVersion: ProductVersion.current,
                    instance: instance,
                    createdAt: Date()
                )
            )
            ServiceMetrics.snapshotWrite.record(duration: ContinuousClock.now - started)
            if let size = try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int {
                ServiceMetrics.snapshotBytes.record(size)
            }
            // What outlives the journal segments the snapshot replaces, written before they go.
            try IdempotencyEntry.save(cut.idempotency, state: stateDirectory)
            try OutboxEntry.save(cut.outbox, state: stateDirectory)
            try EventFile.save(lastSeq: cut.lastEventSeq, events: cut.recentEvents, state: stateDirectory)
            journal.removeSegments(before: segment)
            let snapshots = Self.snapshots(in: directory)
            for old in snapshots.dropLast(settings.keep) {
                unlink(directory + "/" + old)
            }
            await supervisor.removeFilesOfEndedJobs(ended, snapshotWritten: true)
            endedJobs = []
            await supervisor.snapshotWritten(info, error: nil, version: version)
            audit.record(
                "snapshotWritten",
                ["file": name, "jobs": info.recordCount, "durationMs": milliseconds(ContinuousClock.now - started)]
            )
            logger.info(
                "Snapshot written",
                metadata: [
                    "snapshot.file": "\(name)", "snapshot.jobs": "\(info.recordCount)",
                    "duration": "\(ContinuousClock.now - started)",
                ]
            )
        } catch {
            ServiceMetrics.snapshotFailures.increment()
            await supervisor.removeFilesOfEndedJobs(endedJobs, snapshotWritten: false)
            await supervisor.snapshotWritten(nil, error: "\(error)")
            audit.record("snapshotFailed", ["error": "\(error)"])
            logger.error("Snapshot failed", metadata: ["error": "\(error)"])
        }
    }

    /// Snapshot file names, oldest first.
    static func snapshots(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("snapshot-") && $0.hasSuffix(".jrsnap") }
            .sorted()
    }

    /// The newest snapshot that reads whole; damaged ones are renamed `*.corrupt` and skipped.
    static func loadNewest(directory: String, logger: Logger) -> JobTable? {
        for name in snapshots(in: directory).reversed() {
            let path = directory + "/" + name
            do {
                return try SnapshotReader.load(path: path).table
            } catch {
                logger.error(
                    "Snapshot unreadable, using the previous one",
                    metadata: ["snapshot.file": "\(name)", "error": "\(error)"]
                )
                rename(path, path + ".corrupt")
            }
        }
        return nil
    }
}
