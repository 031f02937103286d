import ArgumentParser
import Foundation
import JobModel

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a job's output; with -f follow it until the job has ended.",
        discussion: """
            Examples:
              jobrunner logs 42             the whole stdout
              jobrunner logs 42 --stderr --tail 20
              jobrunner logs -f 42          follow stdout as it is written (and the job's retries)
            """
    )

    @OptionGroup var service: ClientOptions
    @Flag(help: "stderr instead of stdout.")
    var stderr = false
    @Flag(name: .shortAndLong, help: "Follow the output until the job (and its retries) ended.")
    var follow = false
    @Option(help: "Only the last N lines.")
    var tail: Int?
    @Argument(help: "The job id.")
    var id: Int

    func validate() throws {
        if let tail, tail < 0 { throw ValidationError("--tail must be 0 or more.") }
    }

    func run() async throws {
        try await runClient {
            let client = try service.client()
            let stream = stderr ? "stderr" : "stdout"
            var query = "stream=\(stream)"
            if let tail { query += "&tail=\(tail)" }
            guard follow else {
                let reply = try await client.send(.GET, "/v1/jobs/\(id)/logs?\(query)")
                writeOut(reply.body)
                return
            }
            var current = id
            while true {
                try await client.stream("/v1/jobs/\(current)/logs?\(query)&follow=true") {
                    writeOut($0)
                }
                let job = try await client.job(current)
                guard let retry = job.retriedBy else { return }
                FileHandle.standardError.write(
                    Data("jobrunner: job \(current) ended \(job.status.rawValue); following its retry \(retry)\n".utf8)
                )
                current = retry
                query = "stream=\(stream)"
            }
        }
    }

    /// Follows job `id`'s stdout (and stderr, when `both`) through its retries; returns the
    /// last job of the chain.
    static func follow(_ client: APIClient, _ id: Int, both: Bool) async throws -> Job {
        var current = id
        while true {
            let followed = current
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await client.stream("/v1/jobs/\(followed)/logs?stream=stdout&follow=true") {
                        writeOut($0)
                    }
                }
                if both {
                    group.addTask {
                        try await client.stream("/v1/jobs/\(followed)/logs?stream=stderr&follow=true") {
                            writeOut($0, error: true)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let job = try await client.job(current)
            guard let retry = job.retriedBy else { return job }
            FileHandle.standardError.write(
                Data("jobrunner: job \(current) ended \(job.status.rawValue); retry \(retry) follows\n".utf8)
            )
            current = retry
        }
    }
}
