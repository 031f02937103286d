import ArgumentParser
import JobModel

extension JobStats {
    struct Patterns: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the patterns: ids and one-line summaries.")

        func run() async throws {
            let patterns = PatternSuite.all(AnalysisOptions())
            let width = patterns.map(\.id.count).max() ?? 0
            var out = OutputFile.standardOutput()
            for p in patterns {
                try out.write(p.id + String(repeating: " ", count: width - p.id.count) + "  " + p.summary + "\n")
            }
            try out.commit()
        }
    }
}
