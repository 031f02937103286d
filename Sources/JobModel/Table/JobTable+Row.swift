/// One job in the table's own terms (pooled strings, Unix microseconds, sentinels for
/// absent values), as the CSV and JSON Lines readers fill it from their bytes: no `Job`,
/// no `String` for a value the pool has.
struct TableRow {
    var id: Int64 = 0
    /// `nullString` for `""` (interned when the row is appended).
    var instance = JobTable.nullString
    var name: UInt32 = 0
    var command: [UInt32] = []
    var cwd = JobTable.nullString
    var labels: [(key: UInt32, value: UInt32)] = []
    var status: UInt8 = 0
    var pid = JobTable.nullInt
    var startedAt = JobTable.nullInt
    var endedAt = JobTable.nullInt
    var durationSeconds = Double.nan
    var exitCode = JobTable.nullInt
    var signal = JobTable.nullInt
    var reason = JobTable.nullString
    var attempt: Int64 = 1
    var parentId = JobTable.nullInt
    var retriedBy = JobTable.nullInt
    var queue = JobTable.nullString
    var rerunOf = JobTable.nullInt
    var scheduleId = JobTable.nullInt
    var timeoutSeconds = Double.nan
    var maxRssBytes = JobTable.nullInt
    var retries = JobTable.nullInt
    var errorTail = JobTable.nullString
    var errorSignature = JobTable.nullString
    /// The metrics by their index in ``MetricColumn/columns``: integers and reals (flags
    /// as 0 or 1 in `integers`).
    var integers = [Int64](repeating: 0, count: MetricColumn.columns.count)
    var reals = [Double](repeating: 0, count: MetricColumn.columns.count)

    /// Back to an empty row, keeping the arrays' room.
    mutating func reset() {
        id = 0
        instance = JobTable.nullString
        name = 0
        cwd = JobTable.nullString
        reason = JobTable.nullString
        queue = JobTable.nullString
        status = 0
        attempt = 1
        durationSeconds = .nan
        timeoutSeconds = .nan
        pid = JobTable.nullInt
        startedAt = JobTable.nullInt
        endedAt = JobTable.nullInt
        exitCode = JobTable.nullInt
        signal = JobTable.nullInt
        parentId = JobTable.nullInt
        retriedBy = JobTable.nullInt
        rerunOf = JobTable.nullInt
        scheduleId = JobTable.nullInt
        maxRssBytes = JobTable.nullInt
        retries = JobTable.nullInt
        errorTail = JobTable.nullString
        errorSignature = JobTable.nullString
        command.removeAll(keepingCapacity: true)
        labels.removeAll(keepingCapacity: true)
        for k in integers.indices {
            integers[k] = 0
            reals[k] = 0
        }
    }
}

/// The metric columns of rows being read, kept apart from the table (a key path per value
/// and row would cost more than the parsing) and put in at the end.
extension MetricColumn {
    /// How a metric's values are kept: an integer, a real or a flag.
    enum Kind: Sendable { case integer, real, flag }

    /// Each column's kind, in ``columns`` order, without its key paths (retaining a key
    /// path per value costs more than reading the value).
    static let kinds: [Kind] = columns.map {
        switch $0.storage {
        case .integer: .integer
        case .real: .real
        case .flag: .flag
        }
    }
}

struct MetricBuffers {
    private let kinds = MetricColumn.kinds
    private var integers: [[Int64]] = Array(repeating: [], count: MetricColumn.columns.count)
    private var reals: [[Double]] = Array(repeating: [], count: MetricColumn.columns.count)
    private var flags: [[Bool]] = Array(repeating: [], count: MetricColumn.columns.count)

    mutating func reserveCapacity(_ n: Int) {
        for (k, kind) in kinds.enumerated() {
            switch kind {
            case .integer: integers[k].reserveCapacity(n)
            case .real: reals[k].reserveCapacity(n)
            case .flag: flags[k].reserveCapacity(n)
            }
        }
    }

    mutating func append(_ row: TableRow) {
        for k in 0..<kinds.count {
            switch kinds[k] {
            case .integer: integers[k].append(row.integers[k])
            case .real: reals[k].append(row.reals[k])
            case .flag: flags[k].append(row.integers[k] != 0)
            }
        }
    }

    /// Puts the columns into `table` (which must have no metric rows of its own).
    consuming func install(into table: inout JobTable) {
        for (k, (_, storage)) in MetricColumn.columns.enumerated() {
            switch storage {
            case .integer(let column, _): table[keyPath: column] = integers[k]
            case .real(let column, _): table[keyPath: column] = reals[k]
            case .flag(let column, _): table[keyPath: column] = flags[k]
            }
        }
    }
}

extension JobTable {
    /// Appends `row` (its metrics go to `metrics`); labels are kept sorted by key, a key
    /// given twice keeps its last value (as a JSON decoder does).
    ///
    /// `row` is `inout` only so that a reader's row is not copied on the way.
    mutating func append(_ row: inout TableRow, metrics: inout MetricBuffers) {
        id.append(row.id)
        instance.append(row.instance == Self.nullString ? strings.intern("") : row.instance)
        name.append(row.name)
        commandArgs += row.command
        commandOffsets.append(UInt32(commandArgs.count))
        cwd.append(row.cwd)
        if row.labels.count == 1 {
            labelKeys.append(row.labels[0].key)
            labelValues.append(row.labels[0].value)
        } else if row.labels.count > 1 {
            let pool = strings
            // Stable: of a key given twice, the later value comes last.
            let sorted = row.labels.enumerated().sorted {
                let (a, b) = (pool[$0.element.key], pool[$1.element.key])
                return a != b ? a < b : $0.offset < $1.offset
            }
            for (k, pair) in sorted.enumerated() {
                if k + 1 < sorted.count, sorted[k + 1].element.key == pair.element.key { continue }
                labelKeys.append(pair.element.key)
                labelValues.append(pair.element.value)
            }
        }
        labelOffsets.append(UInt32(labelKeys.count))
        status.append(row.status)
        pid.append(row.pid)
        startedAt.append(row.startedAt)
        endedAt.append(row.endedAt)
        durationSeconds.append(row.durationSeconds)
        exitCode.append(row.exitCode)
        signal.append(row.signal)
        reason.append(row.reason)
        attempt.append(row.attempt)
        parentId.append(row.parentId)
        retriedBy.append(row.retriedBy)
        queue.append(row.queue)
        rerunOf.append(row.rerunOf)
        scheduleId.append(row.scheduleId)
        timeoutSeconds.append(row.timeoutSeconds)
        maxRssBytes.append(row.maxRssBytes)
        retries.append(row.retries)
        errorTail.append(row.errorTail)
        errorSignature.append(row.errorSignature)
        metrics.append(row)
        count += 1
    }
}

extension TableRow {
    /// The row of `job`, its strings interned into `pool`: for a record a reader's fast
    /// path leaves to `JSONDecoder`.
    init(_ job: Job, pool: inout StringPool) {
        func int(_ v: Int?) -> Int64 { v.map(Int64.init) ?? JobTable.nullInt }
        func string(_ v: String?) -> UInt32 { v.map { pool.intern($0) } ?? JobTable.nullString }
        self.init()
        id = Int64(job.id)
        instance = pool.intern(job.instance)
        name = pool.intern(job.name)
        command = job.command.map { pool.intern($0) }
        cwd = string(job.cwd)
        labels = job.labels.map { (pool.intern($0.key), pool.intern($0.value)) }
        status = job.status.code
        pid = int(job.pid)
        startedAt = job.startedAt.map(Timestamp.micros) ?? JobTable.nullInt
        endedAt = job.endedAt.map(Timestamp.micros) ?? JobTable.nullInt
        durationSeconds = job.durationSeconds ?? .nan
        exitCode = int(job.exitCode)
        signal = int(job.signal)
        reason = string(job.reason)
        attempt = Int64(job.attempt)
        parentId = int(job.parentId)
        retriedBy = int(job.retriedBy)
        queue = string(job.queue)
        rerunOf = int(job.rerunOf)
        scheduleId = int(job.scheduleId)
        timeoutSeconds = job.timeoutSeconds ?? .nan
        maxRssBytes = int(job.maxRssBytes)
        retries = int(job.retries)
        errorTail = string(job.errorTail)
        errorSignature = string(job.errorSignature)
        for (k, (column, _)) in MetricColumn.columns.enumerated() {
            switch job.metrics[column: column] {
            case .integer(let v): integers[k] = Int64(v)
            case .real(let v): reals[k] = v
            case .flag(let v): integers[k] = v ? 1 : 0
            }
        }
    }
}
