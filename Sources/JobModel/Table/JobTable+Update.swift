extension JobTable {
    /// Replaces what can change in a job's life at `row` with `job`'s values: status, pid,
    /// times, exit code, signal, reason, the retry link, the error tail and signature and
    /// the metrics. What a job is
    /// (id, instance, name, command, cwd, labels, attempt, parent, queue, rerun, schedule,
    /// limits) is set when it is
    /// created and never changes, so it is kept.
    public mutating func update(row: Int, from job: Job) {
        func intOrNull(_ v: Int?) -> Int64 { v.map(Int64.init) ?? Self.nullInt }
        status[row] = job.status.code
        pid[row] = intOrNull(job.pid)
        startedAt[row] = job.startedAt.map(Timestamp.micros) ?? Self.nullInt
        endedAt[row] = job.endedAt.map(Timestamp.micros) ?? Self.nullInt
        durationSeconds[row] = job.durationSeconds ?? .nan
        exitCode[row] = intOrNull(job.exitCode)
        signal[row] = intOrNull(job.signal)
        reason[row] = job.reason.map { strings.intern($0) } ?? Self.nullString
        retriedBy[row] = intOrNull(job.retriedBy)
        errorTail[row] = job.errorTail.map { strings.intern($0) } ?? Self.nullString
        errorSignature[row] = job.errorSignature.map { strings.intern($0) } ?? Self.nullString
        setMetrics(job.metrics, row: row)
    }

    /// Whether row `r` holds the job with id `r + 1` for every row: the dense, ordered
    /// layout the service keeps its history in.
    public var hasDenseIDs: Bool {
        id.withUnsafeBufferPointer { ids in
            for r in 0..<ids.count where ids[r] != Int64(r + 1) { return false }
            return true
        }
    }

    /// The start time of `row` in microseconds since 1970, or nil.
    @inlinable
    public func startedAtMicros(_ row: Int) -> Int64? {
        startedAt[row] == Self.nullInt ? nil : startedAt[row]
    }

    /// The name of `row`.
    @inlinable
    public func nameOf(_ row: Int) -> String { strings[name[row]] }
}
