import ArgumentParser

@main
struct JobStats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "jobstats", abstract: "placeholder")
}
