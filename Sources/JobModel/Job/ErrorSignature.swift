import Foundation

/// A failure's error output made comparable from run to run: the last lines of a job's
/// stderr tail with what changes every time masked.
///
/// The last 5 non-empty lines (the error message and a few lines of context, not the
/// progress output before it), each trimmed, with UUIDs (`<uuid>`), times and dates
/// (`<time>`), URLs (`<url>`), absolute paths (`<path>`), hex numbers and long hex
/// strings (`<hex>`) and numbers not part of a word (`<n>`; `psycopg2` stays) masked, in
/// that order.
public enum ErrorSignature {
    /// Lines of the tail kept.
    public static let lines = 5

    /// Made once (NSRegularExpression is Sendable: matching is thread-safe).
    private static let masks: [(NSRegularExpression, String)] = [
        (#"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"#, "<uuid>"),
        (#"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"#, "<time>"),
        (#"\b\d{1,2}:\d{2}:\d{2}([.,]\d+)?\b"#, "<time>"),
        (#"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'",;()<>]+"#, "<url>"),
        (#"(?<![\w.~])(/[^\s:'",;()\[\]{}<>]+)+/?"#, "<path>"),
        (#"\b0x[0-9a-fA-F]+\b"#, "<hex>"),
        (#"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"#, "<hex>"),
        (#"(?<![A-Za-z_])\d+([.,]\d+)*(?![A-Za-z_])"#, "<n>"),
    ].map { (try! NSRegularExpression(pattern: $0.0), $0.1) }

    /// The signature of `tail`; `nil` when it has no text.
    public static func of(_ tail: String) -> String? {
        let kept = tail.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .suffix(lines)
        guard !kept.isEmpty else { return nil }
        var text = kept.joined(separator: "\n")
        for (expression, replacement) in masks {
            text = expression.stringByReplacingMatches(
                in: text,
                range: NSRange(text.startIndex..., in: text),
                withTemplate: replacement
            )
        }
        return text
    }

    /// The last line of a signature, for a sentence (at most 120 characters).
    public static func headline(_ signature: String) -> String {
        let last = signature.split(separator: "\n").last.map(String.init) ?? signature
        return last.count > 120 ? String(last.prefix(119)) + "…" : last
    }
}
