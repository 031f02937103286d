import Foundation

/// Jobs as CSV (RFC 4180): the header is the field names, `metrics` flattened without a
/// prefix, `command` one shell-quoted string, `labels` a JSON object as text (empty when
/// none), times RFC 3339, an empty cell for null.
public enum JobCSV {
    /// The columns, in order.
    public static let columns: [String] =
        Job.CodingKeys.allCases.filter { $0 != .metrics }.map(\.rawValue)
        + MetricColumn.allCases.map(\.rawValue)

    /// The header line, with CRLF.
    public static var header: String { columns.joined(separator: ",") + "\r\n" }

    /// One cell quoted per RFC 4180 when it holds a comma, quote, CR or LF.
    public static func escape(_ cell: String) -> String {
        guard cell.utf8.contains(where: { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }) else { return cell }
        return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// One record as a CSV line, with CRLF.
    public static func row(_ job: Job) -> String {
        var cells: [String] = []
        cells.reserveCapacity(columns.count)
        func opt(_ v: Int?) -> String { v.map(String.init) ?? "" }
        cells.append(String(job.id))
        cells.append(job.instance)
        cells.append(job.name)
        cells.append(ShellQuoting.join(job.command))
        cells.append(job.cwd ?? "")
        if job.labels.isEmpty {
            cells.append("")
        } else {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            cells.append(String(decoding: (try? encoder.encode(job.labels)) ?? Data("{}".utf8), as: UTF8.self))
        }
        cells.append(job.status.rawValue)
        cells.append(opt(job.pid))
        cells.append(job.startedAt.map { Timestamp.format($0) } ?? "")
        cells.append(job.endedAt.map { Timestamp.format($0) } ?? "")
        cells.append(job.durationSeconds.map { "\($0)" } ?? "")
        cells.append(opt(job.exitCode))
        cells.append(opt(job.signal))
        cells.append(job.reason ?? "")
        cells.append(String(job.attempt))
        cells.append(opt(job.parentId))
        cells.append(opt(job.retriedBy))
        cells.append(job.queue ?? "")
        cells.append(opt(job.rerunOf))
        cells.append(opt(job.scheduleId))
        cells.append(job.timeoutSeconds.map { "\($0)" } ?? "")
        cells.append(opt(job.maxRssBytes))
        cells.append(opt(job.retries))
        for column in MetricColumn.allCases { cells.append(job.metrics.csvCell(column)) }
        return cells.map(escape).joined(separator: ",") + "\r\n"
    }

    // MARK: - Reading

    /// Splits CSV bytes into records of cells (RFC 4180; LF or CRLF line ends).
    ///
    /// - Returns: records with the 1-based line each starts on.
    static func records(_ bytes: [UInt8], file: String) throws(JobFileError) -> [(line: Int, cells: [String])] {
        var records: [(Int, [String])] = []
        var cells: [String] = []
        var cell: [UInt8] = []
        var i = 0
        var line = 1
        var recordLine = 1
        var quoted = false
        var cellStarted = false
        let n = bytes.count
        func endCell() {
            cells.append(String(decoding: cell, as: UTF8.self))
            cell.removeAll(keepingCapacity: true)
            cellStarted = false
        }
        while i < n {
            let c = bytes[i]
            if quoted {
                if c == 34 {
                    if i + 1 < n, bytes[i + 1] == 34 {
                        cell.append(34)
                        i += 2
                        continue
                    }
                    quoted = false
                    i += 1
                    if i < n, bytes[i] != 44, bytes[i] != 10, bytes[i] != 13 {
                        throw JobFileError(.badData, "\(file) line \(line): text after a closing quote")
                    }
                    continue
                }
                if c == 10 { line += 1 }
                cell.append(c)
                i += 1
                continue
            }
            switch c {
            case 34 where !cellStarted && cell.isEmpty:
                quoted = true
                cellStarted = true
            case 44:
                endCell()
                cellStarted = false
            case 13 where i + 1 < n && bytes[i + 1] == 10:
                break
            case 10:
                endCell()
                records.append((recordLine, cells))
                cells = []
                line += 1
                recordLine = line
            default:
                cell.append(c)
                cellStarted = true
            }
            i += 1
        }
        if quoted {
            throw JobFileError(.badData, "\(file) line \(recordLine): a quoted cell is never closed")
        }
        if !cell.isEmpty || !cells.isEmpty || cellStarted {
            endCell()
            records.append((recordLine, cells))
        }
        return records
    }

    /// Parses a CSV file's content into jobs. The header names the columns (any order;
    /// unknown columns are ignored); `id`, `name`, `command` and `status` are required.
    ///
    /// - Throws: ``JobFileError`` `.badData` naming the file, line and column.
    public static func parse(_ bytes: [UInt8], file: String) throws(JobFileError) -> [Job] {
        var rows = try records(bytes, file: file)
        guard !rows.isEmpty else { return [] }
        let header = rows.removeFirst().cells
        var index: [String: Int] = [:]
        for (i, name) in header.enumerated() {
            index[name.trimmingCharacters(in: .whitespaces)] = i
        }
        for required in ["id", "name", "command", "status"] where index[required] == nil {
            throw JobFileError(.badData, "\(file): the header has no '\(required)' column")
        }
        var jobs: [Job] = []
        jobs.reserveCapacity(rows.count)
        for (line, cells) in rows {
            if cells.count == 1, cells[0].isEmpty { continue }  // blank line
            guard cells.count == header.count else {
                throw JobFileError(
                    .badData,
                    "\(file) line \(line): \(cells.count) cells, the header has \(header.count)"
                )
            }
            jobs.append(try job(cells, index: index, line: line, file: file))
        }
        return jobs
    }

    private static func job(
        _ cells: [String],
        index: [String: Int],
        line: Int,
        file: String
    ) throws(JobFileError) -> Job {
        func cell(_ name: String) -> String? {
            guard let i = index[name] else { return nil }
            let v = cells[i]
            return v.isEmpty ? nil : v
        }
        func bad(_ name: String, _ value: String, _ expected: String) -> JobFileError {
            JobFileError(.badData, "\(file) line \(line): column '\(name)' is '\(value)', expected \(expected)")
        }
        func int(_ name: String) throws(JobFileError) -> Int? {
            guard let v = cell(name) else { return nil }
            guard let i = Int(v) else { throw bad(name, v, "an integer") }
            return i
        }
        func double(_ name: String) throws(JobFileError) -> Double? {
            guard let v = cell(name) else { return nil }
            guard let d = Double(v), d.isFinite else { throw bad(name, v, "a number") }
            return d
        }
        func time(_ name: String) throws(JobFileError) -> Date? {
            guard let v = cell(name) else { return nil }
            guard let d = Timestamp.parse(v) else { throw bad(name, v, "an RFC 3339 time") }
            return d
        }
        guard let id = try int("id") else { throw JobFileError(.badData, "\(file) line \(line): 'id' is empty") }
        guard let name = cell("name") else { throw JobFileError(.badData, "\(file) line \(line): 'name' is empty") }
        let commandText = cell("command") ?? ""
        guard let command = ShellQuoting.split(commandText) else {
            throw bad("command", commandText, "shell-quoted words")
        }
        let statusText = cell("status") ?? ""
        guard let status = JobStatus(rawValue: statusText) else {
            throw bad("status", statusText, "one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var labels: [String: String] = [:]
        if let text = cell("labels") {
            guard let decoded = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)) else {
                throw bad("labels", text, "a JSON object of strings")
            }
            labels = decoded
        }
        var metrics = JobMetrics()
        for (column, storage) in MetricColumn.columns {
            switch storage {
            case .integer: metrics[column: column] = .integer(try int(column.rawValue) ?? 0)
            case .real: metrics[column: column] = .real(try double(column.rawValue) ?? 0)
            case .flag:
                switch cell(column.rawValue) {
                case nil, "false", "0": metrics[column: column] = .flag(false)
                case "true", "1": metrics[column: column] = .flag(true)
                case let text?: throw bad(column.rawValue, text, "true or false")
                }
            }
        }
        return Job(
            id: id,
            instance: cell("instance") ?? "",
            name: name,
            command: command,
            cwd: cell("cwd"),
            labels: labels,
            status: status,
            pid: try int("pid"),
            startedAt: try time("startedAt"),
            endedAt: try time("endedAt"),
            durationSeconds: try double("durationSeconds"),
            exitCode: try int("exitCode"),
            signal: try int("signal"),
            reason: cell("reason"),
            attempt: try int("attempt") ?? 1,
            parentId: try int("parentId"),
            retriedBy: try int("retriedBy"),
            queue: cell("queue"),
            rerunOf: try int("rerunOf"),
            scheduleId: try int("scheduleId"),
            timeoutSeconds: try double("timeoutSeconds"),
            maxRssBytes: try int("maxRssBytes"),
            retries: try int("retries"),
            metrics: metrics
        )
    }
}
