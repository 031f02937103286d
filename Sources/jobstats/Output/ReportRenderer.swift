import Foundation
import JobModel

/// Renders an analysis report as table, JSON or CSV.
enum ReportRenderer {
    static func render(_ report: AnalysisReport, format: OutputFormat) throws -> String {
        switch format {
        case .json: try json(report)
        case .csv: csv(report)
        case .table: table(report)
        }
    }

    static func json(_ report: AnalysisReport) throws -> String {
        let encoder = JobJSONLines.makeEncoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        return String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
    }

    static let csvColumns = [
        "pattern", "group", "name", "metric", "value", "baselineValue", "matchCount", "decidedCount", "hitCount",
        "successRate", "differenceFromAverage", "relativeDifference", "pValue", "significant", "mostFailures",
    ]

    static func csv(_ report: AnalysisReport) -> String {
        var out = csvColumns.joined(separator: ",") + "\r\n"
        func d(_ v: Double?) -> String { v.map { "\($0)" } ?? "" }
        for f in report.patterns {
            let cells = [
                f.pattern, f.group, f.name, f.metric, d(f.value), d(f.baselineValue), "\(f.matchCount)",
                "\(f.decidedCount)", "\(f.hitCount)", d(f.successRate), f.differenceFromAverage ?? "",
                d(f.relativeDifference), d(f.pValue), f.significant ? "true" : "false",
                f.mostFailures?.joined(separator: ";") ?? "",
            ]
            out += cells.map(JobCSV.escape).joined(separator: ",") + "\r\n"
        }
        return out
    }

    static func percent(_ v: Double?) -> String {
        guard let v else { return "-" }
        return String(format: "%.1f%%", v * 100)
    }

    static func value(_ f: Finding) -> String {
        guard let v = f.value else { return "-" }
        switch f.metric {
        case "failures": return String(Int(v))
        default: return percent(v)
        }
    }

    static func pValue(_ p: Double?) -> String {
        guard let p else { return "-" }
        return p < 0.001 ? String(format: "%.1e", p) : String(format: "%.3f", p)
    }

    static func table(_ report: AnalysisReport) -> String {
        let b = report.baseline
        var out = "\(report.jobCount) jobs, \(b.decidedCount) with an outcome; "
        out += "success rate \(percent(b.successRate)) per attempt, \(percent(b.chainSuccessRate)) per chain\n\n"
        guard !report.patterns.isEmpty else {
            return out + "No significant findings (use --all to list every group).\n"
        }
        let header = ["PATTERN", "GROUP", "JOBS", "SUCCESS", "METRIC", "VALUE", "DIFF", "P", "SIG", "FINDING"]
        var rows: [[String]] = [header]
        for f in report.patterns {
            var finding = f.name
            if let most = f.mostFailures { finding += ": " + most.joined(separator: ", ") }
            rows.append([
                f.pattern, f.group, "\(f.matchCount)", percent(f.successRate), f.metric, value(f),
                f.differenceFromAverage ?? "-", pValue(f.pValue), f.significant ? "yes" : "no", finding,
            ])
        }
        var widths = [Int](repeating: 0, count: header.count)
        for row in rows {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        let rightAligned: Set<Int> = [2, 3, 5, 6, 7]
        for row in rows {
            var line = ""
            for (i, cell) in row.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                if i == row.count - 1 {
                    line += cell
                } else {
                    line += (rightAligned.contains(i) ? pad + cell : cell + pad) + "  "
                }
            }
            out += line + "\n"
        }
        return out
    }
}
