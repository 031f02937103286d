import ArgumentParser
import Foundation
import JobModel
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List jobs as a table sized to the terminal (or JSON).",
        discussion: """
            Newest last. Filters combine: --status failed --status crashed --name 'etl-*' --since 2026-12-01T00:00:00Z.
            --watch redraws the table whenever the service announces a change (GET /v1/events)
            and every 5 seconds, until interrupted.

            Examples:
              jobrunner ls --status running
              jobrunner ls --name 'backup*' --limit 20 --json
            """
    )

    @OptionGroup var service: ClientOptions
    @Option(
        help: "Only jobs with this status (repeatable): \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))."
    )
    var status: [String] = []
    @Option(help: "Only jobs whose name matches this glob (repeatable).")
    var name: [String] = []
    @Option(help: "Only jobs started at or after this RFC 3339 time.")
    var since: String?
    @Option(help: "At most this many jobs (the newest), 1-1000.")
    var limit = 50
    @Flag(help: "Redraw on every change (and every 5 s) until interrupted.")
    var watch = false
    @Flag(help: "Print the jobs as a JSON array.")
    var json = false

    func validate() throws {
        for s in status where JobStatus(rawValue: s) == nil {
            throw ValidationError(
                "--status \(s) is not one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))."
            )
        }
        if let since, Timestamp.parse(since) == nil { throw ValidationError("--since must be an RFC 3339 time.") }
        if !(1...1000).contains(limit) { throw ValidationError("--limit must be from 1 to 1000.") }
        if watch && json { throw ValidationError("--watch draws a table; leave out --json.") }
    }

    /// The newest `limit` jobs that match, oldest first (pages through the history).
    func fetch(_ client: APIClient) async throws -> [Job] {
        var query = status.map { "status=\($0)" } + name.map { "name=\(Self.escape($0))" }
        if let since { query.append("since=\(Self.escape(since))") }
        query.append("limit=1000")
        var jobs: [Job] = []
        var cursor: String?
        repeat {
            let path = "/v1/jobs?" + (query + (cursor.map { ["cursor=\($0)"] } ?? [])).joined(separator: "&")
            let page = try await client.send(.GET, path)
            struct Page: Decodable {
                var jobs: [Job]
                var nextCursor: String?
            }
            let decoded = try APIClient.decode(Page.self, page.body)
            jobs += decoded.jobs
            if jobs.count > limit { jobs.removeFirst(jobs.count - limit) }
            cursor = decoded.nextCursor
        } while cursor != nil
        return jobs
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~*")))
            ?? text
    }

    func run() async throws {
        try await runClient {
            let client = try service.client()
            let tty = isatty(1) == 1
            guard watch else {
                let jobs = try await fetch(client)
                if json {
                    let encoder = JobJSONLines.makeEncoder()
                    encoder.outputFormatting.insert(.prettyPrinted)
                    writeOut(try encoder.encode(jobs) + Data("\n".utf8))
                } else {
                    writeOut(Array(JobTableView.render(jobs, width: Self.terminalWidth(), colour: tty).utf8))
                }
                return
            }
            try await watchTable(client, tty: tty)
        }
    }

    /// Redraws when `GET /v1/events` announces something (at most four times a second), and
    /// every 5 s for the durations; polls every second where the service has no events.
    func watchTable(_ client: APIClient, tty: Bool) async throws {
        let changed = ChangeFlag()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    do {
                        try await client.stream("/v1/events") { chunk in
                            if chunk.readableBytesView.firstRange(of: Array("event: ".utf8)) != nil { changed.set() }
                        }
                    } catch let failure as APIClient.Failure where failure.status == 404 {
                        // An older service: poll.
                        while !Task.isCancelled {
                            changed.set()
                            try await Task.sleep(for: .seconds(1))
                        }
                    } catch let failure as APIClient.Failure where failure.exitCode != 69 {
                        throw failure
                    } catch {
                        changed.set()  // shown as it was; tried again
                    }
                    try await Task.sleep(for: .seconds(2))
                }
            }
            group.addTask {
                var drawn = ContinuousClock.now - .seconds(60)
                while !Task.isCancelled {
                    if changed.take() || ContinuousClock.now - drawn >= .seconds(5) {
                        let jobs = try await fetch(client)
                        let table = JobTableView.render(jobs, width: Self.terminalWidth(), colour: tty)
                        if tty { writeOut(Array("\u{1B}[H\u{1B}[2J".utf8)) }
                        writeOut(Array(table.utf8))
                        drawn = .now
                    }
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    static func terminalWidth() -> Int {
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns > 0 {
            return columns
        }
        return 100
    }
}

/// Set by the event stream, taken by the redraw loop.
final class ChangeFlag: Sendable {
    private let flag = Mutex(true)
    func set() { flag.withLock { $0 = true } }
    func take() -> Bool {
        flag.withLock { value in
            defer { value = false }
            return value
        }
    }
}

/// Jobs as a terminal table: id, name, status, started, duration, CPU max, RSS max, exit.
enum JobTableView {
    static func render(_ jobs: [Job], width: Int, colour: Bool) -> String {
        if jobs.isEmpty { return "no jobs\n" }
        let headers = ["ID", "NAME", "STATUS", "STARTED", "DURATION", "CPU MAX", "RSS MAX", "EXIT"]
        let rows = jobs.map(row)
        var widths = headers.indices.map { i in max(headers[i].count, rows.map { $0[i].count }.max() ?? 0) }
        // Too wide for the terminal: the name column gives way (at least 8 characters).
        let total = widths.reduce(0, +) + 2 * (widths.count - 1)
        if total > width { widths[1] = max(8, widths[1] - (total - width)) }
        func line(_ cells: [String], status: JobStatus?) -> String {
            var out = ""
            for (i, cell) in cells.enumerated() {
                var text = cell.count > widths[i] ? String(cell.prefix(widths[i] - 1)) + "…" : cell
                let pad = String(repeating: " ", count: widths[i] - text.count)
                let right = [0, 4, 5, 6, 7].contains(i)
                if i == 2, colour, let status { text = paint(text, status) }
                out += right ? pad + text : text + pad
                if i < cells.count - 1 { out += "  " }
            }
            while out.hasSuffix(" ") { out.removeLast() }
            return out + "\n"
        }
        return line(headers, status: nil) + zip(rows, jobs).map { line($0, status: $1.status) }.joined()
    }

    static func row(_ job: Job) -> [String] {
        let started = job.startedAt.map(started) ?? "-"
        var took = "-"
        if let seconds = job.durationSeconds {
            took = duration(seconds)
        } else if let start = job.startedAt {
            took = duration(Date().timeIntervalSince(start))
        }
        let m = job.metrics
        let cpu = m.sampleCount > 0 || m.cpuPercentMax > 0 ? String(format: "%.0f%%", m.cpuPercentMax) : "-"
        let rss = m.rssBytesMax > 0 ? bytes(m.rssBytesMax) : "-"
        var exit = "-"
        if let signal = job.signal {
            exit = "sig \(signal)"
        } else if let code = job.exitCode {
            exit = String(code)
        }
        return [String(job.id), job.name, job.status.rawValue, started, took, cpu, rss, exit]
    }

    static func paint(_ text: String, _ status: JobStatus) -> String {
        let code: String
        switch status {
        case .succeeded: code = "32"
        case .failed, .crashed, .timedOut, .lost: code = "31"
        case .running: code = "36"
        case .pending: code = "33"
        case .cancelled, .skipped: code = "90"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }

    static func started(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = Calendar.current.isDateInToday(date) ? "HH:mm:ss" : "yyyy-MM-dd HH:mm"
        return formatter.string(from: date)
    }

    static func duration(_ seconds: Double) -> String {
        if seconds < 10 { return String(format: "%.2fs", seconds) }
        if seconds < 120 { return String(format: "%.0fs", seconds) }
        if seconds < 7_200 { return "\(Int(seconds) / 60)m\(Int(seconds) % 60)s" }
        return "\(Int(seconds) / 3_600)h\(Int(seconds) % 3_600 / 60)m"
    }

    static func bytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(n) B" : String(format: value < 10 ? "%.1f" : "%.0f", value) + " " + units[unit]
    }
}
