import Foundation
import JobModel
import Testing

struct TimestampTests {
    @Test func formatsUTCWithMicroseconds() {
        #expect(Timestamp.format(micros: 0) == "1970-01-01T00:00:00.000000Z")
        #expect(Timestamp.format(micros: 1_767_571_200_123_456) == "2026-01-05T00:00:00.123456Z")
        #expect(Timestamp.format(micros: -1) == "1969-12-31T23:59:59.999999Z")
    }

    @Test(arguments: [
        ("2026-01-05T00:00:00Z", Int64(1_767_571_200_000_000)),
        ("2026-01-05T00:00:00.5Z", 1_767_571_200_500_000),
        ("2026-01-05T01:00:00+01:00", 1_767_571_200_000_000),
        ("2026-01-04T19:00:00-05:00", 1_767_571_200_000_000),
        ("2026-01-05 00:00:00.123456789Z", 1_767_571_200_123_456),
        ("2026-01-05", 1_767_571_200_000_000),
        ("2024-02-29T12:00:00Z", 1_709_208_000_000_000),
    ])
    func parses(text: String, micros: Int64) {
        #expect(Timestamp.parseMicros(text) == micros)
    }

    @Test(arguments: [
        "", "2026", "2026-13-01", "2026-01-05T25:00:00Z", "2026-01-05T00:00:00", "2026-01-05T00:00Zjunk", "x",
    ])
    func refusesNonsense(text: String) {
        #expect(Timestamp.parseMicros(text) == nil)
    }

    @Test func roundTripsEveryDayForFourHundredYears() {
        var day: Int64 = -50_000
        while day < 100_000 {
            let micros = day * 86_400_000_000 + 12_345_678
            #expect(Timestamp.parseMicros(Timestamp.format(micros: micros)) == micros)
            day += 37
        }
    }
}

struct TimestampRangeTests {
    @Test func extremeTimesAreClampedNotATrap() {
        #expect(Timestamp.format(micros: .min) == "0000-01-01T00:00:00.000000Z")
        #expect(Timestamp.format(micros: .max) == "9999-12-31T23:59:59.999999Z")
    }
}
