import Foundation

extension Job: Codable {
    /// JSON keys, the same words as the CSV header.
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case id, instance, name, command, cwd, labels, status, pid, startedAt, endedAt, durationSeconds
        case exitCode, signal, reason, attempt, parentId, retriedBy, queue, rerunOf, scheduleId
        case timeoutSeconds, maxRssBytes, retries, errorTail, errorSignature, metrics
    }

    /// Encodes every field; absent values are written as `null` so that every record has
    /// the same shape. Times are RFC 3339 UTC with microseconds.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(instance, forKey: .instance)
        try c.encode(name, forKey: .name)
        try c.encode(command, forKey: .command)
        try c.encode(cwd, forKey: .cwd)
        try c.encode(labels, forKey: .labels)
        try c.encode(status, forKey: .status)
        try c.encode(pid, forKey: .pid)
        try c.encode(startedAt.map { Timestamp.format($0) }, forKey: .startedAt)
        try c.encode(endedAt.map { Timestamp.format($0) }, forKey: .endedAt)
        try c.encode(durationSeconds, forKey: .durationSeconds)
        try c.encode(exitCode, forKey: .exitCode)
        try c.encode(signal, forKey: .signal)
        try c.encode(reason, forKey: .reason)
        try c.encode(attempt, forKey: .attempt)
        try c.encode(parentId, forKey: .parentId)
        try c.encode(retriedBy, forKey: .retriedBy)
        try c.encode(queue, forKey: .queue)
        try c.encode(rerunOf, forKey: .rerunOf)
        try c.encode(scheduleId, forKey: .scheduleId)
        try c.encode(timeoutSeconds, forKey: .timeoutSeconds)
        try c.encode(maxRssBytes, forKey: .maxRssBytes)
        try c.encode(retries, forKey: .retries)
        try c.encode(errorTail, forKey: .errorTail)
        try c.encode(errorSignature, forKey: .errorSignature)
        try c.encode(metrics, forKey: .metrics)
    }

    /// Decodes a record. `id`, `name`, `command` and `status` are required; `instance`
    /// defaults to `""`, `labels` to `{}`, `attempt` to 1 and `metrics` to zeros, so that
    /// hand-written or trimmed JSON Lines still load.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func time(_ key: CodingKeys) throws -> Date? {
            guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorruptedError(
                    forKey: key,
                    in: c,
                    debugDescription: "'\(text)' is not an RFC 3339 date-time"
                )
            }
            return date
        }
        self.init(
            id: try c.decode(Int.self, forKey: .id),
            instance: try c.decodeIfPresent(String.self, forKey: .instance) ?? "",
            name: try c.decode(String.self, forKey: .name),
            command: try c.decode([String].self, forKey: .command),
            cwd: try c.decodeIfPresent(String.self, forKey: .cwd),
            labels: try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:],
            status: try c.decode(JobStatus.self, forKey: .status),
            pid: try c.decodeIfPresent(Int.self, forKey: .pid),
            startedAt: try time(.startedAt),
            endedAt: try time(.endedAt),
            durationSeconds: try c.decodeIfPresent(Double.self, forKey: .durationSeconds),
            exitCode: try c.decodeIfPresent(Int.self, forKey: .exitCode),
            signal: try c.decodeIfPresent(Int.self, forKey: .signal),
            reason: try c.decodeIfPresent(String.self, forKey: .reason),
            attempt: try c.decodeIfPresent(Int.self, forKey: .attempt) ?? 1,
            parentId: try c.decodeIfPresent(Int.self, forKey: .parentId),
            retriedBy: try c.decodeIfPresent(Int.self, forKey: .retriedBy),
            queue: try c.decodeIfPresent(String.self, forKey: .queue),
            rerunOf: try c.decodeIfPresent(Int.self, forKey: .rerunOf),
            scheduleId: try c.decodeIfPresent(Int.self, forKey: .scheduleId),
            timeoutSeconds: try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds),
            maxRssBytes: try c.decodeIfPresent(Int.self, forKey: .maxRssBytes),
            retries: try c.decodeIfPresent(Int.self, forKey: .retries),
            errorTail: try c.decodeIfPresent(String.self, forKey: .errorTail),
            errorSignature: try c.decodeIfPresent(String.self, forKey: .errorSignature),
            metrics: try c.decodeIfPresent(JobMetrics.self, forKey: .metrics) ?? JobMetrics()
        )
    }
}

extension MetricColumn: CodingKey {}

extension JobMetrics {
    /// Missing keys decode as zero, so older or trimmed records still load.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: MetricColumn.self)
        self.init()
        for (column, storage) in MetricColumn.columns {
            switch storage {
            case .integer: self[column: column] = .integer(try c.decodeIfPresent(Int.self, forKey: column) ?? 0)
            case .real: self[column: column] = .real(try c.decodeIfPresent(Double.self, forKey: column) ?? 0)
            case .flag: self[column: column] = .flag(try c.decodeIfPresent(Bool.self, forKey: column) ?? false)
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: MetricColumn.self)
        for column in MetricColumn.allCases {
            switch self[column: column] {
            case .integer(let v): try c.encode(v, forKey: column)
            case .real(let v): try c.encode(v, forKey: column)
            case .flag(let v): try c.encode(v, forKey: column)
            }
        }
    }
}
