import Foundation

/// Transposes rows of a ``JobTable`` to and from one protobuf ``Batch`` (see snapshot.proto).
///
/// Each column is built in its own pass. Decoding checks every length and index, so a
/// damaged batch is reported, never trusted.
enum BatchCodec {
    typealias Batch = Jobrunner_Snapshot_V1_Batch
    typealias DoubleColumn = Jobrunner_Snapshot_V1_DoubleColumn

    // MARK: - Integer encodings

    @inline(__always)
    static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }

    @inline(__always)
    static func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }

    @inline(__always)
    static func nullable(_ v: Int64) -> UInt64 { v == JobTable.nullInt ? 0 : zigzag(v) &+ 1 }

    @inline(__always)
    static func fromNullable(_ v: UInt64) -> Int64 { v == 0 ? JobTable.nullInt : unzigzag(v &- 1) }

    static let powersOfTen: [Double] = [1, 10, 100, 1000, 1_000_000]

    static func encodeDoubles(_ values: ArraySlice<Double>) -> DoubleColumn {
        var column = DoubleColumn()
        var nulls = [UInt8](repeating: 0, count: (values.count + 7) / 8)
        var anyNull = false
        for (i, v) in values.enumerated() where v.isNaN {
            nulls[i >> 3] |= 1 << UInt8(i & 7)
            anyNull = true
        }
        if anyNull { column.nulls = Data(nulls) }
        scales: for (scale, factor) in powersOfTen.enumerated() {
            for v in values where !v.isNaN {
                let x = (v * factor).rounded()
                guard abs(x) < 9.0e15, x / factor == v else { continue scales }
            }
            column.decimalScale = UInt32(scale)
            column.scaled = values.map { $0.isNaN ? 0 : Int64(($0 * factor).rounded()) }
            return column
        }
        column.raw = values.map { $0.isNaN ? 0 : $0 }
        return column
    }

    static func decodeDoubles(
        _ column: DoubleColumn,
        count: Int,
        field: String
    ) throws(BatchDecodingError)
        -> [Double]
    {
        var values: [Double]
        if !column.raw.isEmpty || (count > 0 && column.scaled.isEmpty) {
            guard column.raw.count == count else { throw .length(field, column.raw.count, count) }
            values = column.raw
        } else {
            guard column.scaled.count == count else { throw .length(field, column.scaled.count, count) }
            guard Int(column.decimalScale) < powersOfTen.count else {
                throw .invalid("\(field): unknown decimal scale \(column.decimalScale)")
            }
            let factor = powersOfTen[Int(column.decimalScale)]
            values = column.scaled.map { Double($0) / factor }
        }
        if !column.nulls.isEmpty {
            guard column.nulls.count == (count + 7) / 8 else {
                throw .length("\(field) nulls", column.nulls.count, count)
            }
            let nulls = [UInt8](column.nulls)
            for i in 0..<count where nulls[i >> 3] & (1 << UInt8(i & 7)) != 0 {
                values[i] = .nan
            }
        }
        return values
    }

    /// Nullable string columns added after format 1 (batch-local indices + 1, 0 = null),
    /// written like ``optionalIntegers``.
    ///
    /// `nonisolated(unsafe)`: as ``MetricColumn/columns`` — constant key paths, only read.
    nonisolated(unsafe) static let optionalStrings:
        [(table: WritableKeyPath<JobTable, [UInt32]>, batch: WritableKeyPath<Batch, [UInt32]>, field: String)] = [
            (\.queue, \.queue, "queue"), (\.errorTail, \.errorTail, "errorTail"),
            (\.errorSignature, \.errorSignature, "errorSignature"),
        ]

    /// Nullable integer columns added after format 1 shipped: written only when a row of
    /// the batch has a value (absent = every row null), so older readers skip them.
    ///
    /// `nonisolated(unsafe)`: as ``MetricColumn/columns`` — constant key paths, only read.
    nonisolated(unsafe) static let optionalIntegers:
        [(table: WritableKeyPath<JobTable, [Int64]>, batch: WritableKeyPath<Batch, [UInt64]>, field: String)] = [
            (\.rerunOf, \.rerunOf, "rerunOf"), (\.scheduleId, \.scheduleID, "scheduleId"),
            (\.maxRssBytes, \.maxRssBytes, "maxRssBytes"), (\.retries, \.retries, "retries"),
        ]

    // MARK: - Encode

    /// Scratch space reused from batch to batch: global string index → batch index.
    struct Scratch {
        var local: [UInt32] = []
        var touched: [UInt32] = []
    }

    static func encode(_ table: JobTable, rows: Range<Int>, scratch: inout Scratch) -> Batch {
        var batch = Batch()
        let n = rows.count
        batch.count = UInt32(n)
        if scratch.local.count < table.strings.count {
            scratch.local += [UInt32](repeating: .max, count: table.strings.count - scratch.local.count)
        }
        var strings: [String] = []
        func local(_ global: UInt32) -> UInt32 {
            let existing = scratch.local[Int(global)]
            if existing != .max { return existing }
            let index = UInt32(strings.count)
            strings.append(table.strings[global])
            scratch.local[Int(global)] = index
            scratch.touched.append(global)
            return index
        }
        func localNullable(_ global: UInt32) -> UInt32 { global == JobTable.nullString ? 0 : local(global) + 1 }

        var previous: Int64 = 0
        batch.idDelta = table.id[rows].map { id in
            defer { previous = id }
            return id &- previous
        }
        batch.instance = table.instance[rows].map(local)
        batch.name = table.name[rows].map(local)
        batch.commandCount = rows.map { table.commandOffsets[$0 + 1] - table.commandOffsets[$0] }
        batch.commandArgs = table.commandArgs[
            Int(table.commandOffsets[rows.lowerBound])..<Int(table.commandOffsets[rows.upperBound])
        ].map(local)
        batch.cwd = table.cwd[rows].map(localNullable)
        batch.labelCount = rows.map { table.labelOffsets[$0 + 1] - table.labelOffsets[$0] }
        let labels = Int(table.labelOffsets[rows.lowerBound])..<Int(table.labelOffsets[rows.upperBound])
        batch.labelKeys = table.labelKeys[labels].map(local)
        batch.labelValues = table.labelValues[labels].map(local)
        batch.status = table.status[rows].map { UInt32($0) }
        batch.pid = table.pid[rows].map(nullable)
        var base: Int64 = 0
        batch.startedAtDelta = table.startedAt[rows].map { t in
            guard t != JobTable.nullInt else { return 0 }
            defer { base = t }
            return zigzag(t &- base) &+ 1
        }
        base = 0
        batch.endedAtDelta = rows.map { row in
            let start = table.startedAt[row]
            if start != JobTable.nullInt { base = start }
            let end = table.endedAt[row]
            return end == JobTable.nullInt ? 0 : zigzag(end &- base) &+ 1
        }
        batch.durationSeconds = encodeDoubles(table.durationSeconds[rows])
        batch.exitCode = table.exitCode[rows].map(nullable)
        batch.signal = table.signal[rows].map(nullable)
        batch.reason = table.reason[rows].map(localNullable)
        batch.attempt = table.attempt[rows].map { UInt32(clamping: $0) }
        batch.parentID = table.parentId[rows].map(nullable)
        batch.retriedBy = table.retriedBy[rows].map(nullable)
        // Workflow columns: written only when a row of the batch has a value.
        for column in optionalStrings
        where table[keyPath: column.table][rows].contains(where: { $0 != JobTable.nullString }) {
            batch[keyPath: column.batch] = table[keyPath: column.table][rows].map(localNullable)
        }
        for column in optionalIntegers
        where table[keyPath: column.table][rows].contains(where: { $0 != JobTable.nullInt }) {
            batch[keyPath: column.batch] = table[keyPath: column.table][rows].map(nullable)
        }
        if table.timeoutSeconds[rows].contains(where: { !$0.isNaN }) {
            batch.timeoutSeconds = encodeDoubles(table.timeoutSeconds[rows])
        }

        for (column, storage) in MetricColumn.columns {
            switch storage {
            case .integer(let t, let field):
                let values = table[keyPath: t][rows]
                // Some columns are written only when a job of the batch has a figure.
                if column.snapshotPresence == .onlyWhenNonZero, !values.contains(where: { $0 != 0 }) { continue }
                switch field {
                case .uint64(let f): batch[keyPath: f] = values.map { UInt64(clamping: $0) }
                case .uint32(let f): batch[keyPath: f] = values.map { UInt32(clamping: $0) }
                }
            case .real(let t, let f):
                batch[keyPath: f] = encodeDoubles(table[keyPath: t][rows])
            case .flag(let t, let f):
                var bits = [UInt8](repeating: 0, count: (n + 7) / 8)
                for (i, on) in table[keyPath: t][rows].enumerated() where on { bits[i >> 3] |= 1 << UInt8(i & 7) }
                batch[keyPath: f] = Data(bits)
            }
        }

        batch.strings = strings
        for global in scratch.touched { scratch.local[Int(global)] = .max }
        scratch.touched.removeAll(keepingCapacity: true)
        return batch
    }

    // MARK: - Decode

    enum BatchDecodingError: Error {
        case length(String, Int, Int)
        case invalid(String)

        var message: String {
            switch self {
            case .length(let field, let found, let expected):
                "column \(field) has \(found) values, expected \(expected)"
            case .invalid(let what): what
            }
        }
    }

    static func decode(_ batch: Batch) throws(BatchDecodingError) -> JobTable {
        var table = JobTable()
        try decode(batch, appendingTo: &table)
        return table
    }

    /// Checks every length and index of `batch`, then appends its rows to `table`.
    /// Nothing is appended when the batch is damaged.
    static func decode(_ batch: Batch, appendingTo table: inout JobTable) throws(BatchDecodingError) {
        let n = Int(batch.count)
        func check(_ count: Int, _ field: String, _ expected: Int? = nil) throws(BatchDecodingError) {
            let expected = expected ?? n
            if count != expected { throw .length(field, count, expected) }
        }
        let stringCount = batch.strings.count
        func checkIndices(_ values: [UInt32], _ field: String, nullable: Bool = false) throws(BatchDecodingError) {
            let limit = UInt32(stringCount) + (nullable ? 1 : 0)
            if let bad = values.first(where: { $0 >= limit }) {
                throw .invalid("\(field): string index \(bad) out of range")
            }
        }
        func sum(_ counts: [UInt32]) -> UInt64 { counts.reduce(0) { $0 + UInt64($1) } }

        // Validate.
        let lengths: [(Int, String)] = [
            (batch.idDelta.count, "id"), (batch.instance.count, "instance"), (batch.name.count, "name"),
            (batch.commandCount.count, "command"), (batch.cwd.count, "cwd"), (batch.labelCount.count, "labels"),
            (batch.status.count, "status"), (batch.pid.count, "pid"), (batch.startedAtDelta.count, "startedAt"),
            (batch.endedAtDelta.count, "endedAt"), (batch.exitCode.count, "exitCode"), (batch.signal.count, "signal"),
            (batch.reason.count, "reason"), (batch.attempt.count, "attempt"), (batch.parentID.count, "parentId"),
            (batch.retriedBy.count, "retriedBy"),
        ]
        for (count, field) in lengths {
            try check(count, field)
        }
        // Optional columns (absent = every row null).
        for column in optionalStrings where !batch[keyPath: column.batch].isEmpty {
            try check(batch[keyPath: column.batch].count, column.field)
        }
        for column in optionalIntegers where !batch[keyPath: column.batch].isEmpty {
            try check(batch[keyPath: column.batch].count, column.field)
        }
        let timeouts =
            batch.hasTimeoutSeconds
            ? try decodeDoubles(batch.timeoutSeconds, count: n, field: "timeoutSeconds")
            : [Double](repeating: .nan, count: n)
        let commandTotal = sum(batch.commandCount)
        try check(
            batch.commandArgs.count,
            "command arguments",
            commandTotal > UInt64(Int32.max) ? -1 : Int(commandTotal)
        )
        let labelTotal = sum(batch.labelCount)
        let labelExpected = labelTotal > UInt64(Int32.max) ? -1 : Int(labelTotal)
        try check(batch.labelKeys.count, "label keys", labelExpected)
        try check(batch.labelValues.count, "label values", labelExpected)
        try checkIndices(batch.instance, "instance")
        try checkIndices(batch.name, "name")
        try checkIndices(batch.commandArgs, "command")
        try checkIndices(batch.cwd, "cwd", nullable: true)
        try checkIndices(batch.labelKeys, "label keys")
        try checkIndices(batch.labelValues, "label values")
        try checkIndices(batch.reason, "reason", nullable: true)
        for column in optionalStrings { try checkIndices(batch[keyPath: column.batch], column.field, nullable: true) }
        if let bad = batch.status.first(where: { $0 >= 256 || JobStatus(code: UInt8($0)) == nil }) {
            throw .invalid("status: unknown code \(bad)")
        }
        let durations = try decodeDoubles(batch.durationSeconds, count: n, field: "durationSeconds")
        // The metric columns: checked, and their doubles decoded, before anything is appended.
        var reals: [[Double]] = []
        for (column, storage) in MetricColumn.columns {
            switch storage {
            case .integer(_, let field):
                let count =
                    switch field {
                    case .uint64(let f): batch[keyPath: f].count
                    case .uint32(let f): batch[keyPath: f].count
                    }
                // Columns added after format 1 shipped: absent (empty) in older snapshots.
                if count == 0, column.snapshotPresence != .required { continue }
                try check(count, column.rawValue)
            case .real(_, let f):
                reals.append(try decodeDoubles(batch[keyPath: f], count: n, field: column.rawValue))
            case .flag(_, let f):
                try check(batch[keyPath: f].count, column.rawValue, (n + 7) / 8)
            }
        }

        // Append.
        var map = [UInt32]()
        map.reserveCapacity(stringCount)
        for string in batch.strings { map.append(table.strings.intern(string)) }
        let m = map
        func remap(_ v: UInt32) -> UInt32 { m[Int(v)] }
        func remapNullable(_ v: UInt32) -> UInt32 { v == 0 ? JobTable.nullString : m[Int(v - 1)] }

        table.reserveCapacity(n)
        var previous: Int64 = 0
        for delta in batch.idDelta {
            previous = previous &+ delta
            table.id.append(previous)
        }
        table.instance.append(contentsOf: batch.instance.lazy.map(remap))
        table.name.append(contentsOf: batch.name.lazy.map(remap))
        var offset = table.commandOffsets.last!
        for c in batch.commandCount {
            offset += c
            table.commandOffsets.append(offset)
        }
        table.commandArgs.append(contentsOf: batch.commandArgs.lazy.map(remap))
        table.cwd.append(contentsOf: batch.cwd.lazy.map(remapNullable))
        offset = table.labelOffsets.last!
        for c in batch.labelCount {
            offset += c
            table.labelOffsets.append(offset)
        }
        table.labelKeys.append(contentsOf: batch.labelKeys.lazy.map(remap))
        table.labelValues.append(contentsOf: batch.labelValues.lazy.map(remap))
        table.status.append(contentsOf: batch.status.lazy.map { UInt8($0) })
        table.pid.append(contentsOf: batch.pid.lazy.map(fromNullable))
        let firstRow = table.startedAt.count
        var base: Int64 = 0
        for v in batch.startedAtDelta {
            if v == 0 {
                table.startedAt.append(JobTable.nullInt)
            } else {
                base = base &+ unzigzag(v &- 1)
                table.startedAt.append(base)
            }
        }
        base = 0
        for (row, v) in batch.endedAtDelta.enumerated() {
            let start = table.startedAt[firstRow + row]
            if start != JobTable.nullInt { base = start }
            table.endedAt.append(v == 0 ? JobTable.nullInt : base &+ unzigzag(v &- 1))
        }
        table.durationSeconds += durations
        table.exitCode.append(contentsOf: batch.exitCode.lazy.map(fromNullable))
        table.signal.append(contentsOf: batch.signal.lazy.map(fromNullable))
        table.reason.append(contentsOf: batch.reason.lazy.map(remapNullable))
        table.attempt.append(contentsOf: batch.attempt.lazy.map { Int64($0) })
        table.parentId.append(contentsOf: batch.parentID.lazy.map(fromNullable))
        table.retriedBy.append(contentsOf: batch.retriedBy.lazy.map(fromNullable))
        for column in optionalStrings {
            let values = batch[keyPath: column.batch]
            if values.isEmpty {
                table[keyPath: column.table].append(contentsOf: repeatElement(JobTable.nullString, count: n))
            } else {
                table[keyPath: column.table].append(contentsOf: values.lazy.map(remapNullable))
            }
        }
        for column in optionalIntegers {
            let values = batch[keyPath: column.batch]
            if values.isEmpty {
                table[keyPath: column.table].append(contentsOf: repeatElement(JobTable.nullInt, count: n))
            } else {
                table[keyPath: column.table].append(contentsOf: values.lazy.map(fromNullable))
            }
        }
        table.timeoutSeconds += timeouts
        var nextReal = 0
        for (_, storage) in MetricColumn.columns {
            switch storage {
            case .integer(let t, .uint64(let f)):
                let values = batch[keyPath: f]
                if values.isEmpty {
                    table[keyPath: t].append(contentsOf: repeatElement(0, count: n))
                } else {
                    table[keyPath: t].append(contentsOf: values.lazy.map { Int64(clamping: $0) })
                }
            case .integer(let t, .uint32(let f)):
                let values = batch[keyPath: f]
                if values.isEmpty {
                    table[keyPath: t].append(contentsOf: repeatElement(0, count: n))
                } else {
                    table[keyPath: t].append(contentsOf: values.lazy.map { Int64($0) })
                }
            case .real(let t, _):
                table[keyPath: t] += reals[nextReal]
                nextReal += 1
            case .flag(let t, let f):
                batch[keyPath: f].withUnsafeBytes { (bits: UnsafeRawBufferPointer) in
                    table[keyPath: t].append(contentsOf: (0..<n).lazy.map { bits[$0 >> 3] & (1 << UInt8($0 & 7)) != 0 })
                }
            }
        }
        table.count += n
    }
}
