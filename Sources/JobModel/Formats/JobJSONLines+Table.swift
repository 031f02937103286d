import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension JobJSONLines {
    /// Parses JSON Lines content straight into a table; blank lines are skipped.
    ///
    /// Each line is read in place by ``JSONScanner`` (keys looked up by their bytes, strings
    /// interned without a `String` for a value seen before, numbers and times parsed from
    /// the bytes). A line it does not take as it is — a number written as `1.0` where an
    /// integer belongs, a key given twice, an error — goes to `JSONDecoder`, which reads it
    /// as before or says what is wrong.
    ///
    /// - Throws: ``JobFileError`` `.badData` naming the file, line and what is wrong.
    public static func table(_ bytes: [UInt8], file: String) throws(JobFileError) -> JobTable {
        try bytes.withUnsafeBufferPointer { buffer throws(JobFileError) in
            var reader = LinesReader(bytes: buffer, file: file)
            return try reader.read()
        }
    }
}

/// Names looked up by their UTF-8 bytes.
private struct KeyTable<Value> {
    private var byHash: [UInt64: (name: [UInt8], value: Value)] = [:]

    init(_ entries: [(String, Value)]) {
        for (name, value) in entries { byHash[ByteParsing.hash(name.utf8)] = (Array(name.utf8), value) }
    }

    func value(_ bytes: UnsafeBufferPointer<UInt8>) -> Value? {
        guard let entry = byHash[ByteParsing.hash(bytes)], entry.name.elementsEqual(bytes) else { return nil }
        return entry.value
    }
}

private struct LinesReader {
    let bytes: UnsafeBufferPointer<UInt8>
    let file: String
    var table = JobTable()
    var interner = ByteInterner()
    var row = TableRow()
    var metrics = MetricBuffers()
    let keys = KeyTable(Job.CodingKeys.allCases.map { ($0.rawValue, $0) })
    let metricKeys = KeyTable(MetricColumn.columns.enumerated().map { ($0.element.column.rawValue, $0.offset) })
    let metricKinds = MetricColumn.kinds
    let decoder = JSONDecoder()

    init(bytes: UnsafeBufferPointer<UInt8>, file: String) {
        self.bytes = bytes
        self.file = file
    }

    mutating func read() throws(JobFileError) -> JobTable {
        var start = 0
        var line = 0
        let n = bytes.count
        while start < n {
            line += 1
            let end: Int
            if let found = memchr(bytes.baseAddress! + start, 10, n - start) {
                end = bytes.baseAddress!.distance(to: found.assumingMemoryBound(to: UInt8.self))
            } else {
                end = n
            }
            defer { start = end + 1 }
            var blank = true
            for i in start..<end where bytes[i] != 32 && bytes[i] != 9 && bytes[i] != 13 {
                blank = false
                break
            }
            if blank { continue }
            if line == 1 {
                let estimate = n / max(end - start + 1, 1) * 11 / 10
                table.reserveCapacity(estimate)
                metrics.reserveCapacity(estimate)
            }
            row.reset()
            var scanner = JSONScanner(bytes, from: start, to: end)
            if !record(&scanner) {
                row = try decoded(start..<end, line: line)
            }
            table.append(&row, metrics: &metrics)
        }
        metrics.install(into: &table)
        return table
    }

    /// The line through `JSONDecoder`: its row, or the error naming the line.
    mutating func decoded(_ range: Range<Int>, line: Int) throws(JobFileError) -> TableRow {
        do {
            let job = try decoder.decode(Job.self, from: Data(UnsafeBufferPointer(rebasing: bytes[range])))
            return TableRow(job, pool: &table.strings)
        } catch let error as DecodingError {
            throw JobFileError(.badData, "\(file) line \(line): \(JobJSONLines.describe(error))", cause: error)
        } catch {
            throw JobFileError(.badData, "\(file) line \(line): \(error)", cause: error)
        }
    }

    // MARK: - The fast path

    /// One record into ``row``; `false` where `JSONDecoder` must decide.
    mutating func record(_ s: inout JSONScanner) -> Bool {
        guard s.consume(123) else { return false }
        var seen: UInt32 = 0
        if !s.consume(125) {
            repeat {
                guard let name = s.string() else { return false }
                let key = lookUp(name, s, in: keys)
                guard s.consume(58) else { return false }
                guard let key else {
                    guard s.skipValue() else { return false }
                    continue
                }
                let bit = UInt32(1) << UInt32(Job.CodingKeys.allCases.firstIndex(of: key)!)
                guard seen & bit == 0 else { return false }
                seen |= bit
                guard value(key, &s) else { return false }
            } while s.consume(44)
            guard s.consume(125) else { return false }
        }
        s.skipSpace()
        guard s.atEnd else { return false }
        for required in [Job.CodingKeys.id, .name, .command, .status] {
            let bit = UInt32(1) << UInt32(Job.CodingKeys.allCases.firstIndex(of: required)!)
            guard seen & bit != 0 else { return false }
        }
        return true
    }

    func lookUp<Value>(_ text: JSONScanner.Text, _ s: JSONScanner, in table: KeyTable<Value>) -> Value? {
        switch text {
        case .plain(let range): table.value(UnsafeBufferPointer(rebasing: bytes[range]))
        case .unescaped: s.scratch.withUnsafeBufferPointer { table.value($0) }
        }
    }

    mutating func value(_ key: Job.CodingKeys, _ s: inout JSONScanner) -> Bool {
        switch key {
        case .id:
            guard let v = integer(&s), v != JobTable.nullInt else { return false }
            row.id = v
        case .instance:
            if !s.null() {
                guard let text = s.string() else { return false }
                row.instance = interner.intern(text, of: s, into: &table.strings)
            }
        case .name:
            guard let text = s.string() else { return false }
            row.name = interner.intern(text, of: s, into: &table.strings)
        case .command: return interner.stringArray(&s, into: &row.command, pool: &table.strings)
        case .cwd:
            guard let v = optionalString(&s) else { return false }
            row.cwd = v
        case .labels: return s.null() || interner.stringObject(&s, into: &row.labels, pool: &table.strings)
        case .status:
            guard let text = s.string() else { return false }
            guard let code = ByteParsing.status(raw(text, s)) else { return false }
            row.status = code
        case .pid:
            guard let v = optionalInteger(&s) else { return false }
            row.pid = v
        case .startedAt:
            guard let v = time(&s) else { return false }
            row.startedAt = v
        case .endedAt:
            guard let v = time(&s) else { return false }
            row.endedAt = v
        case .durationSeconds:
            guard let v = optionalNumber(&s) else { return false }
            row.durationSeconds = v
        case .exitCode:
            guard let v = optionalInteger(&s) else { return false }
            row.exitCode = v
        case .signal:
            guard let v = optionalInteger(&s) else { return false }
            row.signal = v
        case .reason:
            guard let v = optionalString(&s) else { return false }
            row.reason = v
        case .attempt:
            if !s.null() {
                guard let v = integer(&s) else { return false }
                row.attempt = v
            }
        case .parentId:
            guard let v = optionalInteger(&s) else { return false }
            row.parentId = v
        case .retriedBy:
            guard let v = optionalInteger(&s) else { return false }
            row.retriedBy = v
        case .queue:
            guard let v = optionalString(&s) else { return false }
            row.queue = v
        case .rerunOf:
            guard let v = optionalInteger(&s) else { return false }
            row.rerunOf = v
        case .scheduleId:
            guard let v = optionalInteger(&s) else { return false }
            row.scheduleId = v
        case .timeoutSeconds:
            guard let v = optionalNumber(&s) else { return false }
            row.timeoutSeconds = v
        case .maxRssBytes:
            guard let v = optionalInteger(&s) else { return false }
            row.maxRssBytes = v
        case .retries:
            guard let v = optionalInteger(&s) else { return false }
            row.retries = v
        case .errorTail:
            guard let v = optionalString(&s) else { return false }
            row.errorTail = v
        case .errorSignature:
            guard let v = optionalString(&s) else { return false }
            row.errorSignature = v
        case .metrics: return s.null() || metricsObject(&s)
        }
        return true
    }

    mutating func metricsObject(_ s: inout JSONScanner) -> Bool {
        guard s.consume(123) else { return false }
        if s.consume(125) { return true }
        var seen: UInt64 = 0
        repeat {
            guard let name = s.string() else { return false }
            let k = lookUp(name, s, in: metricKeys)
            guard s.consume(58) else { return false }
            guard let k else {
                guard s.skipValue() else { return false }
                continue
            }
            guard seen & (1 << k) == 0 else { return false }
            seen |= 1 << k
            if s.null() { continue }
            switch metricKinds[k] {
            case .integer:
                guard let v = integer(&s) else { return false }
                row.integers[k] = v
            case .real:
                guard let v = number(&s) else { return false }
                row.reals[k] = v
            case .flag:
                guard let v = s.bool() else { return false }
                row.integers[k] = v ? 1 : 0
            }
        } while s.consume(44)
        return s.consume(125)
    }

    // MARK: - Values

    func raw(_ text: JSONScanner.Text, _ s: JSONScanner) -> [UInt8] {
        switch text {
        case .plain(let range): Array(UnsafeBufferPointer(rebasing: bytes[range]))
        case .unescaped: s.scratch
        }
    }

    /// A JSON integer (no fraction or exponent: those go to the decoder).
    func integer(_ s: inout JSONScanner) -> Int64? {
        guard let text = s.number(), Self.isJSONNumber(text) else { return nil }
        return ByteParsing.integer(text)
    }

    func number(_ s: inout JSONScanner) -> Double? {
        guard let text = s.number(), Self.isJSONNumber(text) else { return nil }
        return ByteParsing.number(text)
    }

    /// JSON's number grammar: `-`? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    static func isJSONNumber(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = text.count
        func digits() -> Int {
            let start = i
            while i < n, text[i] &- 48 < 10 { i += 1 }
            return i - start
        }
        if i < n, text[i] == 45 { i += 1 }
        guard i < n else { return false }
        if text[i] == 48 {
            i += 1
        } else if digits() == 0 {
            return false
        }
        if i < n, text[i] == 46 {
            i += 1
            guard digits() > 0 else { return false }
        }
        if i < n, text[i] == 101 || text[i] == 69 {
            i += 1
            if i < n, text[i] == 43 || text[i] == 45 { i += 1 }
            guard digits() > 0 else { return false }
        }
        return i == n
    }

    /// `nullInt` for null; `nil` where the decoder must decide.
    func optionalInteger(_ s: inout JSONScanner) -> Int64? {
        if s.null() { return JobTable.nullInt }
        guard let v = integer(&s), v != JobTable.nullInt else { return nil }
        return v
    }

    /// NaN for null; `nil` where the decoder must decide.
    func optionalNumber(_ s: inout JSONScanner) -> Double? {
        if s.null() { return .nan }
        return number(&s)
    }

    /// `nullString` for null; `nil` where the decoder must decide.
    mutating func optionalString(_ s: inout JSONScanner) -> UInt32? {
        if s.null() { return JobTable.nullString }
        guard let text = s.string() else { return nil }
        return interner.intern(text, of: s, into: &table.strings)
    }

    /// Unix microseconds, `nullInt` for null; `nil` where the decoder must decide.
    func time(_ s: inout JSONScanner) -> Int64? {
        if s.null() { return JobTable.nullInt }
        guard let text = s.string() else { return nil }
        switch text {
        case .plain(let range): return Timestamp.parseMicros(utf8: UnsafeBufferPointer(rebasing: bytes[range]))
        case .unescaped: return s.scratch.withUnsafeBufferPointer { Timestamp.parseMicros(utf8: $0) }
        }
    }
}
