import ArgumentParser
import Foundation
import JobModel

/// The job ids `cancel` and `wait` take (one at least).
struct JobIDs: ParsableArguments {
    @Argument(help: "Job ids.")
    var ids: [Int] = []

    func validate() throws {
        if ids.isEmpty { throw ValidationError("Give at least one job id.") }
    }
}

struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cancel jobs: a pending one ends at once, a running one is stopped.",
        discussion:
            "Example: jobrunner cancel 41 42. Exits with the first failure's code (66 unknown job, 65 already ended)."
    )

    @OptionGroup var service: ClientOptions
    @OptionGroup var jobs: JobIDs

    func run() async throws {
        try await runClient {
            let client = try service.client()
            var firstFailure: APIClient.Failure?
            for id in jobs.ids {
                do {
                    let job = try APIClient.decode(Job.self, try await client.send(.POST, "/v1/jobs/\(id)/cancel").body)
                    print("\(id) \(job.status == .running ? "stopping" : job.status.rawValue)")
                } catch let failure as APIClient.Failure {
                    FileHandle.standardError.write(Data("jobrunner: job \(id): \(failure.description)\n".utf8))
                    if failure.exitCode == 69 || failure.exitCode == 77 { throw failure }
                    firstFailure = firstFailure ?? failure
                }
            }
            if let firstFailure { throw ExitCode(firstFailure.exitCode) }
        }
    }
}

struct Wait: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Wait until jobs (and their retries) have ended; exit with the first non-zero exit code.",
        discussion: """
            Exit codes as the jobs': the job's own, 128+N for signal N, 124 for a timeout, 130 for a \
            cancel, 1 for lost or skipped.

            Example: jobrunner wait 41 42 && echo both succeeded
            """
    )

    @OptionGroup var service: ClientOptions
    @OptionGroup var jobs: JobIDs

    func run() async throws {
        try await runClient {
            let client = try service.client()
            var code: Int32 = 0
            for id in jobs.ids {
                let last = try await client.waitForChainEnd(id)
                let exit = APIClient.exitCode(of: last)
                print("\(id) \(last.status.rawValue)\(last.id != id ? " (retry \(last.id))" : "") exit \(exit)")
                if code == 0 { code = exit }
            }
            if code != 0 { throw ExitCode(code) }
        }
    }
}

struct Rerun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run ended jobs again, as new jobs (rerunOf).",
        discussion: """
            A job's env is not kept once its end is on disk (it may hold secrets): give it again with \
            --env, or --base-env for the service's jobs.baseEnvironment alone.

            Examples:
              jobrunner rerun 41 42 --env TOKEN=abc
              jobrunner rerun --failed --since 2026-12-01T00:00:00Z     every job that failed for good since then, once
            """
    )

    @OptionGroup var service: ClientOptions
    @Flag(help: "Rerun every job that failed for good (failed, crashed, timedOut, lost) and was never rerun.")
    var failed = false
    @Option(help: "With --failed: only jobs started at or after this RFC 3339 time.")
    var since: String?
    @Option(help: "With --failed: only jobs whose name matches this glob (repeatable).")
    var name: [String] = []
    @Option(help: "An environment variable KEY=VALUE for the new jobs (repeatable).")
    var env: [String] = []
    @Flag(help: "No env of their own: jobs.baseEnvironment alone.")
    var baseEnv = false
    @Argument(help: "Job ids.")
    var ids: [Int] = []

    func validate() throws {
        if failed == !ids.isEmpty { throw ValidationError("Give job ids or --failed (not both).") }
        if !failed, since != nil || !name.isEmpty { throw ValidationError("--since and --name go with --failed.") }
        if let since, Timestamp.parse(since) == nil { throw ValidationError("--since must be an RFC 3339 time.") }
        _ = try keyValues(env, option: "env")
        if baseEnv && !env.isEmpty { throw ValidationError("--base-env means no --env.") }
    }

    func run() async throws {
        try await runClient {
            let client = try service.client()
            var body: [String: Any] = [:]
            // Sent only when given: a job whose spec is still kept reruns with its own env.
            if !env.isEmpty || baseEnv { body["env"] = try keyValues(env, option: "env") }
            if failed {
                if let since { body["since"] = since }
                if !name.isEmpty { body["name"] = name }
                let reply = try await client.send(.POST, "/v1/jobs/rerun", json: body)
                struct Reruns: Decodable { var jobs: [Job] }
                let jobs = try APIClient.decode(Reruns.self, reply.body).jobs
                for job in jobs { print("\(job.rerunOf ?? 0) -> \(job.id)") }
                if jobs.isEmpty { FileHandle.standardError.write(Data("jobrunner: nothing to rerun\n".utf8)) }
                return
            }
            for id in ids {
                let reply = try await client.send(.POST, "/v1/jobs/\(id)/rerun", json: body)
                print("\(id) -> \(try APIClient.decode(Job.self, reply.body).id)")
            }
        }
    }
}
