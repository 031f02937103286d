import Foundation

/// POSIX shell quoting of argv, as CSV stores `command`.
public enum ShellQuoting {
    /// `argv` as one line a POSIX shell would split back into the same words: plain words
    /// stay as they are, others are single-quoted (`'it'\''s'`).
    public static func join(_ argv: [String]) -> String {
        argv.map(quote).joined(separator: " ")
    }

    /// One word, quoted only when it needs to be.
    public static func quote(_ word: String) -> String {
        if !word.isEmpty, word.utf8.allSatisfy(isSafe) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private static func isSafe(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
            || "@%+=:,./_-".utf8.contains(c)
    }

    /// Splits a shell-quoted line into words: single quotes, double quotes (with `\"`,
    /// `\\`, `\$` and `` \` `` escapes) and backslash escapes outside quotes. No expansion.
    /// Returns `nil` for an unterminated quote.
    public static func split(_ line: String) -> [String]? {
        var words: [String] = []
        var current: [UInt8] = []
        var inWord = false
        var bytes = line.utf8.makeIterator()
        while let c = bytes.next() {
            switch c {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"):
                if inWord {
                    words.append(String(decoding: current, as: UTF8.self))
                    current.removeAll()
                    inWord = false
                }
            case UInt8(ascii: "'"):
                inWord = true
                var closed = false
                while let d = bytes.next() {
                    if d == UInt8(ascii: "'") {
                        closed = true
                        break
                    }
                    current.append(d)
                }
                if !closed { return nil }
            case UInt8(ascii: "\""):
                inWord = true
                var closed = false
                while let d = bytes.next() {
                    if d == UInt8(ascii: "\"") {
                        closed = true
                        break
                    }
                    if d == UInt8(ascii: "\\") {
                        guard let e = bytes.next() else { return nil }
                        if !"\"\\$`".utf8.contains(e) { current.append(d) }
                        current.append(e)
                    } else {
                        current.append(d)
                    }
                }
                if !closed { return nil }
            case UInt8(ascii: "\\"):
                inWord = true
                guard let e = bytes.next() else { return nil }
                current.append(e)
            default:
                inWord = true
                current.append(c)
            }
        }
        if inWord { words.append(String(decoding: current, as: UTF8.self)) }
        return words
    }
}
