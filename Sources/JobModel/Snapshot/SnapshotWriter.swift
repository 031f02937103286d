import Foundation
import SwiftProtobuf

#if canImport(Glibc)
import Glibc
#endif

/// Writes a snapshot file in bounded memory: rows are buffered until a batch is full,
/// then encoded, compressed and written.
///
/// The file is written under a temporary name beside `path`, then fsynced and renamed
/// into place by ``finish()``: a reader never sees a partial snapshot, and a crash
/// leaves the previous file untouched. Dropping the writer without calling `finish()`
/// removes the temporary file.
///
/// ```swift
/// var writer = try SnapshotWriter(path: "state/snapshots/x.jrsnap", info: info)
/// for job in jobs { try writer.append(job) }
/// let written = try writer.finish()
/// ```
public struct SnapshotWriter: ~Copyable {
    /// The final path.
    public let path: String
    private let temporaryPath: String
    private var fd: Int32
    private var info: SnapshotInfo
    private var pending = JobTable()
    private var scratch = BatchCodec.Scratch()
    private let compressor = ZstdCompressor(level: SnapshotFormat.compressionLevel)
    private var compressed: [UInt8] = []
    private var offset: Int = 0
    private let batchRecords: Int

    /// Creates the temporary file and writes the header.
    ///
    /// - Parameters:
    ///   - path: where the snapshot goes once finished.
    ///   - info: manager version, instance and creation time; counts are filled in.
    ///   - batchRecords: jobs per batch (at most 65,536; smaller is for tests).
    /// - Throws: ``SnapshotError`` `.io` when the file cannot be created.
    public init(
        path: String,
        info: SnapshotInfo,
        batchRecords: Int = SnapshotFormat.maxBatchRecords
    )
        throws(SnapshotError)
    {
        guard (1...SnapshotFormat.maxBatchRecords).contains(batchRecords) else {
            throw SnapshotError(.invalidArgument, "batch size \(batchRecords) is outside 1...65536")
        }
        var info = info
        info.formatVersion = SnapshotFormat.currentVersion
        info.recordCount = 0
        info.batchCount = 0
        let temporaryPath = path + ".tmp-\(getpid())"
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 {
            throw SnapshotError(.io, "cannot create \(temporaryPath): \(String(cString: strerror(errno)))")
        }
        let header: [UInt8]
        do {
            header = try Self.header(info, path: path)
            try Self.write(header[...], fd: fd, path: temporaryPath)
        } catch {
            close(fd)
            unlink(temporaryPath)
            throw error
        }
        self.path = path
        self.batchRecords = batchRecords
        self.temporaryPath = temporaryPath
        self.info = info
        self.fd = fd
        self.offset = header.count
    }

    deinit {
        if fd >= 0 {
            close(fd)
            unlink(temporaryPath)
        }
    }

    private static func header(_ info: SnapshotInfo, path: String) throws(SnapshotError) -> [UInt8] {
        var header = Jobrunner_Snapshot_V1_SnapshotHeader()
        header.managerVersion = info.managerVersion
        header.instance = info.instance
        header.createdAtMicros = Timestamp.micros(info.createdAt)
        let message: [UInt8]
        do {
            message = try header.serializedBytes()
        } catch {
            throw SnapshotError(.io, "cannot encode the header of \(path)", cause: error)
        }
        var bytes = SnapshotFormat.magic
        bytes.appendLE(SnapshotFormat.currentVersion)
        bytes.appendLE(UInt32(message.count))
        bytes.appendLE(UInt64(0))  // record count, patched by finish()
        bytes.appendLE(UInt64(0))  // batch count, patched by finish()
        bytes += message
        return bytes
    }

    private mutating func write(_ bytes: [UInt8]) throws(SnapshotError) {
        try write(bytes[...])
    }

    private mutating func write(_ bytes: ArraySlice<UInt8>) throws(SnapshotError) {
        try Self.write(bytes, fd: fd, path: temporaryPath)
        offset += bytes.count
    }

    private static func write(_ bytes: ArraySlice<UInt8>, fd: Int32, path temporaryPath: String) throws(SnapshotError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw SnapshotError(.io, "cannot write \(temporaryPath): \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }

    /// Adds one job.
    public mutating func append(_ job: Job) throws(SnapshotError) {
        pending.append(job)
        if pending.count >= batchRecords {
            try flush()
        }
    }

    /// Adds every row of `table`, in order.
    public mutating func append(_ table: JobTable) throws(SnapshotError) {
        if pending.count > 0 {
            try flush()
        }
        var start = 0
        while start < table.count {
            let end = min(start + batchRecords, table.count)
            try writeBatch(table, rows: start..<end)
            start = end
        }
    }

    private mutating func flush() throws(SnapshotError) {
        guard pending.count > 0 else { return }
        let table = pending
        pending = JobTable()
        scratch = BatchCodec.Scratch()
        try writeBatch(table, rows: 0..<table.count)
    }

    private mutating func writeBatch(_ table: JobTable, rows: Range<Int>) throws(SnapshotError) {
        let batch = BatchCodec.encode(table, rows: rows, scratch: &scratch)
        let plain: [UInt8]
        do {
            plain = try batch.serializedBytes()
        } catch {
            throw SnapshotError(.io, "cannot encode a batch of \(path)", cause: error)
        }
        try compressor.compress(plain, into: &compressed)
        var head = [UInt8]()
        head.reserveCapacity(SnapshotFormat.batchHeaderSize)
        head.appendLE(UInt32(compressed.count))
        head.appendLE(UInt32(plain.count))
        head.appendLE(UInt32(rows.count))
        try write(head)
        try write(compressed)
        info.recordCount += rows.count
        info.batchCount += 1
    }

    /// Writes the last batch, the counts, fsyncs and renames the file into place, then
    /// fsyncs the directory.
    ///
    /// - Returns: the header as written, with its counts.
    /// - Throws: ``SnapshotError`` `.io`; the temporary file is then removed and the
    ///   previous file at `path`, if any, is untouched.
    public consuming func finish() throws(SnapshotError) -> SnapshotInfo {
        try flush()
        var counts = [UInt8]()
        counts.appendLE(UInt64(info.recordCount))
        counts.appendLE(UInt64(info.batchCount))
        let patched = counts.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 16) }
        if patched != counts.count {
            throw SnapshotError(.io, "cannot write the counts of \(temporaryPath): \(String(cString: strerror(errno)))")
        }
        if fsync(fd) != 0 {
            throw SnapshotError(.io, "cannot fsync \(temporaryPath): \(String(cString: strerror(errno)))")
        }
        let closed = close(fd)
        fd = -1
        if closed != 0 {
            unlink(temporaryPath)
            throw SnapshotError(.io, "cannot close \(temporaryPath): \(String(cString: strerror(errno)))")
        }
        if rename(temporaryPath, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw SnapshotError(.io, "cannot rename \(temporaryPath) to \(path): \(reason)")
        }
        let directory = (path as NSString).deletingLastPathComponent
        let dirfd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
        return info
    }
}

extension SnapshotWriter {
    /// Writes `table` as a snapshot at `path` (atomically).
    @discardableResult
    public static func write(
        _ table: JobTable,
        to path: String,
        info: SnapshotInfo
    ) throws(SnapshotError)
        -> SnapshotInfo
    {
        var writer = try SnapshotWriter(path: path, info: info)
        try writer.append(table)
        return try writer.finish()
    }
}

extension [UInt8] {
    mutating func appendLE(_ value: UInt32) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    mutating func appendLE(_ value: UInt64) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
