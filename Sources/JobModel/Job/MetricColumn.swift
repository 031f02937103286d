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
        for (_, storage) in MetricColumn.columns {
            switch storage {
            case .integer(let k, let t, _): m[keyPath: k] = Int(self[keyPath: t][row])
            case .real(let k, let t, _): m[keyPath: k] = self[keyPath: t][row]
            case .flag(let k, let t, _): m[keyPath: k] = self[keyPath: t][row]
            }
        }
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
