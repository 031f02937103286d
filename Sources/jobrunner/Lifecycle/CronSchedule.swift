import Foundation
import JobModel

/// A five-field cron expression (minute hour day-of-month month day-of-week) evaluated in
/// an IANA time zone. Pure: no clock, no I/O.
///
/// Fields take `*`, numbers, ranges `a-b`, steps `*/n`, `a-b/n` and `a/n`, lists `a,b`, and
/// names (`jan`…`dec`, `sun`…`sat`, any case); day-of-week 7 is Sunday too. As in Vixie
/// cron, when both day-of-month and day-of-week are restricted a day matching either runs.
/// `@hourly`, `@daily` (`@midnight`), `@weekly`, `@monthly` and `@yearly` (`@annually`)
/// stand for their usual expressions.
///
/// Daylight saving time: a local time that does not exist (the hour skipped in spring)
/// runs once at the end of the gap; a local time that happens twice (the hour repeated in
/// autumn) runs once, the first time.
struct CronSchedule: Sendable, Hashable, CustomStringConvertible {
    let expression: String
    let timeZone: TimeZone
    private let minutes: [Int]
    private let hours: [Int]
    private let daysOfMonth: Set<Int>
    private let months: Set<Int>
    private let daysOfWeek: Set<Int>
    private let dayOfMonthRestricted: Bool
    private let dayOfWeekRestricted: Bool

    var description: String { "\(expression) (\(timeZone.identifier))" }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    static let macros = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]
    private static let monthNames = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ]
    private static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    init(_ expression: String, timeZone: TimeZone) throws(ParseError) {
        self.expression = expression
        self.timeZone = timeZone
        let text = Self.macros[expression.lowercased()] ?? expression
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw ParseError(
                description:
                    "must have five fields (minute hour day-of-month month day-of-week) or be one of \(Self.macros.keys.sorted().joined(separator: ", ")); '\(expression)' has \(fields.count)"
            )
        }
        minutes = try Self.field(fields[0], "minute", 0...59).sorted()
        hours = try Self.field(fields[1], "hour", 0...23).sorted()
        daysOfMonth = try Self.field(fields[2], "day-of-month", 1...31)
        months = try Self.field(fields[3], "month", 1...12, names: Self.monthNames, nameBase: 1)
        var dow = try Self.field(fields[4], "day-of-week", 0...7, names: Self.dayNames, nameBase: 0)
        if dow.remove(7) != nil { dow.insert(0) }
        daysOfWeek = dow
        dayOfMonthRestricted = !fields[2].hasPrefix("*")
        dayOfWeekRestricted = !fields[4].hasPrefix("*")
    }

    private static func field(
        _ text: String,
        _ name: String,
        _ range: ClosedRange<Int>,
        names: [String] = [],
        nameBase: Int = 0
    ) throws(ParseError) -> Set<Int> {
        func value(_ word: Substring) throws(ParseError) -> Int {
            if let n = Int(word) {
                guard range.contains(n) else {
                    throw ParseError(description: "\(name) \(n) is out of \(range.lowerBound)-\(range.upperBound)")
                }
                return n
            }
            if let index = names.firstIndex(of: word.lowercased()) { return index + nameBase }
            throw ParseError(
                description: "\(name) field: '\(word)' is not a number\(names.isEmpty ? "" : " or a name")"
            )
        }
        var out: Set<Int> = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw ParseError(description: "\(name) field '\(text)' has an empty list item") }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw ParseError(description: "\(name) field: '\(part)' has two steps") }
            var step = 1
            if pieces.count == 2 {
                guard let n = Int(pieces[1]), n >= 1, n <= range.upperBound + 1 else {
                    throw ParseError(
                        description: "\(name) field: step '\(pieces[1])' must be 1-\(range.upperBound + 1)"
                    )
                }
                step = n
            }
            let base = pieces[0]
            let low: Int
            let high: Int
            if base == "*" {
                (low, high) = (range.lowerBound, range.upperBound)
            } else if let dash = base.firstIndex(of: "-") {
                low = try value(base[..<dash])
                high = try value(base[base.index(after: dash)...])
                guard low <= high else { throw ParseError(description: "\(name) range '\(base)' runs backwards") }
            } else {
                low = try value(base)
                high = pieces.count == 2 ? range.upperBound : low  // "a/n": from a to the end
            }
            out.formUnion(stride(from: low, through: high, by: step))
        }
        return out
    }

    // MARK: - Next run

    /// The first run strictly after `date`, or `nil` when none falls within ten years
    /// (e.g. `0 0 31 2 *`).
    func next(after date: Date) -> Date? {
        let after = date.timeIntervalSince1970
        let offset = timeZone.secondsFromGMT(for: date)
        // The local calendar day `after` falls on, then day by day.
        var day = Int(((after + Double(offset)) / 86_400).rounded(.down))
        for _ in 0..<(366 * 10 + 3) {
            defer { day += 1 }
            let (_, month, dom) = Timestamp.civil(fromDays: Int64(day))
            guard months.contains(Int(month)), dayMatches(dayOfMonth: Int(dom), dayOfWeek: Self.weekday(days: day))
            else {
                continue
            }
            for hour in hours {
                for minute in minutes {
                    let naive = Double(day * 86_400 + hour * 3_600 + minute * 60)
                    if let instant = firstInstant(localSeconds: naive), instant > after {
                        return Date(timeIntervalSince1970: instant)
                    }
                }
            }
        }
        return nil
    }

    private func dayMatches(dayOfMonth: Int, dayOfWeek: Int) -> Bool {
        let domOK = daysOfMonth.contains(dayOfMonth)
        let dowOK = daysOfWeek.contains(dayOfWeek)
        if dayOfMonthRestricted && dayOfWeekRestricted { return domOK || dowOK }
        return domOK && dowOK
    }

    /// The instant a local wall-clock time (seconds since 1970 as if the zone were UTC)
    /// first happens: the earlier of two in a repeated hour, the end of the gap when the
    /// time is skipped.
    func firstInstant(localSeconds naive: Double) -> Double? {
        let before = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: naive - 86_400))
        let after = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: naive + 86_400))
        var valid: [Double] = []
        for offset in Set([before, after]) {
            let candidate = naive - Double(offset)
            if timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: candidate)) == offset {
                valid.append(candidate)
            }
        }
        if let first = valid.min() { return first }
        // Skipped: the transition that skipped it (searching from before the gap).
        let start = Date(timeIntervalSince1970: naive - Double(min(before, after)) - 86_400)
        return timeZone.nextDaylightSavingTimeTransition(after: start)?.timeIntervalSince1970
    }

    // MARK: - Days (since 1970-01-01)

    /// 0 = Sunday.
    static func weekday(days: Int) -> Int { ((days % 7) + 11) % 7 }
}
