import ArgumentParser
import Foundation
import JobModel

#if canImport(Glibc)
import Glibc
#endif

extension JobStats {
    struct Jobs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export jobs as CSV, JSON Lines or JSON (for DuckDB, pandas, spreadsheets).",
            discussion: "CSV flattens metrics into columns and shell-quotes the command; times are RFC 3339 UTC."
        )

        enum Format: String, ExpressibleByArgument, CaseIterable { case csv, jsonl, json }

        @OptionGroup var input: InputOptions

        @Option(help: "Output format: csv, jsonl or json (one array).")
        var format: Format = .jsonl

        @Option(
            help:
                "Only jobs with this status (repeatable): \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))."
        )
        var status: [String] = []

        @Option(help: "Only jobs with this name (repeatable; shell globs such as 'etl-*' allowed).")
        var name: [String] = []

        @Option(name: .shortAndLong, help: "Write to this file (atomically) instead of standard output.")
        var output: String?

        func validate() throws {
            for s in status where JobStatus(rawValue: s) == nil {
                throw ValidationError(
                    "Unknown status '\(s)'. Please use one of: \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))."
                )
            }
        }

        func run() async throws {
            let (loaded, _) = try input.load()
            let statuses = Set(status.compactMap { JobStatus(rawValue: $0)?.code })
            let table = loaded.filter { row in
                if !statuses.isEmpty, !statuses.contains(loaded.status[row]) { return false }
                if !name.isEmpty {
                    let jobName = loaded.strings[loaded.name[row]]
                    if !name.contains(where: { fnmatch($0, jobName, 0) == 0 }) { return false }
                }
                return true
            }
            try Diagnostics.mapErrors {
                var out = try output.map { try OutputFile(atomicPath: $0) } ?? OutputFile.standardOutput()
                switch format {
                case .csv: try JobFiles.write(table, format: .csv, to: &out)
                case .jsonl: try JobFiles.write(table, format: .jsonl, to: &out)
                case .json:
                    let encoder = JobJSONLines.makeEncoder()
                    try out.write("[")
                    for row in 0..<table.count {
                        if row > 0 { try out.write(",\n") }
                        try out.write(try encoder.encode(table[row]))
                    }
                    try out.write("]\n")
                }
                try out.commit()
            }
        }
    }
}
