import Foundation

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
            return Loaded(table: JobTable(try JobCSV.parse(try readAll(path), file: path)), info: nil)
        case .jsonl:
            return Loaded(table: JobTable(try JobJSONLines.parse(try readAll(path), file: path)), info: nil)
        }
    }

    private static func sniff(_ path: String) throws -> Format {
        let head = try readAll(path, limit: SnapshotFormat.magic.count)
        if head == SnapshotFormat.magic { return .snapshot }
        throw JobFileError(.badData, "\(path): unknown file type; use a .jrsnap, .csv or .jsonl file")
    }

    /// The bytes of `path` (at most `limit`).
    static func readAll(_ path: String, limit: Int = .max) throws(JobFileError) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                throw JobFileError(.notFound, "\(path): no such file")
            }
            throw JobFileError(.io, "\(path): cannot be read\(isDirectory.boolValue ? " (it is a directory)" : "")")
        }
        defer { try? handle.close() }
        do {
            let data = limit == .max ? try handle.readToEnd() : try handle.read(upToCount: limit)
            return [UInt8](data ?? Data())
        } catch {
            throw JobFileError(.io, "\(path): cannot be read: \(error.localizedDescription)", cause: error)
        }
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
