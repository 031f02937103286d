public import Foundation
import SwiftProtobuf
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Reads snapshot files, batch by batch, decoding several batches at once.
///
/// Every check fails with a ``SnapshotError`` that names the file and the byte offset:
/// a wrong magic, a newer format version, a file that ends early, a damaged frame or
/// column. A file is either read whole or not at all: the loaders never return part
/// of a damaged file as if it were complete.
public struct SnapshotReader: ~Copyable {
    /// The file being read.
    public let path: String
    /// Its header.
    public let info: SnapshotInfo
    private let fd: Int32
    private let fileSize: Int
    private var offset: Int
    private var batchesRead = 0
    private var recordsRead = 0

    /// Opens `path` and reads its header.
    public init(path: String) throws(SnapshotError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code: SnapshotError.Code = errno == ENOENT ? .notFound : .io
            throw SnapshotError(code, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            throw SnapshotError(.io, "cannot stat \(path): \(String(cString: strerror(errno)))")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw SnapshotError(.io, "\(path) is a directory, not a snapshot")
        }
        let fileSize = Int(st.st_size)
        var offset = 0
        let info: SnapshotInfo
        do {
            info = try Self.readHeader(fd: fd, path: path, fileSize: fileSize, offset: &offset)
        } catch {
            close(fd)
            throw error
        }
        self.fd = fd
        self.fileSize = fileSize
        self.offset = offset
        self.info = info
    }

    deinit { close(fd) }

    private static func readExactly(
        fd: Int32,
        count: Int,
        path: String,
        offset: inout Int,
        what: String
    ) throws(SnapshotError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SnapshotError(
                    .io,
                    "cannot read \(path) at byte \(offset + done): \(String(cString: strerror(errno)))"
                )
            }
            if n == 0 {
                throw SnapshotError(
                    .truncated,
                    "\(path) is truncated: it ends at byte \(offset + done) inside \(what) (\(count) bytes from byte \(offset))"
                )
            }
            done += n
        }
        offset += count
        return buffer
    }

    private static func readHeader(
        fd: Int32,
        path: String,
        fileSize: Int,
        offset: inout Int
    ) throws(SnapshotError)
        -> SnapshotInfo
    {
        if fileSize < SnapshotFormat.magic.count {
            if fileSize == 0 { throw SnapshotError(.truncated, "\(path) is empty: it is not a snapshot") }
        }
        let magicBytes = min(fileSize, SnapshotFormat.magic.count)
        let magic = try readExactly(fd: fd, count: magicBytes, path: path, offset: &offset, what: "the magic")
        guard magic == Array(SnapshotFormat.magic.prefix(magicBytes)) else {
            throw SnapshotError(.badMagic, "\(path) is not a jobrunner snapshot (wrong magic bytes at byte 0)")
        }
        if magicBytes < SnapshotFormat.magic.count {
            throw SnapshotError(.truncated, "\(path) is truncated: it ends at byte \(fileSize) inside the header")
        }
        let fixed = try readExactly(
            fd: fd,
            count: SnapshotFormat.fixedHeaderSize - 8,
            path: path,
            offset: &offset,
            what: "the header"
        )
        let version = fixed.readLE32(at: 0)
        guard version >= 1 else {
            throw SnapshotError(.corruptData, "\(path) has format version 0, which does not exist")
        }
        guard SnapshotFormat.readableVersions.contains(version) else {
            throw SnapshotError(
                .unsupportedVersion,
                "\(path) has snapshot format version \(version); this program reads versions up to \(SnapshotFormat.readableVersions.upperBound): upgrade jobstats/jobrunner to read it"
            )
        }
        let headerLength = Int(fixed.readLE32(at: 4))
        let recordCount = fixed.readLE64(at: 8)
        let batchCount = fixed.readLE64(at: 16)
        guard headerLength <= SnapshotFormat.maxHeaderBytes else {
            throw SnapshotError(.corruptData, "\(path): header length \(headerLength) at byte 12 is not plausible")
        }
        guard recordCount <= UInt64(Int32.max), batchCount <= recordCount,
            recordCount <= batchCount * UInt64(SnapshotFormat.maxBatchRecords)
        else {
            throw SnapshotError(
                .corruptData,
                "\(path): record count \(recordCount) and batch count \(batchCount) at byte 16 do not agree"
            )
        }
        let message = try readExactly(fd: fd, count: headerLength, path: path, offset: &offset, what: "the header")
        let header: Jobrunner_Snapshot_V1_SnapshotHeader
        do {
            header = try Jobrunner_Snapshot_V1_SnapshotHeader(serializedBytes: message)
        } catch {
            throw SnapshotError(.corruptData, "\(path): the header at byte 32 is damaged", cause: error)
        }
        return SnapshotInfo(
            formatVersion: version,
            managerVersion: header.managerVersion,
            instance: header.instance,
            createdAt: Timestamp.date(micros: header.createdAtMicros),
            recordCount: Int(recordCount),
            batchCount: Int(batchCount)
        )
    }

    /// One batch's frame as read from the file, not yet decoded.
    struct Frame: Sendable {
        var offset: Int
        var bytes: [UInt8]
        var plainSize: Int
        var records: Int
    }

    /// Reads the next batch's frame, or `nil` after the last batch.
    mutating func nextFrame() throws(SnapshotError) -> Frame? {
        guard batchesRead < info.batchCount else {
            if offset != fileSize {
                throw SnapshotError(
                    .corruptData,
                    "\(path) has \(fileSize - offset) unexpected bytes after its last batch, at byte \(offset)"
                )
            }
            return nil
        }
        let start = offset
        let head = try Self.readExactly(
            fd: fd,
            count: SnapshotFormat.batchHeaderSize,
            path: path,
            offset: &offset,
            what: "batch \(batchesRead + 1)'s header"
        )
        let compressedSize = Int(head.readLE32(at: 0))
        let plainSize = Int(head.readLE32(at: 4))
        let records = Int(head.readLE32(at: 8))
        guard records >= 1, records <= SnapshotFormat.maxBatchRecords, recordsRead + records <= info.recordCount,
            plainSize <= SnapshotFormat.maxBatchBytes, compressedSize > 0
        else {
            throw SnapshotError(.corruptData, "\(path): batch \(batchesRead + 1) at byte \(start) has a damaged header")
        }
        if compressedSize > fileSize - offset {
            throw SnapshotError(
                .truncated,
                "\(path) is truncated: batch \(batchesRead + 1) at byte \(start) needs \(compressedSize) bytes, the file has \(fileSize - offset) left"
            )
        }
        let bytes = try Self.readExactly(
            fd: fd,
            count: compressedSize,
            path: path,
            offset: &offset,
            what: "batch \(batchesRead + 1)"
        )
        batchesRead += 1
        recordsRead += records
        if batchesRead == info.batchCount, recordsRead != info.recordCount {
            throw SnapshotError(
                .corruptData,
                "\(path): batches hold \(recordsRead) jobs, the header says \(info.recordCount)"
            )
        }
        return Frame(offset: start, bytes: bytes, plainSize: plainSize, records: records)
    }

    /// Decompresses and parses one frame.
    static func parse(_ frame: Frame, path: String) throws(SnapshotError) -> BatchCodec.Batch {
        let decompressor = ZstdDecompressor()
        let plain: [UInt8]
        switch decompressor.decompress(frame.bytes[...], size: frame.plainSize) {
        case .success(let bytes): plain = bytes
        case .failure(let failure):
            throw SnapshotError(.corruptData, "\(path): batch at byte \(frame.offset) is damaged (\(failure.message))")
        }
        let batch: BatchCodec.Batch
        do {
            batch = try BatchCodec.Batch(serializedBytes: plain)
        } catch {
            throw SnapshotError(.corruptData, "\(path): batch at byte \(frame.offset) does not decode", cause: error)
        }
        guard Int(batch.count) == frame.records else {
            throw SnapshotError(
                .corruptData,
                "\(path): batch at byte \(frame.offset) holds \(batch.count) jobs, its header says \(frame.records)"
            )
        }
        return batch
    }

    /// Decodes one parsed batch into a table of its own.
    static func decode(_ batch: BatchCodec.Batch, offset: Int, path: String) throws(SnapshotError) -> JobTable {
        do throws(BatchCodec.BatchDecodingError) {
            return try BatchCodec.decode(batch)
        } catch {
            throw SnapshotError(.corruptData, "\(path): batch at byte \(offset) is damaged: \(error.message)")
        }
    }

    /// Batches being decompressed and parsed in the background.
    private final class ParsingGroup: Sendable {
        let offsets: [Int]
        let results: Mutex<[Result<BatchCodec.Batch, SnapshotError>?]>
        let group = DispatchGroup()

        init(frames: [Frame], path: String) {
            offsets = frames.map(\.offset)
            results = Mutex(Array(repeating: nil, count: frames.count))
            for (i, frame) in frames.enumerated() {
                DispatchQueue.global().async(group: group) { [self] in
                    let result = Result { () throws(SnapshotError) in try SnapshotReader.parse(frame, path: path) }
                    results.withLock { $0[i] = result }
                }
            }
        }

        func wait() -> [Result<BatchCodec.Batch, SnapshotError>?] {
            group.wait()
            return results.withLock { $0 }
        }
    }

    /// Reads the rest of the file and passes each parsed batch and its offset, in file
    /// order, to `body`.
    ///
    /// Batches are decompressed and parsed `parallelism` at a time on background threads,
    /// and the next group is parsed while `body` consumes the previous one: memory holds
    /// at most two groups.
    private mutating func forEachParsedBatch(
        parallelism: Int,
        _ body: (BatchCodec.Batch, Int) throws(SnapshotError) -> Void
    ) throws(SnapshotError) {
        let width = max(1, parallelism)
        var previous: ParsingGroup?
        var done = false
        while !done || previous != nil {
            var frames: [Frame] = []
            while !done && frames.count < width {
                if let frame = try nextFrame() {
                    frames.append(frame)
                } else {
                    done = true
                }
            }
            let current = frames.isEmpty ? nil : ParsingGroup(frames: frames, path: path)
            if let previous {
                for (result, offset) in zip(previous.wait(), previous.offsets) {
                    try body(result!.get(), offset)
                }
            }
            previous = current
        }
    }

    /// Reads the rest of the file, passing each batch, in order, to `body`.
    ///
    /// Up to `parallelism` batches are decompressed and decoded at once; memory stays
    /// bounded by twice that many batches. `body` sees batches before the whole file has
    /// been checked: a caller that must not act on part of a damaged file should collect
    /// first (as ``load(path:progress:)`` does).
    public mutating func forEachBatch(
        parallelism: Int = ProcessInfo.processInfo.activeProcessorCount,
        _ body: (JobTable) throws -> Void
    ) throws {
        var failure: (any Error)?
        let path = self.path
        try forEachParsedBatch(parallelism: parallelism) { (batch, offset) throws(SnapshotError) in
            guard failure == nil else { return }
            let table = try Self.decode(batch, offset: offset, path: path)
            do { try body(table) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Loads a whole snapshot into one table.
    ///
    /// - Parameters:
    ///   - progress: called after each batch with (jobs read, jobs in the file).
    /// - Throws: ``SnapshotError``; nothing is returned for a damaged file.
    public static func load(
        path: String,
        progress: ((Int, Int) -> Void)? = nil
    ) throws(SnapshotError) -> (info: SnapshotInfo, table: JobTable) {
        var reader = try SnapshotReader(path: path)
        var table = JobTable()
        let total = reader.info.recordCount
        table.reserveCapacity(total)
        try reader.forEachParsedBatch(parallelism: ProcessInfo.processInfo.activeProcessorCount) {
            (batch, offset) throws(SnapshotError) in
            do throws(BatchCodec.BatchDecodingError) {
                try BatchCodec.decode(batch, appendingTo: &table)
            } catch {
                throw SnapshotError(.corruptData, "\(path): batch at byte \(offset) is damaged: \(error.message)")
            }
            progress?(table.count, total)
        }
        return (reader.info, table)
    }

    /// Reads only the header of `path`.
    public static func info(path: String) throws(SnapshotError) -> SnapshotInfo {
        try SnapshotReader(path: path).info
    }
}

extension [UInt8] {
    func readLE32(at index: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(self[index + k]) << (8 * k) }
        return v
    }

    func readLE64(at index: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(self[index + k]) << (8 * k) }
        return v
    }
}
