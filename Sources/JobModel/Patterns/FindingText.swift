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
        switch f.metric {
        case "successRate":
            return "\(percent(f.value)) succeed\(against)\(difference)"
        case "rescueRate":
            return "\(percent(f.value)) of failed first attempts end in success\(against)\(difference)"
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
    /// strongest evidence first, without a name prefix that selects the very jobs of one
    /// of its names (`feed` when `feed-gameday` is the only `feed` name that fails: the
    /// name says it more precisely).
    public static func top(_ findings: [Finding], limit: Int) -> [Finding] {
        let tested = findings.filter { $0.significant && $0.pValue != nil }
        let names = tested.filter { $0.pattern == "name" }
        func repeatsAName(_ f: Finding) -> Bool {
            f.pattern == "name-prefix"
                && names.contains {
                    $0.group.hasPrefix(f.group) && $0.matchCount == f.matchCount && $0.hitCount == f.hitCount
                        && $0.metric == f.metric
                }
        }
        let ranked = tested.filter { !repeatsAName($0) }.sorted {
            ($0.pValue ?? 1, $0.pattern, $0.group) < ($1.pValue ?? 1, $1.pattern, $1.group)
        }
        return Array(ranked.prefix(limit))
    }
}
