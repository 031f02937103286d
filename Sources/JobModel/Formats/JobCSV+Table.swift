import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension JobCSV {
    /// Parses a CSV file's content straight into a table. The header names the columns
    /// (any order; unknown columns are ignored); `id`, `name`, `command` and `status` are
    /// required.
    ///
    /// One pass over the bytes: each record's cells are byte ranges, numbers and times are
    /// parsed from the bytes, strings are interned by a hash of their bytes (a `String` is
    /// made only the first time a value is seen), and every value goes to its column.
    /// Building a ``Job`` per row first (the reader before this one) ran at about 20 MB/s;
    /// this one reads a 1,000,000-job file at over 100 MB/s (figures in the README).
    ///
    /// - Throws: ``JobFileError`` `.badData` naming the file, line and column.
    public static func table(_ bytes: [UInt8], file: String) throws(JobFileError) -> JobTable {
        try bytes.withUnsafeBufferPointer { buffer throws(JobFileError) in
            var reader = TableReader(bytes: buffer, file: file)
            return try reader.read()
        }
    }
}

/// One cell of a record: `bytes[start..<end]`; `escaped` when it held `""` (to undo).
private struct Cell {
    var start = 0
    var end = 0
    var escaped = false
}

private struct TableReader {
    let bytes: UnsafeBufferPointer<UInt8>
    let file: String
    var table = JobTable()
    var position = 0
    /// The line the next record starts on.
    var line = 1
    var cells: [Cell] = []
    var interner = ByteInterner()
    /// What each CSV column holds (`nil`: an unknown column, ignored).
    var fields: [Job.CodingKeys?] = []
    /// For a metric column, its index in ``MetricColumn/columns``.
    var metricOfColumn: [Int?] = []
    var row = TableRow()
    var metrics = MetricBuffers()
    let metricKinds = MetricColumn.kinds

    var values: CellValues

    init(bytes: UnsafeBufferPointer<UInt8>, file: String) {
        self.bytes = bytes
        self.file = file
        values = CellValues(bytes: bytes, file: file)
    }

    mutating func read() throws(JobFileError) -> JobTable {
        guard position < bytes.count else { return table }
        try nextRecord()
        try readHeader()
        // Room for the rows the first 64 KiB suggest, plus a tenth.
        let sample = min(bytes.count - position, 65_536)
        var sampleLines = 1
        for i in position..<(position + sample) where bytes[i] == 10 { sampleLines += 1 }
        let estimate = (bytes.count - position) / max(sample / sampleLines, 1) * 11 / 10
        table.reserveCapacity(estimate)
        metrics.reserveCapacity(estimate)
        while position < bytes.count {
            let recordLine = line
            try nextRecord()
            if cells.count == 1, cells[0].start == cells[0].end { continue }  // blank line
            guard cells.count == fields.count else {
                throw JobFileError(
                    .badData,
                    "\(file) line \(recordLine): \(cells.count) cells, the header has \(fields.count)"
                )
            }
            row.reset()
            try readRow(line: recordLine)
            table.append(&row, metrics: &metrics)
        }
        metrics.install(into: &table)
        return table
    }

    // MARK: - Records

    /// Reads the record at `position` into ``cells`` (RFC 4180; LF or CRLF line ends).
    mutating func nextRecord() throws(JobFileError) {
        cells.removeAll(keepingCapacity: true)
        let recordLine = line
        let n = bytes.count
        var i = position
        while true {
            var cell = Cell(start: i, end: i)
            if i < n, bytes[i] == 34 {
                // A quoted cell: up to the closing quote; `""` is one quote.
                i += 1
                cell.start = i
                while true {
                    guard i < n else {
                        throw JobFileError(.badData, "\(file) line \(recordLine): a quoted cell is never closed")
                    }
                    let c = bytes[i]
                    if c == 34 {
                        if i + 1 < n, bytes[i + 1] == 34 {
                            cell.escaped = true
                            i += 2
                            continue
                        }
                        break
                    }
                    if c == 10 { line += 1 }
                    i += 1
                }
                cell.end = i
                i += 1
                if i < n, bytes[i] != 44, bytes[i] != 10, bytes[i] != 13 {
                    throw JobFileError(.badData, "\(file) line \(line): text after a closing quote")
                }
            } else {
                while i < n {
                    let c = bytes[i]
                    if c == 44 || c == 10 { break }
                    if c == 13, i + 1 < n, bytes[i + 1] == 10 { break }
                    i += 1
                }
                cell.end = i
            }
            cells.append(cell)
            if i < n, bytes[i] == 13, i + 1 < n, bytes[i + 1] == 10 { i += 1 }
            if i >= n {
                position = n
                return
            }
            if bytes[i] == 10 {
                line += 1
                position = i + 1
                return
            }
            i += 1  // the comma
        }
    }

    mutating func readHeader() throws(JobFileError) {
        var index: [String: Int] = [:]
        for (i, cell) in cells.enumerated() {
            let name = values.text(cell).trimmingCharacters(in: .whitespaces)
            values.headerNames.append(name)
            index[name] = i  // a repeated name: the last column wins
        }
        for required in ["id", "name", "command", "status"] where index[required] == nil {
            throw JobFileError(.badData, "\(file): the header has no '\(required)' column")
        }
        fields = Array(repeating: nil, count: cells.count)
        metricOfColumn = Array(repeating: nil, count: cells.count)
        for key in Job.CodingKeys.allCases where key != .metrics {
            if let i = index[key.rawValue] { fields[i] = key }
        }
        for (k, (column, _)) in MetricColumn.columns.enumerated() {
            if let i = index[column.rawValue] {
                fields[i] = .metrics
                metricOfColumn[i] = k
            }
        }
    }

    // MARK: - Rows

    /// Fills ``row`` from the record's cells.
    mutating func readRow(line: Int) throws(JobFileError) {
        for column in 0..<fields.count {
            guard let field = fields[column] else { continue }
            let cell = cells[column]
            switch field {
            case .id:
                guard let id = try values.int(cell, column, line) else {
                    throw JobFileError(.badData, "\(file) line \(line): 'id' is empty")
                }
                row.id = id
            case .instance: if cell.start < cell.end { row.instance = intern(cell) }
            case .name:
                guard cell.start < cell.end else {
                    throw JobFileError(.badData, "\(file) line \(line): 'name' is empty")
                }
                row.name = intern(cell)
            case .command: try readCommand(cell, column, line)
            case .cwd: row.cwd = optionalString(cell)
            case .labels: try readLabels(cell, column, line)
            case .status: row.status = try values.status(cell, column, line)
            case .pid: row.pid = try values.int(cell, column, line) ?? JobTable.nullInt
            case .startedAt: row.startedAt = try values.time(cell, column, line)
            case .endedAt: row.endedAt = try values.time(cell, column, line)
            case .durationSeconds: row.durationSeconds = try values.double(cell, column, line) ?? .nan
            case .exitCode: row.exitCode = try values.int(cell, column, line) ?? JobTable.nullInt
            case .signal: row.signal = try values.int(cell, column, line) ?? JobTable.nullInt
            case .reason: row.reason = optionalString(cell)
            case .attempt: row.attempt = try values.int(cell, column, line) ?? 1
            case .parentId: row.parentId = try values.int(cell, column, line) ?? JobTable.nullInt
            case .retriedBy: row.retriedBy = try values.int(cell, column, line) ?? JobTable.nullInt
            case .queue: row.queue = optionalString(cell)
            case .rerunOf: row.rerunOf = try values.int(cell, column, line) ?? JobTable.nullInt
            case .scheduleId: row.scheduleId = try values.int(cell, column, line) ?? JobTable.nullInt
            case .timeoutSeconds: row.timeoutSeconds = try values.double(cell, column, line) ?? .nan
            case .maxRssBytes: row.maxRssBytes = try values.int(cell, column, line) ?? JobTable.nullInt
            case .retries: row.retries = try values.int(cell, column, line) ?? JobTable.nullInt
            case .errorTail: row.errorTail = optionalString(cell)
            case .errorSignature: row.errorSignature = optionalString(cell)
            case .metrics: try readMetric(cell, column, line)
            }
        }
    }

    mutating func readMetric(_ cell: Cell, _ column: Int, _ line: Int) throws(JobFileError) {
        guard let k = metricOfColumn[column] else { return }
        switch metricKinds[k] {
        case .integer: row.integers[k] = try values.int(cell, column, line) ?? 0
        case .real: row.reals[k] = try values.double(cell, column, line) ?? 0
        case .flag:
            let value: Bool
            switch cell.end - cell.start {
            case 0: value = false
            case 1 where bytes[cell.start] == 48: value = false
            case 1 where bytes[cell.start] == 49: value = true
            case 4 where values.equals(cell, "true"): value = true
            case 5 where values.equals(cell, "false"): value = false
            default: throw values.bad(cell, column, line, "true or false")
            }
            row.integers[k] = value ? 1 : 0
        }
    }

    /// `command`: shell-quoted words. Words without quotes or backslashes are split here;
    /// others go through ``ShellQuoting/split(_:)``.
    mutating func readCommand(_ cell: Cell, _ column: Int, _ line: Int) throws(JobFileError) {
        var plain = !cell.escaped
        if plain {
            for i in cell.start..<cell.end {
                let c = bytes[i]
                if c == 39 || c == 34 || c == 92 || c == 9 || c == 10 || c == 13 {
                    plain = false
                    break
                }
            }
        }
        if plain {
            var i = cell.start
            while i < cell.end {
                while i < cell.end, bytes[i] == 32 { i += 1 }
                let start = i
                while i < cell.end, bytes[i] != 32 { i += 1 }
                if i > start { row.command.append(intern(Cell(start: start, end: i))) }
            }
        } else {
            let text = values.text(cell)
            guard let words = ShellQuoting.split(text) else {
                throw values.bad(cell, column, line, "shell-quoted words")
            }
            for word in words { row.command.append(table.strings.intern(word)) }
        }
    }

    /// `labels`: a JSON object of strings (empty cell: none). An object without escapes is
    /// read here; others go through `JSONDecoder`.
    mutating func readLabels(_ cell: Cell, _ column: Int, _ line: Int) throws(JobFileError) {
        guard cell.start < cell.end else { return }
        let read =
            cell.escaped
            ? values.unescaped(cell).withUnsafeBufferPointer { labels(from: $0) } : labels(from: values.raw(cell))
        guard !read else { return }
        // What the scanner does not take: JSONDecoder says what is wrong.
        row.labels.removeAll(keepingCapacity: true)
        guard let decoded = try? JSONDecoder().decode([String: String].self, from: Data(values.text(cell).utf8)) else {
            throw values.bad(cell, column, line, "a JSON object of strings")
        }
        for (key, value) in decoded {
            row.labels.append((table.strings.intern(key), table.strings.intern(value)))
        }
    }

    /// A JSON object of strings, the whole of `buffer`, into the row's labels.
    mutating func labels(from buffer: UnsafeBufferPointer<UInt8>) -> Bool {
        var scanner = JSONScanner(buffer)
        guard interner.stringObject(&scanner, into: &row.labels, pool: &table.strings) else { return false }
        scanner.skipSpace()
        return scanner.atEnd
    }

    // MARK: - Strings

    mutating func intern(_ cell: Cell) -> UInt32 {
        if cell.escaped { return table.strings.intern(values.text(cell)) }
        return interner.intern(values.raw(cell), into: &table.strings)
    }

    mutating func intern(_ string: String) -> UInt32 {
        table.strings.intern(string)
    }

    mutating func optionalString(_ cell: Cell) -> UInt32 {
        cell.start == cell.end ? JobTable.nullString : intern(cell)
    }
}

/// What a cell holds, read from its bytes (a small value of its own: as methods of the
/// reader, each call copied the whole reader).
private struct CellValues {
    let bytes: UnsafeBufferPointer<UInt8>
    let file: String
    var headerNames: [String] = []

    /// The cell's text (quotes undone).
    func text(_ cell: Cell) -> String {
        cell.escaped ? String(decoding: unescaped(cell), as: UTF8.self) : String(decoding: raw(cell), as: UTF8.self)
    }

    /// The cell's bytes with each `""` made one quote.
    func unescaped(_ cell: Cell) -> [UInt8] {
        let raw = raw(cell)
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            out.append(raw[i])
            i += raw[i] == 34 ? 2 : 1
        }
        return out
    }

    func equals(_ cell: Cell, _ word: StaticString) -> Bool {
        guard cell.end - cell.start == word.utf8CodeUnitCount else { return false }
        return memcmp(bytes.baseAddress! + cell.start, word.utf8Start, word.utf8CodeUnitCount) == 0
    }

    func bad(_ cell: Cell, _ column: Int, _ line: Int, _ expected: String) -> JobFileError {
        JobFileError(
            .badData,
            "\(file) line \(line): column '\(headerNames[column])' is '\(text(cell))', expected \(expected)"
        )
    }

    /// An integer (optional sign, digits); `nil` for an empty cell.
    func int(_ cell: Cell, _ column: Int, _ line: Int) throws(JobFileError) -> Int64? {
        guard cell.start < cell.end else { return nil }
        guard !cell.escaped, let value = ByteParsing.integer(raw(cell)) else {
            throw bad(cell, column, line, "an integer")
        }
        return value
    }

    /// A finite number; `nil` for an empty cell.
    func double(_ cell: Cell, _ column: Int, _ line: Int) throws(JobFileError) -> Double? {
        guard cell.start < cell.end else { return nil }
        guard !cell.escaped, let value = ByteParsing.number(raw(cell)) else {
            throw bad(cell, column, line, "a number")
        }
        return value
    }

    func raw(_ cell: Cell) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: bytes[cell.start..<cell.end])
    }

    func time(_ cell: Cell, _ column: Int, _ line: Int) throws(JobFileError) -> Int64 {
        guard cell.start < cell.end else { return JobTable.nullInt }
        guard let micros = Timestamp.parseMicros(utf8: raw(cell))
        else { throw bad(cell, column, line, "an RFC 3339 time") }
        return micros
    }

    func status(_ cell: Cell, _ column: Int, _ line: Int) throws(JobFileError) -> UInt8 {
        if !cell.escaped, let code = ByteParsing.status(raw(cell)) { return code }
        throw bad(cell, column, line, "one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))")
    }
}
