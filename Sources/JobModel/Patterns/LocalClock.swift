import Foundation

/// Hour of day and day of week of Unix-microsecond times in one time zone, fast:
/// the zone's UTC offset is looked up once per distinct UTC hour.
struct LocalClock {
    let timeZone: TimeZone
    private var cachedHour = Int64.min
    private var cachedOffset: Int64 = 0

    init(timeZone: TimeZone) {
        self.timeZone = timeZone
    }

    /// Local seconds since the epoch (UTC seconds + the zone's offset at that moment).
    mutating func localSeconds(micros: Int64) -> Int64 {
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let hour = seconds >= 0 ? seconds / 3600 : (seconds - 3599) / 3600
        if hour != cachedHour {
            cachedHour = hour
            cachedOffset = Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(hour * 3600))))
        }
        return seconds + cachedOffset
    }

    /// 0...23.
    mutating func hour(micros: Int64) -> Int {
        let s = localSeconds(micros: micros)
        let r = s % 86_400
        return Int((r < 0 ? r + 86_400 : r) / 3600)
    }

    /// 0 = Monday … 6 = Sunday (ISO 8601).
    mutating func weekday(micros: Int64) -> Int {
        let s = localSeconds(micros: micros)
        let days = s >= 0 ? s / 86_400 : (s - 86_399) / 86_400
        // 1970-01-01 was a Thursday (ISO index 3).
        let r = (days + 3) % 7
        return Int(r < 0 ? r + 7 : r)
    }
}
