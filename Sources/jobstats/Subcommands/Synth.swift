import ArgumentParser
import Foundation
import JobModel

extension JobStats {
    struct Synth: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a deterministic, realistic job history with behaviours planted for the patterns.",
            discussion: """
                Planted: an evening failure peak (20:00-20:59 UTC), a leaking family (index-*), a flaky \
                family that retries rescue (sync-*), I/O bursts (backup-db), retry storms when \
                feed-gameday fails, stalls (sync-ledger), crashes (report-finance). On request \
                (--plant): failing-label (every tenth job has label region=eu-west and fails three \
                times as often), step-change (from 60 % of the history on, etl-load fails 45 % \
                instead of 7 %), new-error (error tails for every job that did not succeed, and a \
                message never seen before in etl-load's failures from the job at 92 % of --jobs on). The \
                same options always give the same file.
                """
        )

        @Option(help: "Number of jobs (retries included).")
        var jobs: Int

        @Option(help: "Days of history.")
        var days: Double = 30

        @Option(help: "Random seed.")
        var seed: UInt64 = 1

        @Option(help: "Time of the first job (RFC 3339).")
        var start: String = "2026-01-05T00:00:00Z"

        @Option(help: "Instance name recorded in the jobs.")
        var instance: String = "synth"

        @Option(name: .shortAndLong, help: "Output file (.jrsnap, .csv or .jsonl).")
        var output: String

        @Option(
            help: ArgumentHelp(
                "A behaviour to plant as well (repeatable): \(HistorySynthesizer.Plant.allCases.map(\.rawValue).joined(separator: ", ")).",
                valueName: "plant"
            )
        )
        var plant: [String] = []

        func validate() throws {
            if jobs < 0 || jobs > 100_000_000 { throw ValidationError("--jobs must be between 0 and 100000000.") }
            if !(days > 0) { throw ValidationError("--days must be more than 0.") }
            if Timestamp.parseMicros(start) == nil {
                throw ValidationError("--start '\(start)' is not an RFC 3339 time.")
            }
            for name in plant where HistorySynthesizer.Plant(rawValue: name) == nil {
                throw ValidationError(
                    "--plant '\(name)' is unknown; plants: \(HistorySynthesizer.Plant.allCases.map(\.rawValue).joined(separator: ", "))."
                )
            }
            if JobFiles.Format(path: output) == nil {
                throw ValidationError("Please give an output ending in .jrsnap, .csv or .jsonl (got '\(output)').")
            }
        }

        func run() async throws {
            let startDate = Timestamp.parse(start)!
            var synthesizer = HistorySynthesizer(
                seed: seed,
                jobCount: jobs,
                days: days,
                start: startDate,
                instance: instance
            )
            synthesizer.plants = Set(plant.compactMap(HistorySynthesizer.Plant.init(rawValue:)))
            let table = synthesizer.generate()
            let info = SnapshotInfo(
                managerVersion: "jobstats \(ProductVersion.current)",
                instance: instance,
                createdAt: startDate.addingTimeInterval(days * 86_400)
            )
            try Diagnostics.mapErrors { try JobFiles.write(table, to: output, info: info) }
        }
    }
}
