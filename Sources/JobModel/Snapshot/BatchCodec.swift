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

    static func decodeDoubles(_ column: DoubleColumn, count: Int, field: String) throws(BatchDecodingError)
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
            guard column.nulls.count == (count + 7) / 8 else { throw .length("\(field) nulls", column.nulls.count, count) }
            let nulls = [UInt8](column.nulls)
            for i in 0..<count where nulls[i >> 3] & (1 << UInt8(i & 7)) != 0 {
                values[i] = .nan
            }
        }
        return values
    }

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
        batch.commandArgs = table.commandArgs[Int(table.commandOffsets[rows.lowerBound])..<Int(table.commandOffsets[rows.upperBound])].map(local)
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

        batch.sampleCount = table.sampleCount[rows].map { UInt64(clamping: $0) }
        batch.cpuPercentAvg = encodeDoubles(table.cpuPercentAvg[rows])
        batch.cpuPercentMax = encodeDoubles(table.cpuPercentMax[rows])
        batch.cpuSeconds = encodeDoubles(table.cpuSeconds[rows])
        batch.rssBytesAvg = table.rssBytesAvg[rows].map { UInt64(clamping: $0) }
        batch.rssBytesMax = table.rssBytesMax[rows].map { UInt64(clamping: $0) }
        batch.rssTrendBytesPerSecond = encodeDoubles(table.rssTrendBytesPerSecond[rows])
        var leaks = [UInt8](repeating: 0, count: (n + 7) / 8)
        for (i, leak) in table.memoryLeakSuspected[rows].enumerated() where leak {
            leaks[i >> 3] |= 1 << UInt8(i & 7)
        }
        batch.memoryLeakSuspected = Data(leaks)
        batch.ioOpsPerSecondAvg = encodeDoubles(table.ioOpsPerSecondAvg[rows])
        batch.ioOpsPerSecondPeak = encodeDoubles(table.ioOpsPerSecondPeak[rows])
        batch.ioReadBytes = table.ioReadBytes[rows].map { UInt64(clamping: $0) }
        batch.ioWriteBytes = table.ioWriteBytes[rows].map { UInt64(clamping: $0) }
        batch.netConnectionsPerSecondAvg = encodeDoubles(table.netConnectionsPerSecondAvg[rows])
        batch.netConnectionsPerSecondPeak = encodeDoubles(table.netConnectionsPerSecondPeak[rows])
        batch.netConnectionsTotal = table.netConnectionsTotal[rows].map { UInt64(clamping: $0) }
        batch.stalledSeconds = encodeDoubles(table.stalledSeconds[rows])
        batch.processCountMax = table.processCountMax[rows].map { UInt32(clamping: $0) }

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
        let n = Int(batch.count)
        func check(_ count: Int, _ field: String, _ expected: Int? = nil) throws(BatchDecodingError) {
            let expected = expected ?? n
            if count != expected { throw .length(field, count, expected) }
        }
        var table = JobTable()
        table.count = n
        for string in batch.strings { _ = table.strings.intern(string) }
        // The batch dictionary may hold the same string twice (a damaged file): map by position.
        let stringCount = batch.strings.count
        var map = [UInt32](repeating: 0, count: stringCount)
        for (i, s) in batch.strings.enumerated() { map[i] = table.strings.lookUp(s)! }
        func str(_ v: UInt32, _ field: String) throws(BatchDecodingError) -> UInt32 {
            guard Int(v) < stringCount else { throw .invalid("\(field): string index \(v) out of range") }
            return map[Int(v)]
        }
        func strNullable(_ v: UInt32, _ field: String) throws(BatchDecodingError) -> UInt32 {
            v == 0 ? JobTable.nullString : try str(v - 1, field)
        }
        func strings(_ values: [UInt32], _ field: String) throws(BatchDecodingError) -> [UInt32] {
            var out = [UInt32]()
            out.reserveCapacity(values.count)
            for v in values { out.append(try str(v, field)) }
            return out
        }
        func nullableStrings(_ values: [UInt32], _ field: String) throws(BatchDecodingError) -> [UInt32] {
            var out = [UInt32]()
            out.reserveCapacity(values.count)
            for v in values { out.append(try strNullable(v, field)) }
            return out
        }
        func ints(_ values: [UInt64], _ field: String) throws(BatchDecodingError) -> [Int64] {
            try check(values.count, field)
            return values.map { Int64(clamping: $0) }
        }
        func nullableInts(_ values: [UInt64], _ field: String) throws(BatchDecodingError) -> [Int64] {
            try check(values.count, field)
            return values.map(fromNullable)
        }

        try check(batch.idDelta.count, "id")
        var previous: Int64 = 0
        table.id = batch.idDelta.map { delta in
            previous = previous &+ delta
            return previous
        }
        try check(batch.instance.count, "instance")
        table.instance = try strings(batch.instance, "instance")
        try check(batch.name.count, "name")
        table.name = try strings(batch.name, "name")

        try check(batch.commandCount.count, "command")
        var offsets = [UInt32]()
        offsets.reserveCapacity(n + 1)
        var total: UInt64 = 0
        offsets.append(0)
        for c in batch.commandCount {
            total += UInt64(c)
            guard total <= UInt64(batch.commandArgs.count) else { throw .invalid("command: argument counts exceed the arguments") }
            offsets.append(UInt32(total))
        }
        try check(batch.commandArgs.count, "command arguments", Int(total))
        table.commandOffsets = offsets
        table.commandArgs = try strings(batch.commandArgs, "command")

        try check(batch.cwd.count, "cwd")
        table.cwd = try nullableStrings(batch.cwd, "cwd")

        try check(batch.labelCount.count, "labels")
        offsets = [0]
        offsets.reserveCapacity(n + 1)
        total = 0
        for c in batch.labelCount {
            total += UInt64(c)
            guard total <= UInt64(batch.labelKeys.count) else { throw .invalid("labels: label counts exceed the labels") }
            offsets.append(UInt32(total))
        }
        try check(batch.labelKeys.count, "label keys", Int(total))
        try check(batch.labelValues.count, "label values", Int(total))
        table.labelOffsets = offsets
        table.labelKeys = try strings(batch.labelKeys, "label keys")
        table.labelValues = try strings(batch.labelValues, "label values")

        try check(batch.status.count, "status")
        table.status = []
        table.status.reserveCapacity(n)
        for code in batch.status {
            guard code < 256, JobStatus(code: UInt8(code)) != nil else { throw .invalid("status: unknown code \(code)") }
            table.status.append(UInt8(code))
        }
        table.pid = try nullableInts(batch.pid, "pid")

        try check(batch.startedAtDelta.count, "startedAt")
        var base: Int64 = 0
        table.startedAt = batch.startedAtDelta.map { v in
            guard v != 0 else { return JobTable.nullInt }
            base = base &+ unzigzag(v &- 1)
            return base
        }
        try check(batch.endedAtDelta.count, "endedAt")
        base = 0
        table.endedAt = []
        table.endedAt.reserveCapacity(n)
        for (row, v) in batch.endedAtDelta.enumerated() {
            let start = table.startedAt[row]
            if start != JobTable.nullInt { base = start }
            table.endedAt.append(v == 0 ? JobTable.nullInt : base &+ unzigzag(v &- 1))
        }
        table.durationSeconds = try decodeDoubles(batch.durationSeconds, count: n, field: "durationSeconds")
        table.exitCode = try nullableInts(batch.exitCode, "exitCode")
        table.signal = try nullableInts(batch.signal, "signal")
        try check(batch.reason.count, "reason")
        table.reason = try nullableStrings(batch.reason, "reason")
        try check(batch.attempt.count, "attempt")
        table.attempt = batch.attempt.map { Int64($0) }
        table.parentId = try nullableInts(batch.parentID, "parentId")
        table.retriedBy = try nullableInts(batch.retriedBy, "retriedBy")

        table.sampleCount = try ints(batch.sampleCount, "sampleCount")
        table.cpuPercentAvg = try decodeDoubles(batch.cpuPercentAvg, count: n, field: "cpuPercentAvg")
        table.cpuPercentMax = try decodeDoubles(batch.cpuPercentMax, count: n, field: "cpuPercentMax")
        table.cpuSeconds = try decodeDoubles(batch.cpuSeconds, count: n, field: "cpuSeconds")
        table.rssBytesAvg = try ints(batch.rssBytesAvg, "rssBytesAvg")
        table.rssBytesMax = try ints(batch.rssBytesMax, "rssBytesMax")
        table.rssTrendBytesPerSecond = try decodeDoubles(
            batch.rssTrendBytesPerSecond,
            count: n,
            field: "rssTrendBytesPerSecond"
        )
        try check(batch.memoryLeakSuspected.count, "memoryLeakSuspected", (n + 7) / 8)
        let leaks = [UInt8](batch.memoryLeakSuspected)
        table.memoryLeakSuspected = (0..<n).map { leaks[$0 >> 3] & (1 << UInt8($0 & 7)) != 0 }
        table.ioOpsPerSecondAvg = try decodeDoubles(batch.ioOpsPerSecondAvg, count: n, field: "ioOpsPerSecondAvg")
        table.ioOpsPerSecondPeak = try decodeDoubles(batch.ioOpsPerSecondPeak, count: n, field: "ioOpsPerSecondPeak")
        table.ioReadBytes = try ints(batch.ioReadBytes, "ioReadBytes")
        table.ioWriteBytes = try ints(batch.ioWriteBytes, "ioWriteBytes")
        table.netConnectionsPerSecondAvg = try decodeDoubles(
            batch.netConnectionsPerSecondAvg,
            count: n,
            field: "netConnectionsPerSecondAvg"
        )
        table.netConnectionsPerSecondPeak = try decodeDoubles(
            batch.netConnectionsPerSecondPeak,
            count: n,
            field: "netConnectionsPerSecondPeak"
        )
        table.netConnectionsTotal = try ints(batch.netConnectionsTotal, "netConnectionsTotal")
        table.stalledSeconds = try decodeDoubles(batch.stalledSeconds, count: n, field: "stalledSeconds")
        try check(batch.processCountMax.count, "processCountMax")
        table.processCountMax = batch.processCountMax.map { Int64($0) }
        return table
    }
}
