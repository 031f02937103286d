import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Values read straight from UTF-8 bytes, for the CSV and JSON Lines readers (a `String`
/// per value would cost more than the parsing).
enum ByteParsing {
    /// FNV-1a of `bytes`: the readers' key for byte strings (interned values, JSON keys).
    static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    private static let statuses = JobStatus.allCases.map { (Array($0.rawValue.utf8), $0.code) }

    /// The ``JobStatus/code`` of a status name's bytes (`failed`); `nil` for no status.
    static func status(_ bytes: some Collection<UInt8>) -> UInt8? {
        statuses.first { $0.0.count == bytes.count && $0.0.elementsEqual(bytes) }?.1
    }

    /// An integer: optional sign, then digits; `nil` for anything else or an overflow.
    static func integer(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        var i = 0
        let n = bytes.count
        guard n > 0 else { return nil }
        var negative = false
        if bytes[0] == 45 || bytes[0] == 43 {
            negative = bytes[0] == 45
            i = 1
        }
        guard i < n else { return nil }
        var value: Int64 = 0
        while i < n {
            let d = bytes[i] &- 48
            guard d < 10 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) =
                negative ? times10.subtractingReportingOverflow(Int64(d)) : times10.addingReportingOverflow(Int64(d))
            guard !o1, !o2 else { return nil }
            value = sum
            i += 1
        }
        return value
    }

    private static let powersOfTen: [Double] = (0...22).map { pow(10, Double($0)) }

    /// A finite number as `strtod` reads it (no leading space); `nil` for anything else.
    ///
    /// Plain decimals of at most 15 digits (`523.312`, most figures) are one exact integer
    /// divided by an exact power of ten, which IEEE division rounds correctly (Clinger's
    /// fast path): 11 numbers a row took a second per million rows through strtod.
    static func number(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        let n = bytes.count
        guard n > 0, bytes[0] != 32, bytes[0] != 9 else { return nil }
        var i = 0
        var negative = false
        if bytes[0] == 45 {
            negative = true
            i = 1
        }
        var mantissa: Int64 = 0
        var digits = 0
        var fraction = 0
        var seenPoint = false
        var plain = i < n
        while i < n {
            let c = bytes[i]
            if c == 46, !seenPoint {
                seenPoint = true
            } else if c &- 48 < 10 {
                mantissa = mantissa &* 10 &+ Int64(c &- 48)
                digits += 1
                if seenPoint { fraction += 1 }
            } else {
                plain = false
                break
            }
            i += 1
        }
        if plain, digits > 0, digits <= 15 {
            let value = Double(mantissa) / powersOfTen[fraction]
            return negative ? -value : value
        }
        guard n < 64 else { return Double(String(decoding: bytes, as: UTF8.self)).flatMap { $0.isFinite ? $0 : nil } }
        // strtod wants a terminated string: the bytes are copied to the stack.
        let value: Double? = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
            let base = buffer.baseAddress!
            UnsafeMutableRawPointer(base).copyMemory(from: bytes.baseAddress!, byteCount: n)
            base[n] = 0
            var end: UnsafeMutablePointer<CChar>? = nil
            let d = strtod(base, &end)
            return end == base + n ? d : nil
        }
        guard let value, value.isFinite else { return nil }
        return value
    }
}

/// Interns byte strings into a ``StringPool`` without making a `String` for a value seen
/// before: a 64-bit hash of the bytes finds the pool index, and the bytes are compared
/// with the pooled string to be sure.
struct ByteInterner {
    private var indices: [UInt64: UInt32] = [:]

    mutating func intern(_ bytes: UnsafeBufferPointer<UInt8>, into pool: inout StringPool) -> UInt32 {
        let hash = ByteParsing.hash(bytes)
        if let index = indices[hash] {
            var pooled = pool[index]
            let same = pooled.withUTF8 {
                $0.count == bytes.count
                    && (bytes.isEmpty || memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0)
            }
            if same { return index }
            return pool.intern(String(decoding: bytes, as: UTF8.self))  // a hash collision
        }
        let index = pool.intern(String(decoding: bytes, as: UTF8.self))
        indices[hash] = index
        return index
    }
}

extension ByteInterner {
    /// The pool index of a string `scanner` just read.
    mutating func intern(_ text: JSONScanner.Text, of scanner: JSONScanner, into pool: inout StringPool) -> UInt32 {
        switch text {
        case .plain(let range): return intern(UnsafeBufferPointer(rebasing: scanner.bytes[range]), into: &pool)
        case .unescaped: return scanner.scratch.withUnsafeBufferPointer { intern($0, into: &pool) }
        }
    }

    /// `{"key": "value", …}` into `pairs`; `false` when the next value is not such an object.
    mutating func stringObject(
        _ scanner: inout JSONScanner,
        into pairs: inout [(key: UInt32, value: UInt32)],
        pool: inout StringPool
    ) -> Bool {
        guard scanner.consume(123) else { return false }
        if scanner.consume(125) { return true }
        repeat {
            guard let key = scanner.string() else { return false }
            let k = intern(key, of: scanner, into: &pool)
            guard scanner.consume(58), let value = scanner.string() else { return false }
            pairs.append((k, intern(value, of: scanner, into: &pool)))
        } while scanner.consume(44)
        return scanner.consume(125)
    }

    /// `["word", …]` into `words`; `false` when the next value is not such an array.
    mutating func stringArray(_ scanner: inout JSONScanner, into words: inout [UInt32], pool: inout StringPool) -> Bool
    {
        guard scanner.consume(91) else { return false }
        if scanner.consume(93) { return true }
        repeat {
            guard let word = scanner.string() else { return false }
            words.append(intern(word, of: scanner, into: &pool))
        } while scanner.consume(44)
        return scanner.consume(93)
    }
}
