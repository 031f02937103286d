import ArgumentParser
import Foundation
import JobModel

extension JobStats {
    struct Convert: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert between snapshot, CSV and JSON Lines; formats come from the extensions.",
            discussion: "The output is written atomically: a failure leaves no partial file."
        )

        @Argument(help: "Input file (.jrsnap, .csv or .jsonl).")
        var input: String

        @Option(name: .shortAndLong, help: "Output file (.jrsnap, .csv or .jsonl).")
        var output: String

        @Option(help: "Instance name for a new snapshot's header (default: the input's).")
        var instance: String?

        func validate() throws {
            if JobFiles.Format(path: output) == nil {
                throw ValidationError("Please give an output ending in .jrsnap, .csv or .jsonl (got '\(output)').")
            }
        }

        func run() async throws {
            let loaded = try Diagnostics.timed("load") { try Diagnostics.mapErrors { try JobFiles.load(input) } }
            let table = loaded.table
            let info = SnapshotInfo(
                managerVersion: loaded.info?.managerVersion ?? "jobstats \(ProductVersion.current)",
                instance: instance ?? loaded.info?.instance
                    ?? (table.count > 0 ? table.strings[table.instance[0]] : ""),
                createdAt: loaded.info?.createdAt ?? Diagnostics.now()
            )
            try Diagnostics.timed("write") {
                try Diagnostics.mapErrors { try JobFiles.write(table, to: output, info: info) }
            }
        }
    }
}
