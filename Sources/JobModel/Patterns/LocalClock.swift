public import Foundation

/// Hour of day, day of week and day of Unix-microsecond times in one time zone, fast:
/// the zone's UTC offset is looked up once per distinct UTC hour.
public struct LocalClock: Sendable {
    public let timeZone: TimeZone
    private var cachedHour = Int64.min
    private var cachedOffset: Int64 = 0

    public init(timeZone: TimeZone) {
        self.timeZone = timeZone
    }

    /// Local seconds since the epoch (UTC seconds + the zone's offset at that moment).
    public mutating func localSeconds(micros: Int64) -> Int64 {
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let hour = seconds >= 0 ? seconds / 3600 : (seconds - 3599) / 3600
        if hour != cachedHour {
            cachedHour = hour
            cachedOffset = Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(hour * 3600))))
        }
        return seconds + cachedOffset
    }

    /// Local days since 1970-01-01 of local seconds.
    public static func day(ofLocalSeconds s: Int64) -> Int64 {
        s >= 0 ? s / 86_400 : (s - 86_399) / 86_400
    }

    /// 0...23.
    public mutating func hour(micros: Int64) -> Int {
        let s = localSeconds(micros: micros)
        return Int((s - Self.day(ofLocalSeconds: s) * 86_400) / 3600)
    }

    /// 0 = Monday … 6 = Sunday (ISO 8601).
    public mutating func weekday(micros: Int64) -> Int {
        Self.weekday(day: day(micros: micros))
    }

    /// 0 = Monday … 6 = Sunday of a local day number (1970-01-01 was a Thursday).
    public static func weekday(day: Int64) -> Int {
        Int(((day + 3) % 7 + 7) % 7)
    }

    /// Local days since 1970-01-01.
    public mutating func day(micros: Int64) -> Int64 {
        Self.day(ofLocalSeconds: localSeconds(micros: micros))
    }

    /// `2026-11-20` of a local day number.
    public static func dateText(day: Int64) -> String {
        let (y, m, d) = Timestamp.civil(fromDays: day)
        return String(format: "%04d-%02d-%02d", y, m, d)
    }

    /// `2026-11-20 14:05`, local.
    public mutating func minuteText(micros: Int64) -> String {
        let s = localSeconds(micros: micros)
        let day = Self.day(ofLocalSeconds: s)
        let rest = s - day * 86_400
        return Self.dateText(day: day) + String(format: " %02d:%02d", rest / 3600, rest % 3600 / 60)
    }
}
