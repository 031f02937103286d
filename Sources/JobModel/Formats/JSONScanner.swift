/// Reads JSON values from UTF-8 bytes in place, for the job readers' fast paths (JSON Lines
/// records, CSV `labels`). Every method returns `nil` / `false` where the text is not what
/// it expects; the callers then hand the text to `JSONDecoder`, which says what is wrong.
struct JSONScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var position: Int
    let end: Int
    /// The bytes of the last string read that had escapes.
    private(set) var scratch: [UInt8] = []

    /// A string just read: its bytes in the input, or in ``scratch`` (escapes undone).
    enum Text {
        case plain(Range<Int>)
        case unescaped
    }

    init(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.position = start
        self.end = end ?? bytes.count
    }

    var atEnd: Bool { position >= end }

    mutating func skipSpace() {
        while position < end {
            let c = bytes[position]
            guard c == 32 || c == 9 || c == 10 || c == 13 else { return }
            position += 1
        }
    }

    /// Skips white space, then `byte` if it comes next.
    mutating func consume(_ byte: UInt8) -> Bool {
        skipSpace()
        guard position < end, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    /// Skips white space; whether `null` comes next (then consumed).
    mutating func null() -> Bool {
        literal("null")
    }

    /// `true` or `false`; `nil` for anything else.
    mutating func bool() -> Bool? {
        if literal("true") { return true }
        if literal("false") { return false }
        return nil
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        skipSpace()
        let n = word.utf8CodeUnitCount
        guard end - position >= n else { return false }
        for k in 0..<n where bytes[position + k] != word.utf8Start[k] { return false }
        position += n
        return true
    }

    /// The bytes of a number (`-`, digits, `.`, exponent), not yet checked.
    mutating func number() -> UnsafeBufferPointer<UInt8>? {
        skipSpace()
        let start = position
        while position < end {
            let c = bytes[position]
            guard (c >= 48 && c <= 57) || c == 45 || c == 43 || c == 46 || c == 101 || c == 69 else { break }
            position += 1
        }
        return position > start ? UnsafeBufferPointer(rebasing: bytes[start..<position]) : nil
    }

    /// A string; `nil` when none comes next or it is not valid.
    mutating func string() -> Text? {
        skipSpace()
        guard position < end, bytes[position] == 34 else { return nil }
        position += 1
        let start = position
        while position < end {
            let c = bytes[position]
            if c == 34 {
                position += 1
                return .plain(start..<(position - 1))
            }
            if c == 92 {
                scratch.removeAll(keepingCapacity: true)
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<position]))
                return unescape() ? .unescaped : nil
            }
            if c < 32 { return nil }
            position += 1
        }
        return nil
    }

    /// The rest of a string with escapes, into ``scratch``.
    private mutating func unescape() -> Bool {
        while position < end {
            let c = bytes[position]
            position += 1
            if c == 34 { return true }
            if c < 32 { return false }
            guard c == 92 else {
                scratch.append(c)
                continue
            }
            guard position < end else { return false }
            let e = bytes[position]
            position += 1
            switch e {
            case 34, 92, 47: scratch.append(e)
            case 98: scratch.append(8)
            case 102: scratch.append(12)
            case 110: scratch.append(10)
            case 114: scratch.append(13)
            case 116: scratch.append(9)
            case 117:
                guard var scalar = hex4() else { return false }
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate: its low half must follow.
                    guard end - position >= 2, bytes[position] == 92, bytes[position + 1] == 117 else { return false }
                    position += 2
                    guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return false }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    return false
                }
                guard let unicode = Unicode.Scalar(scalar) else { return false }
                scratch.append(contentsOf: String(Character(unicode)).utf8)
            default:
                return false
            }
        }
        return false
    }

    private mutating func hex4() -> UInt32? {
        guard end - position >= 4 else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[position]
            let digit: UInt8
            switch c {
            case 48...57: digit = c - 48
            case 97...102: digit = c - 87
            case 65...70: digit = c - 55
            default: return nil
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// Skips one value of any kind; `false` when there is none or it is not valid.
    mutating func skipValue(depth: Int = 0) -> Bool {
        guard depth < 64 else { return false }
        skipSpace()
        guard position < end else { return false }
        switch bytes[position] {
        case 34: return string() != nil
        case 123:
            position += 1
            if consume(125) { return true }
            repeat {
                guard string() != nil, consume(58), skipValue(depth: depth + 1) else { return false }
            } while consume(44)
            return consume(125)
        case 91:
            position += 1
            if consume(93) { return true }
            repeat {
                guard skipValue(depth: depth + 1) else { return false }
            } while consume(44)
            return consume(93)
        case 116, 102: return bool() != nil
        case 110: return null()
        default: return number().map { ByteParsing.number($0) != nil } ?? false
        }
    }
}
