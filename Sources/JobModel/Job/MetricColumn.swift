import Foundation

/// Every metric of a job record, in order: the one list that JSON, CSV, JSON Lines,
/// Codable, the columnar ``JobTable`` and the snapshot batches follow.
///
/// A new metric is its computation (a stored property of ``JobMetrics``, filled by the
/// monitor or the exit record), its storage (a column of ``JobTable``, a field of
/// `snapshot.proto`) and one case here with its ``storage`` line; every format picks it up.
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

    /// Where the metric lives: in the record, in the table, in a snapshot batch.
    enum Storage {
        case integer(WritableKeyPath<JobMetrics, Int>, WritableKeyPath<JobTable, [Int64]>, SnapshotInteger)
        case real(
            WritableKeyPath<JobMetrics, Double>,
            WritableKeyPath<JobTable, [Double]>,
            WritableKeyPath<Batch, Jobrunner_Snapshot_V1_DoubleColumn>
        )
        /// Bit-packed in snapshots (8 jobs a byte).
        case flag(WritableKeyPath<JobMetrics, Bool>, WritableKeyPath<JobTable, [Bool]>, WritableKeyPath<Batch, Data>)
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
        case .sampleCount: .integer(\.sampleCount, \.sampleCount, .uint64(\.sampleCount))
        case .cpuPercentAvg: .real(\.cpuPercentAvg, \.cpuPercentAvg, \.cpuPercentAvg)
        case .cpuPercentMax: .real(\.cpuPercentMax, \.cpuPercentMax, \.cpuPercentMax)
        case .cpuSeconds: .real(\.cpuSeconds, \.cpuSeconds, \.cpuSeconds)
        case .rssBytesAvg: .integer(\.rssBytesAvg, \.rssBytesAvg, .uint64(\.rssBytesAvg))
        case .rssBytesMax: .integer(\.rssBytesMax, \.rssBytesMax, .uint64(\.rssBytesMax))
        case .rssTrendBytesPerSecond:
            .real(\.rssTrendBytesPerSecond, \.rssTrendBytesPerSecond, \.rssTrendBytesPerSecond)
        case .memoryLeakSuspected: .flag(\.memoryLeakSuspected, \.memoryLeakSuspected, \.memoryLeakSuspected)
        case .ioOpsPerSecondAvg: .real(\.ioOpsPerSecondAvg, \.ioOpsPerSecondAvg, \.ioOpsPerSecondAvg)
        case .ioOpsPerSecondPeak: .real(\.ioOpsPerSecondPeak, \.ioOpsPerSecondPeak, \.ioOpsPerSecondPeak)
        case .ioReadBytes: .integer(\.ioReadBytes, \.ioReadBytes, .uint64(\.ioReadBytes))
        case .ioWriteBytes: .integer(\.ioWriteBytes, \.ioWriteBytes, .uint64(\.ioWriteBytes))
        case .netConnectionsPerSecondAvg:
            .real(\.netConnectionsPerSecondAvg, \.netConnectionsPerSecondAvg, \.netConnectionsPerSecondAvg)
        case .netConnectionsPerSecondPeak:
            .real(\.netConnectionsPerSecondPeak, \.netConnectionsPerSecondPeak, \.netConnectionsPerSecondPeak)
        case .netConnectionsTotal:
            .integer(\.netConnectionsTotal, \.netConnectionsTotal, .uint64(\.netConnectionsTotal))
        case .stalledSeconds: .real(\.stalledSeconds, \.stalledSeconds, \.stalledSeconds)
        case .processCountMax: .integer(\.processCountMax, \.processCountMax, .uint32(\.processCountMax))
        case .leftoverProcesses: .integer(\.leftoverProcesses, \.leftoverProcesses, .uint32(\.leftoverProcesses))
        case .memoryPeakBytes: .integer(\.memoryPeakBytes, \.memoryPeakBytes, .uint64(\.memoryPeakBytes))
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
    func csvCell(_ storage: MetricColumn.Storage) -> String {
        switch storage {
        case .integer(let metric, _, _): String(self[keyPath: metric])
        case .real(let metric, _, _): "\(self[keyPath: metric])"
        case .flag(let metric, _, _): self[keyPath: metric] ? "true" : "false"
        }
    }
}

extension JobTable {
    /// Reserves room for `total` rows in every metric column.
    mutating func reserveMetricCapacity(_ total: Int) {
        for (_, storage) in MetricColumn.columns {
            switch storage {
            case .integer(_, let t, _): self[keyPath: t].reserveCapacity(total)
            case .real(_, let t, _): self[keyPath: t].reserveCapacity(total)
            case .flag(_, let t, _): self[keyPath: t].reserveCapacity(total)
            }
        }
    }

    /// Appends `m` as the metrics of a new last row.
    mutating func appendMetrics(_ m: JobMetrics) {
        for (_, storage) in MetricColumn.columns {
            switch storage {
            case .integer(let k, let t, _): self[keyPath: t].append(Int64(m[keyPath: k]))
            case .real(let k, let t, _): self[keyPath: t].append(m[keyPath: k])
            case .flag(let k, let t, _): self[keyPath: t].append(m[keyPath: k])
            }
        }
    }

    /// Sets the metrics of `row` to `m`.
    mutating func setMetrics(_ m: JobMetrics, row: Int) {
        for (_, storage) in MetricColumn.columns {
            switch storage {
            case .integer(let k, let t, _): self[keyPath: t][row] = Int64(m[keyPath: k])
            case .real(let k, let t, _): self[keyPath: t][row] = m[keyPath: k]
            case .flag(let k, let t, _): self[keyPath: t][row] = m[keyPath: k]
            }
        }
    }

    /// The metrics of `row`.
    func metrics(row: Int) -> JobMetrics {
        var m = JobMetrics()
        for column in MetricColumn.allCases { m[column: column] = value(column, row: row) }
        return m
    }

    /// Appends the metric columns of `other`: all its rows (`row` nil), or one.
    mutating func appendMetrics(of other: JobTable, row: Int? = nil) {
        for (_, storage) in MetricColumn.columns {
            switch storage {
            case .integer(_, let t, _):
                if let row {
                    self[keyPath: t].append(other[keyPath: t][row])
                } else {
                    self[keyPath: t] += other[keyPath: t]
                }
            case .real(_, let t, _):
                if let row {
                    self[keyPath: t].append(other[keyPath: t][row])
                } else {
                    self[keyPath: t] += other[keyPath: t]
                }
            case .flag(_, let t, _):
                if let row {
                    self[keyPath: t].append(other[keyPath: t][row])
                } else {
                    self[keyPath: t] += other[keyPath: t]
                }
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

// The paths run for every job the API writes or a table rebuilds use these switches, not
// the key paths of `storage`: applying a key path cost about 0.4 µs, and a page of 100 jobs
// of a 1,000,000-job history took 3.3 ms p99 instead of 1.1 ms (scripts/bench-scale.py).
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
