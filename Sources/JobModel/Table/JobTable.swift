import Foundation

/// Jobs held column by column: one array per field, strings dictionary-encoded.
///
/// Patterns read these arrays directly; a 1M-job group-by over them takes milliseconds.
/// Absent values use sentinels so that columns stay flat arrays: ``JobTable/nullInt``
/// for integers and times, `Double.nan` for doubles, ``JobTable/nullString`` for string
/// indices. Times are Unix microseconds.
public struct JobTable: Sendable {
    /// Sentinel for an absent integer or time.
    public static let nullInt = Int64.min
    /// Sentinel for an absent string index.
    public static let nullString = UInt32.max

    /// Every string the columns refer to.
    public internal(set) var strings = StringPool()
    public internal(set) var count = 0

    public internal(set) var id: [Int64] = []
    public internal(set) var instance: [UInt32] = []
    public internal(set) var name: [UInt32] = []
    /// `command` of row `i` is `commandArgs[commandOffsets[i]..<commandOffsets[i + 1]]`.
    public internal(set) var commandOffsets: [UInt32] = [0]
    public internal(set) var commandArgs: [UInt32] = []
    public internal(set) var cwd: [UInt32] = []
    /// Labels of row `i` are at `labelOffsets[i]..<labelOffsets[i + 1]` in the key and value arrays.
    public internal(set) var labelOffsets: [UInt32] = [0]
    public internal(set) var labelKeys: [UInt32] = []
    public internal(set) var labelValues: [UInt32] = []
    /// ``JobStatus/code`` of each row.
    public internal(set) var status: [UInt8] = []
    public internal(set) var pid: [Int64] = []
    public internal(set) var startedAt: [Int64] = []
    public internal(set) var endedAt: [Int64] = []
    public internal(set) var durationSeconds: [Double] = []
    public internal(set) var exitCode: [Int64] = []
    public internal(set) var signal: [Int64] = []
    public internal(set) var reason: [UInt32] = []
    public internal(set) var attempt: [Int64] = []
    public internal(set) var parentId: [Int64] = []
    public internal(set) var retriedBy: [Int64] = []
    /// `nullString` for the `default` queue.
    public internal(set) var queue: [UInt32] = []
    public internal(set) var rerunOf: [Int64] = []
    public internal(set) var scheduleId: [Int64] = []
    /// NaN for none.
    public internal(set) var timeoutSeconds: [Double] = []
    public internal(set) var maxRssBytes: [Int64] = []
    public internal(set) var retries: [Int64] = []
    /// `nullString` for none.
    public internal(set) var errorTail: [UInt32] = []
    public internal(set) var errorSignature: [UInt32] = []

    public internal(set) var sampleCount: [Int64] = []
    public internal(set) var cpuPercentAvg: [Double] = []
    public internal(set) var cpuPercentMax: [Double] = []
    public internal(set) var cpuSeconds: [Double] = []
    public internal(set) var rssBytesAvg: [Int64] = []
    public internal(set) var rssBytesMax: [Int64] = []
    public internal(set) var rssTrendBytesPerSecond: [Double] = []
    public internal(set) var memoryLeakSuspected: [Bool] = []
    public internal(set) var ioOpsPerSecondAvg: [Double] = []
    public internal(set) var ioOpsPerSecondPeak: [Double] = []
    public internal(set) var ioReadBytes: [Int64] = []
    public internal(set) var ioWriteBytes: [Int64] = []
    public internal(set) var netConnectionsPerSecondAvg: [Double] = []
    public internal(set) var netConnectionsPerSecondPeak: [Double] = []
    public internal(set) var netConnectionsTotal: [Int64] = []
    public internal(set) var stalledSeconds: [Double] = []
    public internal(set) var processCountMax: [Int64] = []
    public internal(set) var leftoverProcesses: [Int64] = []
    public internal(set) var memoryPeakBytes: [Int64] = []

    /// An empty table.
    public init() {}

    /// A table of `jobs`, in order, built in one pass.
    public init(_ jobs: some Sequence<Job>) {
        self.init()
        reserveCapacity(jobs.underestimatedCount)
        for job in jobs { append(job) }
    }

    /// Reserves room for `n` more rows in every column.
    public mutating func reserveCapacity(_ n: Int) {
        let total = count + n
        id.reserveCapacity(total)
        instance.reserveCapacity(total)
        name.reserveCapacity(total)
        commandOffsets.reserveCapacity(total + 1)
        cwd.reserveCapacity(total)
        labelOffsets.reserveCapacity(total + 1)
        status.reserveCapacity(total)
        pid.reserveCapacity(total)
        startedAt.reserveCapacity(total)
        endedAt.reserveCapacity(total)
        durationSeconds.reserveCapacity(total)
        exitCode.reserveCapacity(total)
        signal.reserveCapacity(total)
        reason.reserveCapacity(total)
        attempt.reserveCapacity(total)
        parentId.reserveCapacity(total)
        retriedBy.reserveCapacity(total)
        queue.reserveCapacity(total)
        rerunOf.reserveCapacity(total)
        scheduleId.reserveCapacity(total)
        timeoutSeconds.reserveCapacity(total)
        maxRssBytes.reserveCapacity(total)
        retries.reserveCapacity(total)
        errorTail.reserveCapacity(total)
        errorSignature.reserveCapacity(total)
        reserveMetricCapacity(total)
    }

    // MARK: - Rows

    /// Appends one job as the last row.
    public mutating func append(_ job: Job) {
        func intOrNull(_ v: Int?) -> Int64 { v.map(Int64.init) ?? Self.nullInt }
        id.append(Int64(job.id))
        instance.append(strings.intern(job.instance))
        name.append(strings.intern(job.name))
        for arg in job.command { commandArgs.append(strings.intern(arg)) }
        commandOffsets.append(UInt32(commandArgs.count))
        cwd.append(job.cwd.map { strings.intern($0) } ?? Self.nullString)
        for key in job.labels.keys.sorted() {
            labelKeys.append(strings.intern(key))
            labelValues.append(strings.intern(job.labels[key]!))
        }
        labelOffsets.append(UInt32(labelKeys.count))
        status.append(job.status.code)
        pid.append(intOrNull(job.pid))
        startedAt.append(job.startedAt.map(Timestamp.micros) ?? Self.nullInt)
        endedAt.append(job.endedAt.map(Timestamp.micros) ?? Self.nullInt)
        durationSeconds.append(job.durationSeconds ?? .nan)
        exitCode.append(intOrNull(job.exitCode))
        signal.append(intOrNull(job.signal))
        reason.append(job.reason.map { strings.intern($0) } ?? Self.nullString)
        attempt.append(Int64(job.attempt))
        parentId.append(intOrNull(job.parentId))
        retriedBy.append(intOrNull(job.retriedBy))
        queue.append(job.queue.map { strings.intern($0) } ?? Self.nullString)
        rerunOf.append(intOrNull(job.rerunOf))
        scheduleId.append(intOrNull(job.scheduleId))
        timeoutSeconds.append(job.timeoutSeconds ?? .nan)
        maxRssBytes.append(intOrNull(job.maxRssBytes))
        retries.append(intOrNull(job.retries))
        errorTail.append(job.errorTail.map { strings.intern($0) } ?? Self.nullString)
        errorSignature.append(job.errorSignature.map { strings.intern($0) } ?? Self.nullString)
        appendMetrics(job.metrics)
        count += 1
    }

    /// The job at `row`, rebuilt from the columns.
    public subscript(row: Int) -> Job {
        func int(_ v: Int64) -> Int? { v == Self.nullInt ? nil : Int(v) }
        func str(_ v: UInt32) -> String? { v == Self.nullString ? nil : strings[v] }
        func time(_ v: Int64) -> Date? { v == Self.nullInt ? nil : Timestamp.date(micros: v) }
        var labels: [String: String] = [:]
        for k in Int(labelOffsets[row])..<Int(labelOffsets[row + 1]) {
            labels[strings[labelKeys[k]]] = strings[labelValues[k]]
        }
        let duration = durationSeconds[row]
        return Job(
            id: Int(id[row]),
            instance: strings[instance[row]],
            name: strings[name[row]],
            command: commandArgs[Int(commandOffsets[row])..<Int(commandOffsets[row + 1])].map { strings[$0] },
            cwd: str(cwd[row]),
            labels: labels,
            status: JobStatus(code: status[row]) ?? .lost,
            pid: int(pid[row]),
            startedAt: time(startedAt[row]),
            endedAt: time(endedAt[row]),
            durationSeconds: duration.isNaN ? nil : duration,
            exitCode: int(exitCode[row]),
            signal: int(signal[row]),
            reason: str(reason[row]),
            attempt: Int(attempt[row]),
            parentId: int(parentId[row]),
            retriedBy: int(retriedBy[row]),
            queue: str(queue[row]),
            rerunOf: int(rerunOf[row]),
            scheduleId: int(scheduleId[row]),
            timeoutSeconds: timeoutSeconds[row].isNaN ? nil : timeoutSeconds[row],
            maxRssBytes: int(maxRssBytes[row]),
            retries: int(retries[row]),
            errorTail: str(errorTail[row]),
            errorSignature: str(errorSignature[row]),
            metrics: metrics(row: row)
        )
    }

    /// Every row as a ``Job``.
    public var jobs: [Job] {
        (0..<count).map { self[$0] }
    }

    /// The ``JobStatus`` of `row`.
    @inlinable
    public func statusOf(_ row: Int) -> JobStatus {
        JobStatus(code: status[row]) ?? .lost
    }

    // MARK: - Combining

    /// Appends every row of `other`, re-indexing its strings into this table's pool.
    public mutating func append(contentsOf other: JobTable) {
        var map = [UInt32](repeating: 0, count: other.strings.count)
        for (index, string) in other.strings.strings.enumerated() {
            map[index] = strings.intern(string)
        }
        func appendRemapped(_ dst: inout [UInt32], _ src: [UInt32]) {
            dst.reserveCapacity(dst.count + src.count)
            for v in src { dst.append(v == Self.nullString ? v : map[Int(v)]) }
        }
        func appendShifted(_ dst: inout [UInt32], _ src: [UInt32], by base: UInt32) {
            dst.reserveCapacity(dst.count + src.count)
            for v in src.dropFirst() { dst.append(v + base) }
        }
        reserveCapacity(other.count)
        id += other.id
        appendRemapped(&instance, other.instance)
        appendRemapped(&name, other.name)
        appendShifted(&commandOffsets, other.commandOffsets, by: UInt32(commandArgs.count))
        appendRemapped(&commandArgs, other.commandArgs)
        appendRemapped(&cwd, other.cwd)
        appendShifted(&labelOffsets, other.labelOffsets, by: UInt32(labelKeys.count))
        appendRemapped(&labelKeys, other.labelKeys)
        appendRemapped(&labelValues, other.labelValues)
        appendRemapped(&reason, other.reason)
        appendRemapped(&queue, other.queue)
        appendRemapped(&errorTail, other.errorTail)
        appendRemapped(&errorSignature, other.errorSignature)
        status += other.status
        pid += other.pid
        startedAt += other.startedAt
        endedAt += other.endedAt
        durationSeconds += other.durationSeconds
        exitCode += other.exitCode
        signal += other.signal
        attempt += other.attempt
        parentId += other.parentId
        retriedBy += other.retriedBy
        rerunOf += other.rerunOf
        scheduleId += other.scheduleId
        timeoutSeconds += other.timeoutSeconds
        maxRssBytes += other.maxRssBytes
        retries += other.retries
        appendMetrics(of: other)
        count += other.count
    }

    /// A table of the rows for which `isIncluded` is true, in order.
    public func filter(_ isIncluded: (Int) -> Bool) -> JobTable {
        var result = JobTable()
        result.strings = strings
        for row in 0..<count where isIncluded(row) {
            result.appendRow(row, of: self)
        }
        return result
    }

    /// Appends row `row` of `other`, which shares this table's string pool.
    private mutating func appendRow(_ row: Int, of other: JobTable) {
        id.append(other.id[row])
        instance.append(other.instance[row])
        name.append(other.name[row])
        commandArgs += other.commandArgs[Int(other.commandOffsets[row])..<Int(other.commandOffsets[row + 1])]
        commandOffsets.append(UInt32(commandArgs.count))
        cwd.append(other.cwd[row])
        let labels = Int(other.labelOffsets[row])..<Int(other.labelOffsets[row + 1])
        labelKeys += other.labelKeys[labels]
        labelValues += other.labelValues[labels]
        labelOffsets.append(UInt32(labelKeys.count))
        status.append(other.status[row])
        pid.append(other.pid[row])
        startedAt.append(other.startedAt[row])
        endedAt.append(other.endedAt[row])
        durationSeconds.append(other.durationSeconds[row])
        exitCode.append(other.exitCode[row])
        signal.append(other.signal[row])
        reason.append(other.reason[row])
        attempt.append(other.attempt[row])
        parentId.append(other.parentId[row])
        retriedBy.append(other.retriedBy[row])
        queue.append(other.queue[row])
        rerunOf.append(other.rerunOf[row])
        scheduleId.append(other.scheduleId[row])
        timeoutSeconds.append(other.timeoutSeconds[row])
        maxRssBytes.append(other.maxRssBytes[row])
        retries.append(other.retries[row])
        errorTail.append(other.errorTail[row])
        errorSignature.append(other.errorSignature[row])
        appendMetrics(of: other, row: row)
        count += 1
    }
}
