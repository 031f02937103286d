import Foundation
import PropertyBased
import Testing

@testable import jobrunner

/// Cron expressions alone, in-process: parsing, next runs, daylight saving time.
struct CronScheduleTests {
    static let utc = TimeZone(identifier: "UTC")!
    static let berlin = TimeZone(identifier: "Europe/Berlin")!
    static let newYork = TimeZone(identifier: "America/New_York")!

    static func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    /// The next `count` runs after `start`, as RFC 3339 UTC.
    static func runs(_ cron: String, _ zone: TimeZone = utc, after start: String, count: Int = 3) throws -> [String] {
        let schedule = try CronSchedule(cron, timeZone: zone)
        var out: [String] = []
        var at = date(start)
        let formatter = ISO8601DateFormatter()
        for _ in 0..<count {
            guard let next = schedule.next(after: at) else { break }
            out.append(formatter.string(from: next))
            at = next
        }
        return out
    }

    @Test func fieldsRangesStepsListsAndNames() throws {
        #expect(
            try Self.runs("*/20 9-10 * * *", after: "2026-12-02T08:59:00Z", count: 4)
                == ["2026-12-02T09:00:00Z", "2026-12-02T09:20:00Z", "2026-12-02T09:40:00Z", "2026-12-02T10:00:00Z"]
        )
        #expect(
            try Self.runs("30 6 * jan,DEC Mon-fri", after: "2026-12-04T07:00:00Z", count: 2)
                == ["2026-12-07T06:30:00Z", "2026-12-08T06:30:00Z"],
            "Friday 4 December, then Monday 7 (names in any case)"
        )
        #expect(try Self.runs("0 0 * * 7", after: "2026-12-02T00:00:00Z", count: 1) == ["2026-12-06T00:00:00Z"])
        #expect(
            try Self.runs("5/20 * * * *", after: "2026-12-02T10:00:00Z") == [
                "2026-12-02T10:05:00Z", "2026-12-02T10:25:00Z", "2026-12-02T10:45:00Z",
            ]
        )
        #expect(try Self.runs("@daily", after: "2026-12-02T10:00:00Z", count: 1) == ["2026-12-03T00:00:00Z"])
        #expect(try Self.runs("0 12 29 2 *", after: "2026-03-01T00:00:00Z", count: 1) == ["2028-02-29T12:00:00Z"])
        #expect(try Self.runs("0 0 31 2 *", after: "2026-03-01T00:00:00Z", count: 1) == [], "never")
    }

    @Test func dayOfMonthAndDayOfWeekBothRestrictedMeansEither() throws {
        // The 1st of the month or any Friday (Vixie cron).
        #expect(
            try Self.runs("0 8 1 * fri", after: "2026-12-02T09:00:00Z", count: 4)
                == ["2026-12-04T08:00:00Z", "2026-12-11T08:00:00Z", "2026-12-18T08:00:00Z", "2026-12-25T08:00:00Z"]
        )
        #expect(try Self.runs("0 8 1 * fri", after: "2026-12-26T09:00:00Z", count: 1) == ["2027-01-01T08:00:00Z"])
    }

    @Test func badExpressionsSayWhatIsWrong() {
        func error(_ cron: String) -> String {
            do {
                _ = try CronSchedule(cron, timeZone: Self.utc)
                return "no error"
            } catch { return error.description }
        }
        #expect(error("61 * * * *") == "minute 61 is out of 0-59")
        #expect(error("* * * *").hasPrefix("must have five fields"))
        #expect(error("* 5-2 * * *") == "hour range '5-2' runs backwards")
        #expect(error("* * * foo *") == "month field: 'foo' is not a number or a name")
        #expect(error("*/0 * * * *") == "minute field: step '0' must be 1-60")
        #expect(error("1,,2 * * * *") == "minute field '1,,2' has an empty list item")
        #expect(error("* * 0 * *") == "day-of-month 0 is out of 1-31")
    }

    @Test func aSkippedLocalTimeRunsOnceAtTheEndOfTheGap() throws {
        // Berlin, 29 March 2026: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
        #expect(
            try Self.runs("30 2 * * *", Self.berlin, after: "2026-03-28T12:00:00Z", count: 3)
                == ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"]
        )
        // Every 15 minutes through the gap: 01:45 CET, then 03:00 CEST once (not 4 times).
        #expect(
            try Self.runs("*/15 * * * *", Self.berlin, after: "2026-03-29T00:40:00Z", count: 3)
                == ["2026-03-29T00:45:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:15:00Z"]
        )
        // New York, 8 March 2026: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
        #expect(
            try Self.runs("0 2 * * *", Self.newYork, after: "2026-03-07T12:00:00Z", count: 2)
                == ["2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z"]
        )
    }

    @Test func aRepeatedLocalTimeRunsOnceTheFirstTime() throws {
        // Berlin, 25 October 2026: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice
        // (00:30 and 01:30 UTC): it runs at the first.
        #expect(
            try Self.runs("30 2 * * *", Self.berlin, after: "2026-10-24T12:00:00Z", count: 2)
                == ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]
        )
        // Hourly through the repeated hour: 02:00 local once.
        #expect(
            try Self.runs("0 * * * *", Self.berlin, after: "2026-10-24T23:30:00Z", count: 3)
                == ["2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"]
        )
    }

    @Test func everyRunIsLaterAndMatchesItsFields() async {
        let zones = [Self.utc, Self.berlin, Self.newYork, TimeZone(identifier: "Australia/Lord_Howe")!]
        await propertyCheck(
            count: 300,
            input: Gen.int(in: 0...59),
            Gen.int(in: 0...23),
            Gen.int(in: 0...3),
            Gen.int(in: 1_700_000_000...1_900_000_000)
        ) { minute, hour, zoneIndex, start in
            let zone = zones[zoneIndex]
            let schedule = try! CronSchedule("\(minute) \(hour) * * *", timeZone: zone)
            let after = Date(timeIntervalSince1970: Double(start))
            let next = schedule.next(after: after)!
            #expect(next > after)
            #expect(next.timeIntervalSince(after) <= 86_400 + 3_600 * 2, "daily: within a day (and a DST hour)")
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            let parts = calendar.dateComponents([.hour, .minute], from: next)
            // The local time is the one asked for, or the end of a gap it fell in.
            let exact = parts.hour == hour && parts.minute == minute
            let gap = zone.nextDaylightSavingTimeTransition(after: next.addingTimeInterval(-1)) == next
            #expect(exact || gap, "\(minute) \(hour) in \(zone.identifier) after \(after): \(next)")
        }
    }
}
