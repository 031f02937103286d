import ArgumentParser
import Foundation
import JobModel

extension JobStats {
    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a snapshot's header, its counts by status and the time span it covers."
        )

        @Argument(help: "A snapshot (.jrsnap), or a CSV / JSON Lines file.")
        var input: String

        @Option(help: "Output format: table or json.")
        var format: Format = .table

        enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

        struct Summary: Encodable {
            var file: String
            var formatVersion: UInt32?
            var managerVersion: String?
            var instance: String?
            var createdAt: String?
            var jobCount: Int
            var batchCount: Int?
            var statusCounts: [String: Int]
            var firstStartedAt: String?
            var lastEndedAt: String?
        }

        func run() async throws {
            let loaded = try Diagnostics.mapErrors { try JobFiles.load(input) }
            let table = loaded.table
            var counts: [String: Int] = [:]
            var first = Int64.max
            var last = Int64.min
            for row in 0..<table.count {
                counts[table.statusOf(row).rawValue, default: 0] += 1
                let s = table.startedAt[row]
                if s != JobTable.nullInt { first = min(first, s) }
                let e = table.endedAt[row]
                if e != JobTable.nullInt { last = max(last, e) }
            }
            let info = loaded.info
            let summary = Summary(
                file: input,
                formatVersion: info?.formatVersion,
                managerVersion: info?.managerVersion,
                instance: info?.instance,
                createdAt: info.map { Timestamp.format($0.createdAt) },
                jobCount: table.count,
                batchCount: info?.batchCount,
                statusCounts: counts,
                firstStartedAt: first == .max ? nil : Timestamp.format(micros: first),
                lastEndedAt: last == .min ? nil : Timestamp.format(micros: last)
            )
            var out = OutputFile.standardOutput()
            switch format {
            case .json:
                let encoder = JobJSONLines.makeEncoder()
                encoder.outputFormatting.insert(.prettyPrinted)
                try out.write(try encoder.encode(summary))
                try out.write("\n")
            case .table:
                var lines = ["file: \(summary.file)"]
                if let info {
                    lines += [
                        "format version: \(info.formatVersion)",
                        "written by: jobrunner \(info.managerVersion)",
                        "instance: \(info.instance)",
                        "created at: \(summary.createdAt ?? "-")",
                        "batches: \(info.batchCount)",
                    ]
                }
                lines.append("jobs: \(table.count)")
                for status in JobStatus.allCases where counts[status.rawValue] != nil {
                    lines.append("  \(status.rawValue): \(counts[status.rawValue]!)")
                }
                lines.append("first started: \(summary.firstStartedAt ?? "-")")
                lines.append("last ended: \(summary.lastEndedAt ?? "-")")
                try out.write(lines.joined(separator: "\n") + "\n")
            }
            try out.commit()
        }
    }
}
