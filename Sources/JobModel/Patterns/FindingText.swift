import Foundation

/// Findings as sentences a person reads (`jobrunner stats`, `jobstats report`).
public enum FindingText {
    /// `"71 %"`.
    public static func percent(_ v: Double?) -> String {
        guard let v else { return "–" }
        let p = v * 100
        return (p > 0 && p < 1 ? String(format: "%.1f", p) : String(format: "%.0f", p)) + " %"
    }

    /// `1,234,567`.
    public static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// How strong the evidence of a p-value is, in words.
    public static func confidence(_ p: Double?) -> String? {
        guard let p else { return nil }
        switch p {
        case ..<0.001: return "p < 0.001, very strong evidence"
        case ..<0.01: return String(format: "p = %.3f, strong evidence", p)
        case ..<0.05: return String(format: "p = %.3f, moderate evidence", p)
        default: return String(format: "p = %.2f, weak evidence", p)
        }
    }

    /// What the finding measures, as the rest of its sentence: `"71 % succeed, against 88 %
    /// overall (-19%)"`.
    public static func measure(_ f: Finding) -> String {
        let against = f.baselineValue.map { ", against \(percent($0)) overall" } ?? ""
        let difference = f.differenceFromAverage.map { " (\($0))" } ?? ""
        if f.pattern == "change-point" {
            // Its baseline is the rate before the step, not the whole history's.
            return "\(percent(f.value)) succeed since, against \(percent(f.baselineValue)) before\(difference)"
        }
        switch f.metric {
        case "successRate":
            return "\(percent(f.value)) succeed\(against)\(difference)"
        case "rescueRate":
            return "\(percent(f.value)) of failed first attempts end in success\(against)\(difference)"
        case "failureRate":
            return "\(percent(f.value)) fail\(against)\(difference)"
        case "flakyShare":
            return "\(percent(f.value)) of its jobs failed, then passed on a retry\(against)\(difference)"
        case "failures":
            let hours = f.mostFailures?.joined(separator: ", ") ?? "–"
            return "\(hours), \(grouped(Int(f.value ?? 0))) failures"
        default:
            return "\(percent(f.value)) of its runs\(against)\(difference)"
        }
    }

    /// The size and confidence: `"639 jobs; p < 0.001, very strong evidence"`.
    public static func support(_ f: Finding) -> String {
        var out = "\(grouped(f.matchCount)) jobs"
        if let confidence = confidence(f.pValue) { out += "; " + confidence }
        if !f.significant { out += "; not significant" }
        return out
    }

    /// One plain line: `"Job name is 'x': 71 % succeed, against 88 % overall (-19%); 639 jobs; p < 0.001, …"`.
    public static func sentence(_ f: Finding) -> String {
        "\(f.name): \(measure(f)); \(support(f))"
    }

    /// The findings worth a person's first minutes: significant ones that a test backs,
    /// strongest evidence first, each group of jobs once — of two findings that count the
    /// very same jobs (the same metric and counts) and whose groups name one another (a
    /// prefix `feed` and its only failing name `feed-gameday`; a name and its `broken`
    /// verdict), the one with the longer group says it more precisely and stays (of equal
    /// groups, the first pattern's).
    public static func top(_ findings: [Finding], limit: Int) -> [Finding] {
        // A `contrast` value that another pattern has its own finding for (a name, family,
        // hour, weekday or duration) would say the same thing twice; its pairs stay.
        let covered = ["name ", "family ", "hour ", "weekday ", "duration "]
        let tested = findings.filter { f in
            f.significant && f.pValue != nil
                && !(f.pattern == "contrast" && !f.group.contains(" AND ")
                    && covered.contains { f.group.hasPrefix($0) })
        }
        func repeated(_ f: Finding) -> Bool {
            tested.contains {
                ($0.group.count > f.group.count && $0.group.contains(f.group)
                    || $0.group == f.group && $0.pattern < f.pattern)
                    && $0.metric == f.metric && $0.matchCount == f.matchCount && $0.hitCount == f.hitCount
            }
        }
        let ranked = tested.filter { !repeated($0) }.sorted {
            ($0.pValue ?? 1, $0.pattern, $0.group) < ($1.pValue ?? 1, $1.pattern, $1.group)
        }
        // `contrast` tests hundreds of values: at most two of its findings, so that the
        // other views keep their place.
        var contrast = 0
        return Array(
            ranked.filter { f in
                guard f.pattern == "contrast" else { return true }
                contrast += 1
                return contrast <= 2
            }
            .prefix(limit)
        )
    }
}
