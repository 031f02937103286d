#if canImport(Glibc)
import Glibc
#endif

/// Reads small /proc files into one reused buffer and parses numbers from bytes, without
/// Foundation and without allocating per field.
public struct ProcFile: ~Copyable {
    private let buffer: UnsafeMutableRawBufferPointer
    private(set) var length = 0

    public init(capacity: Int = 8192) {
        buffer = .allocate(byteCount: capacity, alignment: 8)
    }

    deinit { buffer.deallocate() }

    /// Reads `path` (a NUL-terminated C string); returns false when it cannot be read.
    public mutating func read(_ path: UnsafePointer<CChar>) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return false }
        defer { close(fd) }
        var total = 0
        while total < buffer.count {
            let n = Glibc.read(fd, buffer.baseAddress! + total, buffer.count - total)
            if n <= 0 { break }
            total += n
        }
        length = total
        return total > 0
    }

    /// Reads an open /proc file again from its start (a /proc file re-generates its text
    /// on each read from offset 0): no path lookup, no open.
    public mutating func reread(_ fd: Int32) -> Bool {
        let n = pread(fd, buffer.baseAddress!, buffer.count, 0)
        length = max(0, n)
        return n > 0
    }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[0..<length]) }
}

/// `/proc/PID/stat` fields the monitor needs.
public struct ProcStat {
    public var state: UInt8 = 0
    public var ppid: Int32 = 0
    public var session: Int32 = 0
    public var minorFaults: Int64 = 0
    public var ticks: Int64 = 0  // utime + stime
    public var startTime: Int64 = 0
    public var rssPages: Int64 = 0
    /// Field 9, the kernel's `PF_*` flags.
    public var flags: Int64 = 0

    /// Exiting (`PF_EXITING`) or a zombie: its memory is being released or gone.
    public var isExiting: Bool { state == UInt8(ascii: "Z") || flags & 0x4 != 0 }

    /// Parses the text after the last `)` (the command name may hold spaces and parentheses).
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> ProcStat? {
        var close = -1
        for i in stride(from: bytes.count - 1, through: 0, by: -1) where bytes[i] == UInt8(ascii: ")") {
            close = i
            break
        }
        guard close >= 0 else { return nil }
        var stat = ProcStat()
        var field = 3
        var i = close + 2
        while i < bytes.count, field <= 24 {
            let start = i
            while i < bytes.count, bytes[i] != UInt8(ascii: " "), bytes[i] != UInt8(ascii: "\n") { i += 1 }
            if field == 3 {
                stat.state = bytes[start]
            } else if field == 4 || field == 6 || field == 9 || field == 10 || field == 14 || field == 15
                || field == 22 || field == 24
            {
                var value: Int64 = 0
                var negative = false
                for k in start..<i {
                    let c = bytes[k]
                    if c == UInt8(ascii: "-") { negative = true } else { value = value &* 10 &+ Int64(c &- 48) }
                }
                if negative { value = -value }
                switch field {
                case 4: stat.ppid = Int32(truncatingIfNeeded: value)
                case 6: stat.session = Int32(truncatingIfNeeded: value)
                case 9: stat.flags = value
                case 10: stat.minorFaults = value
                case 14, 15: stat.ticks += value
                case 22: stat.startTime = value
                default: stat.rssPages = value
                }
            }
            field += 1
            i += 1
        }
        return field > 24 ? stat : nil
    }
}

/// `/proc/PID/io` fields: read/write system calls and storage bytes.
struct ProcIO {
    var syscalls: Int64 = 0  // syscr + syscw
    var readBytes: Int64 = 0
    var writeBytes: Int64 = 0

    static func parse(_ bytes: UnsafeRawBufferPointer) -> ProcIO {
        var io = ProcIO()
        var lineStart = 0
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\n") || i == bytes.count - 1 {
                // key: value
                var colon = lineStart
                while colon < i, bytes[colon] != UInt8(ascii: ":") { colon += 1 }
                var value: Int64 = 0
                var k = colon + 1
                while k <= i {
                    let c = bytes[k]
                    if c >= 48 && c <= 57 { value = value * 10 + Int64(c - 48) }
                    k += 1
                }
                let key = UnsafeRawBufferPointer(rebasing: bytes[lineStart..<colon])
                if key.elementsEqual("syscr".utf8) || key.elementsEqual("syscw".utf8) {
                    io.syscalls += value
                } else if key.elementsEqual("read_bytes".utf8) {
                    io.readBytes = value
                } else if key.elementsEqual("write_bytes".utf8) {
                    io.writeBytes = value
                }
                lineStart = i + 1
            }
            i += 1
        }
        return io
    }
}
