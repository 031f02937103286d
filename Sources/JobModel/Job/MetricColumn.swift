import Foundation

/// Every metric of a job record, in order: the one list that JSON, CSV, JSON Lines,
/// Codable, the columnar ``JobTable`` and the snapshot batches follow.
///
/// A new metric is its computation (a stored property of ``JobMetrics``, filled by the
/// monitor or the exit record), its storage (a column of ``JobTable``, a field of
/// `snapshot.proto`) and one case here: its ``storage`` line and its line in each of the
/// exhaustive switches below (the compiler lists them). Every format then picks it up.
public enum MetricColumn: String, CaseIterable, Sendable {
    case sampleCount, cpuPercentAvg, cpuPercentMax, cpuSeconds, rssBytesAvg, rssBytesMax, rssTrendBytesPerSecond
    case memoryLeakSuspected, ioOpsPerSecondAvg, ioOpsPerSecondPeak, ioReadBytes, ioWriteBytes
    case netConnectionsPerSecondAvg, netConnectionsPerSecondPeak, netConnectionsTotal, stalledSeconds
    case processCountMax, leftoverProcesses, memoryPeakBytes

    typealias Batch = Jobrunner_Snapshot_V1_Batch

    /// How an integer metric is stored in a snapshot batch.
    enum SnapshotInteger {
        case uint64(WritableKeyPath<Batch, [UInt64]>)
        case uint32(WritableKeyPath<Batch, [UInt32]>)
    }

    /// Whether a snapshot must have the column: those of format 1 must; later ones read as
    /// zeros when absent, and some are written only when a job of the batch has a figure.
    enum SnapshotPresence {
        case required, optional, onlyWhenNonZero
    }

    /// Where the metric lives: its column of the table, its field of a snapshot batch.
    enum Storage {
        case integer(WritableKeyPath<JobTable, [Int64]>, SnapshotInteger)
        case real(WritableKeyPath<JobTable, [Double]>, WritableKeyPath<Batch, Jobrunner_Snapshot_V1_DoubleColumn>)
        /// Bit-packed in snapshots (8 jobs a byte).
        case flag(WritableKeyPath<JobTable, [Bool]>, WritableKeyPath<Batch, Data>)
    }

    /// Every column with its storage, in order: the key paths are made once (building them
    /// for each job tripled the time of a page of 100 jobs from a 1,000,000-job history).
    ///
    /// `nonisolated(unsafe)`: key paths are not `Sendable` in this toolchain, but these
    /// arrays are constants (a `let`, initialized once, thread-safely, by the runtime) and
    /// a key path object is immutable once made; threads only read them.
    nonisolated(unsafe) static let columns: [(column: MetricColumn, storage: Storage)] = allCases.map {
        ($0, $0.storage)
    }

    /// The columns in the JSON writer's order (keys sorted, as an encoder with sorted keys
    /// writes them).
    nonisolated(unsafe) static let sortedColumns: [(column: MetricColumn, storage: Storage)] = columns.sorted {
        $0.column.rawValue < $1.column.rawValue
    }

    var storage: Storage {
        switch self {
        case .sampleCount: .integer(\.sampleCount, .uint64(\.sampleCount))
        case .cpuPercentAvg: .real(\.cpuPercentAvg, \.cpuPercentAvg)
        case .cpuPercentMax: .real(\.cpuPercentMax, \.cpuPercentMax)
        case .cpuSeconds: .real(\.cpuSeconds, \.cpuSeconds)
        case .rssBytesAvg: .integer(\.rssBytesAvg, .uint64(\.rssBytesAvg))
        case .rssBytesMax: .integer(\.rssBytesMax, .uint64(\.rssBytesMax))
        case .rssTrendBytesPerSecond:
            .real(\.rssTrendBytesPerSecond, \.rssTrendBytesPerSecond)
        case .memoryLeakSuspected: .flag(\.memoryLeakSuspected, \.memoryLeakSuspected)
        case .ioOpsPerSecondAvg: .real(\.ioOpsPerSecondAvg, \.ioOpsPerSecondAvg)
        case .ioOpsPerSecondPeak: .real(\.ioOpsPerSecondPeak, \.ioOpsPerSecondPeak)
        case .ioReadBytes: .integer(\.ioReadBytes, .uint64(\.ioReadBytes))
        case .ioWriteBytes: .integer(\.ioWriteBytes, .uint64(\.ioWriteBytes))
        case .netConnectionsPerSecondAvg:
            .real(\.netConnectionsPerSecondAvg, \.netConnectionsPerSecondAvg)
        case .netConnectionsPerSecondPeak:
            .real(\.netConnectionsPerSecondPeak, \.netConnectionsPerSecondPeak)
        case .netConnectionsTotal:
            .integer(\.netConnectionsTotal, .uint64(\.netConnectionsTotal))
        case .stalledSeconds: .real(\.stalledSeconds, \.stalledSeconds)
        case .processCountMax: .integer(\.processCountMax, .uint32(\.processCountMax))
        case .leftoverProcesses: .integer(\.leftoverProcesses, .uint32(\.leftoverProcesses))
        case .memoryPeakBytes: .integer(\.memoryPeakBytes, .uint64(\.memoryPeakBytes))
        }
    }

    var snapshotPresence: SnapshotPresence {
        switch self {
        case .leftoverProcesses: .optional  // added after format 1 shipped
        case .memoryPeakBytes: .onlyWhenNonZero  // per-job cgroups: most hosts have none
        default: .required
        }
    }

}

extension JobMetrics {
    /// The metric's value as the CSV writes it.
    func csvCell(_ column: MetricColumn) -> String {
        switch self[column: column] {
        case .integer(let v): String(v)
        case .real(let v): "\(v)"
        case .flag(let v): v ? "true" : "false"
        }
    }
}

extension JobTable {
    /// Reserves room for `total` rows in every metric column.
    mutating func reserveMetricCapacity(_ total: Int) {
        for (_, storage) in MetricColumn.columns {
            switch storage {
            case .integer(let t, _): self[keyPath: t].reserveCapacity(total)
            case .real(let t, _): self[keyPath: t].reserveCapacity(total)
            case .flag(let t, _): self[keyPath: t].reserveCapacity(total)
            }
        }
    }

    /// Appends `m` as the metrics of a new last row.
    mutating func appendMetrics(_ m: JobMetrics) {
        for column in MetricColumn.allCases { append(m[column: column], to: column) }
    }

    /// Sets the metrics of `row` to `m`.
    mutating func setMetrics(_ m: JobMetrics, row: Int) {
        for column in MetricColumn.allCases { set(m[column: column], in: column, row: row) }
    }

    /// The metrics of `row`.
    func metrics(row: Int) -> JobMetrics {
        var m = JobMetrics()
        for column in MetricColumn.allCases { m[column: column] = value(column, row: row) }
        return m
    }

    /// Appends the metric columns of `other`: all its rows (`row` nil), or one.
    mutating func appendMetrics(of other: JobTable, row: Int? = nil) {
        if let row {
            for column in MetricColumn.allCases { append(other.value(column, row: row), to: column) }
            return
        }
        for (_, storage) in MetricColumn.columns {
            switch storage {
            case .integer(let t, _): self[keyPath: t] += other[keyPath: t]
            case .real(let t, _): self[keyPath: t] += other[keyPath: t]
            case .flag(let t, _): self[keyPath: t] += other[keyPath: t]
            }
        }
    }
}

/// One metric's value.
enum MetricValue: Equatable {
    case integer(Int)
    case real(Double)
    case flag(Bool)
}

// What runs once per job (the API's JSON, a table row, CSV, Codable, appends and updates of
// rows) goes through these switches, not through key paths: applying a key path cost about
// 0.4 µs, and with key paths a page of 100 jobs of a 1,000,000-job history took 3.3 ms p99
// instead of 1.1 ms (scripts/bench-scale.py). Key paths (``MetricColumn/storage``) serve
// what runs once per column: snapshot batches, capacity, whole-table appends.
// The switches are exhaustive: a new case does not compile until each has its line.

extension JobMetrics {
    subscript(column column: MetricColumn) -> MetricValue {
        get {
            switch column {
            case .sampleCount: .integer(sampleCount)
            case .cpuPercentAvg: .real(cpuPercentAvg)
            case .cpuPercentMax: .real(cpuPercentMax)
            case .cpuSeconds: .real(cpuSeconds)
            case .rssBytesAvg: .integer(rssBytesAvg)
            case .rssBytesMax: .integer(rssBytesMax)
            case .rssTrendBytesPerSecond: .real(rssTrendBytesPerSecond)
            case .memoryLeakSuspected: .flag(memoryLeakSuspected)
            case .ioOpsPerSecondAvg: .real(ioOpsPerSecondAvg)
            case .ioOpsPerSecondPeak: .real(ioOpsPerSecondPeak)
            case .ioReadBytes: .integer(ioReadBytes)
            case .ioWriteBytes: .integer(ioWriteBytes)
            case .netConnectionsPerSecondAvg: .real(netConnectionsPerSecondAvg)
            case .netConnectionsPerSecondPeak: .real(netConnectionsPerSecondPeak)
            case .netConnectionsTotal: .integer(netConnectionsTotal)
            case .stalledSeconds: .real(stalledSeconds)
            case .processCountMax: .integer(processCountMax)
            case .leftoverProcesses: .integer(leftoverProcesses)
            case .memoryPeakBytes: .integer(memoryPeakBytes)
            }
        }
        set {
            let value = newValue
            switch column {
            case .sampleCount: if case .integer(let v) = value { sampleCount = v }
            case .cpuPercentAvg: if case .real(let v) = value { cpuPercentAvg = v }
            case .cpuPercentMax: if case .real(let v) = value { cpuPercentMax = v }
            case .cpuSeconds: if case .real(let v) = value { cpuSeconds = v }
            case .rssBytesAvg: if case .integer(let v) = value { rssBytesAvg = v }
            case .rssBytesMax: if case .integer(let v) = value { rssBytesMax = v }
            case .rssTrendBytesPerSecond: if case .real(let v) = value { rssTrendBytesPerSecond = v }
            case .memoryLeakSuspected: if case .flag(let v) = value { memoryLeakSuspected = v }
            case .ioOpsPerSecondAvg: if case .real(let v) = value { ioOpsPerSecondAvg = v }
            case .ioOpsPerSecondPeak: if case .real(let v) = value { ioOpsPerSecondPeak = v }
            case .ioReadBytes: if case .integer(let v) = value { ioReadBytes = v }
            case .ioWriteBytes: if case .integer(let v) = value { ioWriteBytes = v }
            case .netConnectionsPerSecondAvg: if case .real(let v) = value { netConnectionsPerSecondAvg = v }
            case .netConnectionsPerSecondPeak: if case .real(let v) = value { netConnectionsPerSecondPeak = v }
            case .netConnectionsTotal: if case .integer(let v) = value { netConnectionsTotal = v }
            case .stalledSeconds: if case .real(let v) = value { stalledSeconds = v }
            case .processCountMax: if case .integer(let v) = value { processCountMax = v }
            case .leftoverProcesses: if case .integer(let v) = value { leftoverProcesses = v }
            case .memoryPeakBytes: if case .integer(let v) = value { memoryPeakBytes = v }
            }
        }
    }
}

extension JobTable {
    /// The value of `column` at `row`.
    func value(_ column: MetricColumn, row: Int) -> MetricValue {
        switch column {
        case .sampleCount: .integer(Int(sampleCount[row]))
        case .cpuPercentAvg: .real(cpuPercentAvg[row])
        case .cpuPercentMax: .real(cpuPercentMax[row])
        case .cpuSeconds: .real(cpuSeconds[row])
        case .rssBytesAvg: .integer(Int(rssBytesAvg[row]))
        case .rssBytesMax: .integer(Int(rssBytesMax[row]))
        case .rssTrendBytesPerSecond: .real(rssTrendBytesPerSecond[row])
        case .memoryLeakSuspected: .flag(memoryLeakSuspected[row])
        case .ioOpsPerSecondAvg: .real(ioOpsPerSecondAvg[row])
        case .ioOpsPerSecondPeak: .real(ioOpsPerSecondPeak[row])
        case .ioReadBytes: .integer(Int(ioReadBytes[row]))
        case .ioWriteBytes: .integer(Int(ioWriteBytes[row]))
        case .netConnectionsPerSecondAvg: .real(netConnectionsPerSecondAvg[row])
        case .netConnectionsPerSecondPeak: .real(netConnectionsPerSecondPeak[row])
        case .netConnectionsTotal: .integer(Int(netConnectionsTotal[row]))
        case .stalledSeconds: .real(stalledSeconds[row])
        case .processCountMax: .integer(Int(processCountMax[row]))
        case .leftoverProcesses: .integer(Int(leftoverProcesses[row]))
        case .memoryPeakBytes: .integer(Int(memoryPeakBytes[row]))
        }
    }
}

extension MetricValue {
    var integer: Int { if case .integer(let v) = self { v } else { 0 } }
    var real: Double { if case .real(let v) = self { v } else { 0 } }
    var flag: Bool { if case .flag(let v) = self { v } else { false } }
}

extension JobTable {
    /// Appends `value` to `column`.
    mutating func append(_ value: MetricValue, to column: MetricColumn) {
        switch column {
        case .sampleCount: sampleCount.append(Int64(value.integer))
        case .cpuPercentAvg: cpuPercentAvg.append(value.real)
        case .cpuPercentMax: cpuPercentMax.append(value.real)
        case .cpuSeconds: cpuSeconds.append(value.real)
        case .rssBytesAvg: rssBytesAvg.append(Int64(value.integer))
        case .rssBytesMax: rssBytesMax.append(Int64(value.integer))
        case .rssTrendBytesPerSecond: rssTrendBytesPerSecond.append(value.real)
        case .memoryLeakSuspected: memoryLeakSuspected.append(value.flag)
        case .ioOpsPerSecondAvg: ioOpsPerSecondAvg.append(value.real)
        case .ioOpsPerSecondPeak: ioOpsPerSecondPeak.append(value.real)
        case .ioReadBytes: ioReadBytes.append(Int64(value.integer))
        case .ioWriteBytes: ioWriteBytes.append(Int64(value.integer))
        case .netConnectionsPerSecondAvg: netConnectionsPerSecondAvg.append(value.real)
        case .netConnectionsPerSecondPeak: netConnectionsPerSecondPeak.append(value.real)
        case .netConnectionsTotal: netConnectionsTotal.append(Int64(value.integer))
        case .stalledSeconds: stalledSeconds.append(value.real)
        case .processCountMax: processCountMax.append(Int64(value.integer))
        case .leftoverProcesses: leftoverProcesses.append(Int64(value.integer))
        case .memoryPeakBytes: memoryPeakBytes.append(Int64(value.integer))
        }
    }

    /// Sets `column` at `row` to `value`.
    mutating func set(_ value: MetricValue, in column: MetricColumn, row: Int) {
        switch column {
        case .sampleCount: sampleCount[row] = Int64(value.integer)
        case .cpuPercentAvg: cpuPercentAvg[row] = value.real
        case .cpuPercentMax: cpuPercentMax[row] = value.real
        case .cpuSeconds: cpuSeconds[row] = value.real
        case .rssBytesAvg: rssBytesAvg[row] = Int64(value.integer)
        case .rssBytesMax: rssBytesMax[row] = Int64(value.integer)
        case .rssTrendBytesPerSecond: rssTrendBytesPerSecond[row] = value.real
        case .memoryLeakSuspected: memoryLeakSuspected[row] = value.flag
        case .ioOpsPerSecondAvg: ioOpsPerSecondAvg[row] = value.real
        case .ioOpsPerSecondPeak: ioOpsPerSecondPeak[row] = value.real
        case .ioReadBytes: ioReadBytes[row] = Int64(value.integer)
        case .ioWriteBytes: ioWriteBytes[row] = Int64(value.integer)
        case .netConnectionsPerSecondAvg: netConnectionsPerSecondAvg[row] = value.real
        case .netConnectionsPerSecondPeak: netConnectionsPerSecondPeak[row] = value.real
        case .netConnectionsTotal: netConnectionsTotal[row] = Int64(value.integer)
        case .stalledSeconds: stalledSeconds[row] = value.real
        case .processCountMax: processCountMax[row] = Int64(value.integer)
        case .leftoverProcesses: leftoverProcesses[row] = Int64(value.integer)
        case .memoryPeakBytes: memoryPeakBytes[row] = Int64(value.integer)
        }
    }
}
