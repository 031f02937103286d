import ArgumentParser
import JobModel

@main
struct JobStats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobstats",
        abstract: "Analyse jobrunner history offline: what fails, when and why.",
        discussion: """
            INPUT files are jobrunner snapshots (.jrsnap), CSV (.csv) or JSON Lines (.jsonl); \
            several inputs are merged (the hosts of a fleet).

            Exit codes: 0 ok, 1 other failure, 64 usage error, 65 bad or damaged input data, \
            66 input file missing.
            """,
        version: ProductVersion.current,
        subcommands: [
            Analyze.self, Report.self, Compare.self, Jobs.self, Patterns.self, Info.self, Convert.self, Synth.self,
        ]
    )
}
