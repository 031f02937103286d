import ArgumentParser
import Foundation
import JobModel

struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Launch a job; print its id, or with --wait follow it and exit with its exit code.",
        discussion: """
            The command comes after --. With --wait the job's output is streamed (stdout to stdout, \
            stderr to stderr) and jobrunner exits with the job's exit code: 128+N when signal N \
            killed it, 124 when it timed out (as timeout(1)), 130 when it was cancelled; retries are \
            followed to the last one.

            Examples:
              jobrunner submit -- /usr/bin/rsync -a /srv/ /backup/
              jobrunner submit --name nightly --retries 2 --wait -- ./etl.sh
            """
    )

    @OptionGroup var service: ClientOptions

    @Option(help: "Job name (1-128 of A-Z a-z 0-9 . _ : -); default: the command's file name.")
    var name: String?
    @Option(help: "Retries after a failure (default: the service's jobs.defaultRetries).")
    var retries: Int?
    @Option(help: "Seconds before the job is stopped and ends timedOut.")
    var timeout: Double?
    @Option(name: .customLong("max-rss"), help: "Memory limit in bytes (at least 1048576).")
    var maxRss: Int?
    @Option(help: "A label KEY=VALUE (repeatable).")
    var label: [String] = []
    @Option(help: "An environment variable KEY=VALUE (repeatable).")
    var env: [String] = []
    @Option(help: "Absolute working directory.")
    var cwd: String?
    @Option(help: "The queue to run in (see GET /v1/queues).")
    var queue: String?
    @Option(help: "Run only after job ID succeeded (repeatable).")
    var after: [Int] = []
    @Option(name: .customLong("idempotency-key"), help: "Submitting again with the same key launches nothing new.")
    var idempotencyKey: String?
    @Flag(help: "Follow the job's output and exit with its exit code.")
    var wait = false

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("Give the command after --, e.g. jobrunner submit -- /bin/date") }
        _ = try keyValues(label, option: "label")
        _ = try keyValues(env, option: "env")
    }

    /// The default name: the command's file name with other characters replaced by `_`.
    static func defaultName(_ executable: String) -> String {
        let base = executable.split(separator: "/").last.map(String.init) ?? executable
        let cleaned = String(
            base.prefix(128).map { c in c.isASCII && (c.isLetter || c.isNumber || "._:-".contains(c)) ? c : "_" }
        )
        return cleaned.first.map { $0.isLetter || $0.isNumber } == true ? cleaned : "job"
    }

    func run() async throws {
        try await runClient {
            let client = try service.client()
            var body: [String: Any] = ["name": name ?? Self.defaultName(command[0]), "command": command]
            if let retries { body["retries"] = retries }
            if let timeout { body["timeoutSeconds"] = timeout }
            if let maxRss { body["maxRssBytes"] = maxRss }
            let labels = try keyValues(label, option: "label")
            if !labels.isEmpty { body["labels"] = labels }
            let environment = try keyValues(env, option: "env")
            if !environment.isEmpty { body["env"] = environment }
            if let cwd { body["cwd"] = cwd }
            if let queue { body["queue"] = queue }
            if !after.isEmpty { body["dependsOn"] = after.map { ["job": $0, "on": "succeeded"] } }
            let reply = try await client.send(
                .POST,
                "/v1/jobs",
                json: body,
                headers: idempotencyKey.map { ["Idempotency-Key": $0] } ?? [:]
            )
            let job = try APIClient.decode(Job.self, reply.body)
            guard wait else {
                print(job.id)
                return
            }
            FileHandle.standardError.write(Data("jobrunner: job \(job.id) submitted\n".utf8))
            let last = try await Logs.follow(client, job.id, both: true)
            throw ExitCode(APIClient.exitCode(of: last))
        }
    }
}
