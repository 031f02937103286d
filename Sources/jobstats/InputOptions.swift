import ArgumentParser
import CSystemSupport
import Foundation
import JobModel

#if canImport(Glibc)
import Glibc
#endif

/// Inputs and the time window every reading subcommand takes.
struct InputOptions: ParsableArguments {
    @Argument(help: "Snapshot (.jrsnap), CSV (.csv) or JSON Lines (.jsonl) files; several are merged.")
    var inputs: [String] = []

    @Option(help: "Only jobs started at or after this time (RFC 3339, or a date such as 2026-01-31).")
    var since: String?

    @Option(help: "Only jobs started before this time (RFC 3339, or a date).")
    var until: String?

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("Please give at least one INPUT file.") }
        if let since, Timestamp.parseMicros(since) == nil {
            throw ValidationError(
                "--since '\(since)' is not a time; use RFC 3339 such as 2026-01-31T20:00:00Z or a date."
            )
        }
        if let until, Timestamp.parseMicros(until) == nil {
            throw ValidationError(
                "--until '\(until)' is not a time; use RFC 3339 such as 2026-01-31T20:00:00Z or a date."
            )
        }
    }

    /// Keeps memory freed by one batch for the next instead of unmapping and faulting it
    /// in again (a third of load time otherwise): large blocks come from the heap, and the
    /// heap is not trimmed. jobstats is short-lived, so holding on to it costs nothing.
    static func keepFreedMemory() {
        csys_keep_freed_memory()
    }

    /// Loads and merges the inputs, each in the time window.
    func load() throws -> (table: JobTable, infos: [SnapshotInfo]) {
        var merged = JobTable()
        var infos: [SnapshotInfo] = []
        try forEachInput { table, info in
            if let info { infos.append(info) }
            if inputs.count == 1 { merged = table } else { merged.append(contentsOf: table) }
        }
        return (merged, infos)
    }

    /// Passes each input, loaded and windowed, and its snapshot header to `body`, one at a
    /// time: memory holds one input's jobs (and what `body` keeps), however many inputs
    /// there are.
    func forEachInput(_ body: (JobTable, SnapshotInfo?) -> Void) throws {
        Self.keepFreedMemory()
        let showProgress = isatty(2) == 1
        let lower = since.flatMap { Timestamp.parseMicros($0) }
        let upper = until.flatMap { Timestamp.parseMicros($0) }
        for (i, path) in inputs.enumerated() {
            let loaded = try Diagnostics.mapErrors {
                try JobFiles.load(path) { done, total in
                    guard showProgress else { return }
                    let which = inputs.count > 1 ? " (\(i + 1)/\(inputs.count))" : ""
                    Diagnostics.progress("reading \(path)\(which): \(done)/\(total) jobs")
                }
            }
            if showProgress { Diagnostics.progress("") }
            body(Self.window(loaded.table, from: lower, before: upper), loaded.info)
        }
    }

    /// The jobs started in [`lower`, `upper`) (microseconds; `nil`: open); with a bound,
    /// jobs that never started are left out.
    static func window(_ table: JobTable, from lower: Int64?, before upper: Int64?) -> JobTable {
        guard lower != nil || upper != nil else { return table }
        return table.filter { row in
            let t = table.startedAt[row]
            guard t != JobTable.nullInt else { return false }
            if let lower, t < lower { return false }
            if let upper, t >= upper { return false }
            return true
        }
    }
}
