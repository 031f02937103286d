import ArgumentParser
import Foundation

extension JobRunner {
    struct Keys: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the configuration keys, their environment variables and meaning."
        )

        func run() {
            for key in JobRunnerConfiguration.keys {
                print("\(key.name)  (\(JobRunnerConfiguration.environmentName(key.name)))  \(key.summary)")
            }
        }
    }
}
