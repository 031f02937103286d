import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads and writes job files by their extension: `.jrsnap` (snapshot), `.csv`, `.jsonl`.
public enum JobFiles {
    /// The kinds of job files.
    public enum Format: String, Sendable, CaseIterable {
        case snapshot = "jrsnap"
        case csv
        case jsonl

        /// The format named by `path`'s extension, `nil` when it names none.
        public init?(path: String) {
            let ext = (path as NSString).pathExtension.lowercased()
            switch ext {
            case "jrsnap": self = .snapshot
            case "csv": self = .csv
            case "jsonl", "ndjson": self = .jsonl
            default: return nil
            }
        }
    }

    /// What was read from one input.
    public struct Loaded: Sendable {
        public var table: JobTable
        /// The header, for a snapshot.
        public var info: SnapshotInfo?
    }

    /// Loads one file. The format comes from the extension; a file with another extension
    /// is read as a snapshot when it starts with the snapshot magic.
    ///
    /// - Throws: ``SnapshotError`` or ``JobFileError``, each naming the file.
    public static func load(_ path: String, progress: ((Int, Int) -> Void)? = nil) throws -> Loaded {
        let format = try Format(path: path) ?? sniff(path)
        switch format {
        case .snapshot:
            let (info, table) = try SnapshotReader.load(path: path, progress: progress)
            return Loaded(table: table, info: info)
        case .csv:
            return Loaded(table: try JobCSV.table(try readAll(path), file: path), info: nil)
        case .jsonl:
            return Loaded(table: try JobJSONLines.table(try readAll(path), file: path), info: nil)
        }
    }

    private static func sniff(_ path: String) throws -> Format {
        let head = try readAll(path, limit: SnapshotFormat.magic.count)
        if head == SnapshotFormat.magic { return .snapshot }
        throw JobFileError(.badData, "\(path): unknown file type; use a .jrsnap, .csv or .jsonl file")
    }

    /// The bytes of `path` (at most `limit`), read straight into the array (through
    /// `Data` the copy cost a tenth of a 1,000,000-job CSV's load).
    static func readAll(_ path: String, limit: Int = .max) throws(JobFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            var isDirectory: ObjCBool = false
            if code == ENOENT || !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                throw JobFileError(.notFound, "\(path): no such file")
            }
            throw JobFileError(.io, "\(path): cannot be read: \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw JobFileError(.io, "\(path): cannot be read: \(String(cString: strerror(errno)))")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw JobFileError(.io, "\(path): cannot be read (it is a directory)") }
        var bytes: [UInt8] = []
        var chunk = max(min(Int(info.st_size), limit), 65_536)
        while bytes.count < limit {
            let want = min(chunk, limit - bytes.count)
            let before = bytes.count
            var failure: Int32 = 0
            bytes.append(contentsOf: repeatElement(0, count: want))
            let got = bytes.withUnsafeMutableBufferPointer { buffer -> Int in
                var total = 0
                while total < want {
                    let n = read(fd, buffer.baseAddress! + before + total, want - total)
                    if n < 0, errno == EINTR { continue }
                    if n < 0 { failure = errno }
                    if n <= 0 { break }
                    total += n
                }
                return total
            }
            bytes.removeLast(want - got)
            if failure != 0 {
                throw JobFileError(.io, "\(path): cannot be read: \(String(cString: strerror(failure)))")
            }
            if got < want { break }
            chunk = 1 << 20  // the file grew, or reports no size (a pipe)
        }
        return bytes
    }

    /// Writes `table` to `path` in the format its extension names, atomically (temporary
    /// file, fsync, rename): a failed write leaves no partial file.
    public static func write(_ table: JobTable, to path: String, info: SnapshotInfo) throws {
        guard let format = Format(path: path) else {
            throw JobFileError(.badData, "\(path): unknown output type; use a .jrsnap, .csv or .jsonl file")
        }
        switch format {
        case .snapshot:
            try SnapshotWriter.write(table, to: path, info: info)
        case .csv, .jsonl:
            var output = try OutputFile(atomicPath: path)
            try write(table, format: format, to: &output)
            try output.commit()
        }
    }

    /// Writes `table` as CSV or JSON Lines to `output` (a snapshot cannot go to a stream).
    public static func write(_ table: JobTable, format: Format, to output: inout OutputFile) throws {
        switch format {
        case .csv:
            try output.write(JobCSV.header)
            for row in 0..<table.count { try output.write(JobCSV.row(table[row])) }
        case .jsonl:
            let encoder = JobJSONLines.makeEncoder()
            for row in 0..<table.count { try output.write(try JobJSONLines.line(table[row], encoder: encoder)) }
        case .snapshot:
            throw JobFileError(.badData, "a snapshot can only be written to a file")
        }
    }
}
