import Foundation
import HTTPTypes
import JobModel

extension JobsConfiguration {
    /// Throws the 403 of a `command[0]` that `jobs.allowedCommands` does not allow.
    func checkAllowed(_ executable: String) throws(APIError) {
        guard let allowed = allowedCommands, !allowed.contains(where: { fnmatch($0, executable, FNM_PATHNAME) == 0 })
        else { return }
        throw APIError(
            .forbidden,
            "commandNotAllowed",
            "'command[0]' \(executable) is not in jobs.allowedCommands; allowed: \(allowed.joined(separator: ", "))"
        )
    }
}

/// What a rerun may change (`POST /v1/jobs/{id}/rerun`, `POST /v1/jobs/rerun`); the rest
/// comes from the job it reruns. `nil` = not given.
struct RerunOverrides: Sendable {
    var env: [String: String]?
    var timeoutSeconds: Double?
    var maxRssBytes: Int?
    var retries: Int?
    /// `.some(nil)` = the `default` queue.
    var queue: String??

    static let fields: Set<String> = ["env", "timeoutSeconds", "maxRssBytes", "retries", "queue"]

    /// Checks `body`'s fields as `POST /v1/jobs` does; `extra` fields (a filter's) are
    /// allowed beside them.
    static func parse(
        _ body: [String: Any],
        extra: Set<String> = [],
        jobs: JobsConfiguration
    ) throws(APIError)
        -> RerunOverrides
    {
        let allowed = fields.union(extra)
        if let unknown = body.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw .invalid("unknown field '\(unknown)'; fields are \(allowed.sorted().joined(separator: ", "))")
        }
        var probe = body.filter { fields.contains($0.key) }
        probe["name"] = "rerun"
        probe["command"] = ["/"]
        let data: Data
        do {
            data = try JSONSerialization.data(withJSONObject: probe)
        } catch {
            throw .invalid("the body is not valid JSON")
        }
        let parsed = try JobRequest.parse(data, jobs: JobsConfiguration(copyingLimitsOf: jobs))
        func given(_ key: String) -> Bool { body[key].map { !($0 is NSNull) } ?? false }
        return RerunOverrides(
            env: given("env") ? parsed.env : nil,
            timeoutSeconds: parsed.timeoutSeconds,
            maxRssBytes: parsed.maxRssBytes,
            retries: parsed.retries,
            queue: given("queue") ? .some(parsed.queue) : nil
        )
    }
}

extension JobsConfiguration {
    /// These settings without `allowedCommands` (a rerun's probe body has no real command).
    init(copyingLimitsOf other: JobsConfiguration) {
        self = other
        allowedCommands = nil
    }
}

/// The body of `POST /v1/jobs`.
///
/// Unknown fields are refused (a typo such as `retires` must not be ignored), and every
/// error names the field.
struct JobRequest: Sendable {
    var name: String
    var command: [String]
    var cwd: String?
    var env: [String: String]
    var labels: [String: String]
    var retries: Int?
    var timeoutSeconds: Double?
    var maxRssBytes: Int?
    /// Run only after these jobs have ended as each says (the supervisor checks the ids).
    var dependsOn: [JobDependency] = []
    /// The launch queue; `nil` for `default`.
    var queue: String? = nil
    /// Set by the service, not the body: the job this one reruns, the schedule that made it.
    var rerunOf: Int? = nil
    var scheduleId: Int? = nil

    static let fields: Set<String> = [
        "name", "command", "cwd", "env", "labels", "retries", "timeoutSeconds", "maxRssBytes", "dependsOn", "queue",
    ]
    static let maxDependencies = 64

    static let maxArguments = 4_096
    static let maxTextBytes = 65_536
    static let maxEntries = 1_024

    /// Parses and checks a request body against the limits of `jobs` (`jobs.*` keys).
    static func parse(_ data: Data, jobs: JobsConfiguration) throws(APIError) -> JobRequest {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw .invalid("the body is not valid JSON")
        }
        guard let body = object as? [String: Any] else { throw .invalid("the body must be a JSON object") }
        if let unknown = body.keys.sorted().first(where: { !fields.contains($0) }) {
            throw .invalid("unknown field '\(unknown)'; fields are \(fields.sorted().joined(separator: ", "))")
        }
        func text(_ value: Any, _ field: String) throws(APIError) -> String {
            guard let s = value as? String else { throw .invalid("'\(field)' must be a string") }
            if s.utf8.contains(0) { throw .invalid("'\(field)' must not contain NUL bytes") }
            if s.utf8.count > maxTextBytes { throw .invalid("'\(field)' is longer than \(maxTextBytes) bytes") }
            return s
        }
        func map(_ field: String) throws(APIError) -> [String: String] {
            guard let value = body[field], !(value is NSNull) else { return [:] }
            guard let object = value as? [String: Any] else {
                throw .invalid("'\(field)' must be an object of strings")
            }
            if object.count > maxEntries { throw .invalid("'\(field)' has more than \(maxEntries) entries") }
            var out: [String: String] = [:]
            for (k, v) in object {
                let key = try text(k, "\(field) key")
                if key.isEmpty { throw .invalid("'\(field)' has an empty key") }
                if field == "env", key.contains("=") { throw .invalid("'env' key '\(key)' must not contain '='") }
                out[key] = try text(v, "\(field).\(key)")
            }
            return out
        }
        func number(_ field: String) throws(APIError) -> NSNumber? {
            guard let value = body[field], !(value is NSNull) else { return nil }
            guard let n = value as? NSNumber, !isJSONBool(n) else {
                throw .invalid("'\(field)' must be a number")
            }
            return n
        }

        guard let nameValue = body["name"] else { throw .invalid("'name' is required") }
        let name = try text(nameValue, "name")
        // The first character a letter or digit: no ".", "..", "-rf" look-alikes.
        guard Job.isValidName(name), name.first.map({ $0.isASCII && ($0.isLetter || $0.isNumber) }) == true else {
            throw .invalid("'name' must be 1-128 characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit")
        }
        guard let commandValue = body["command"] else { throw .invalid("'command' is required") }
        guard let list = commandValue as? [Any] else { throw .invalid("'command' must be a list of strings") }
        if list.isEmpty { throw .invalid("'command' must not be empty") }
        if list.count > maxArguments { throw .invalid("'command' has more than \(maxArguments) arguments") }
        var command: [String] = []
        for (i, item) in list.enumerated() { command.append(try text(item, "command[\(i)]")) }
        if command[0].isEmpty { throw .invalid("'command[0]' must not be empty") }
        try jobs.checkAllowed(command[0])
        var cwd: String?
        if let value = body["cwd"], !(value is NSNull) {
            let c = try text(value, "cwd")
            guard c.hasPrefix("/") else { throw .invalid("'cwd' must be an absolute path") }
            cwd = c
        }
        var retries: Int?
        if let n = try number("retries") {
            guard let r = Int(exactly: n.doubleValue), r >= 0, r <= jobs.maxRetries else {
                throw .invalid("'retries' must be an integer from 0 to \(jobs.maxRetries) (jobs.maxRetries)")
            }
            retries = r
        }
        var timeout: Double?
        if let n = try number("timeoutSeconds") {
            let t = n.doubleValue
            guard t > 0, t <= jobs.maxTimeoutSeconds else {
                throw .invalid("'timeoutSeconds' must be above 0 and at most \(Int(jobs.maxTimeoutSeconds))")
            }
            timeout = t
        }
        var maxRss: Int?
        if let n = try number("maxRssBytes") {
            guard let m = Int(exactly: n.doubleValue), m >= 1 << 20 else {
                throw .invalid("'maxRssBytes' must be an integer of at least 1048576 (1 MiB)")
            }
            maxRss = m
        }
        var dependsOn: [JobDependency] = []
        if let value = body["dependsOn"], !(value is NSNull) {
            guard let list = value as? [Any] else {
                throw .invalid(
                    "'dependsOn' must be a list of {\"job\": ID, \"on\": \"succeeded\" | \"failed\" | \"ended\"}"
                )
            }
            if list.count > maxDependencies { throw .invalid("'dependsOn' has more than \(maxDependencies) entries") }
            for (i, item) in list.enumerated() {
                let field = "dependsOn[\(i)]"
                guard let entry = item as? [String: Any] else { throw .invalid("'\(field)' must be an object") }
                if let unknown = entry.keys.sorted().first(where: { $0 != "job" && $0 != "on" }) {
                    throw .invalid("unknown field '\(field).\(unknown)'; fields are job, on")
                }
                guard let n = entry["job"] as? NSNumber, !isJSONBool(n), let id = Int(exactly: n.doubleValue), id > 0
                else {
                    throw .invalid("'\(field).job' must be a job id (a positive integer)")
                }
                var condition = JobDependency.Condition.succeeded
                if let on = entry["on"], !(on is NSNull) {
                    guard let text = on as? String, let parsed = JobDependency.Condition(rawValue: text) else {
                        throw .invalid("'\(field).on' must be succeeded, failed or ended")
                    }
                    condition = parsed
                }
                dependsOn.append(JobDependency(job: id, on: condition))
            }
        }
        var queue: String?
        if let value = body["queue"], !(value is NSNull) {
            let q = try text(value, "queue")
            guard jobs.hasQueue(q) else {
                let known = ([LaunchQueues.defaultName] + jobs.queues.keys.sorted()).joined(separator: ", ")
                throw .invalid("'queue' \(q) is not a configured queue; queues: \(known)")
            }
            queue = q == LaunchQueues.defaultName ? nil : q
        }
        return JobRequest(
            name: name,
            command: command,
            cwd: cwd,
            env: try map("env"),
            labels: try map("labels"),
            retries: retries,
            timeoutSeconds: timeout,
            maxRssBytes: maxRss,
            dependsOn: dependsOn,
            queue: queue
        )
    }
}
