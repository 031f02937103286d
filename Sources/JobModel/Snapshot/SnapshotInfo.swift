public import Foundation

/// What a snapshot's header says about it.
public struct SnapshotInfo: Sendable, Hashable, Codable {
    /// Format version of the file (``SnapshotFormat/currentVersion`` for new files).
    public var formatVersion: UInt32
    /// Version of the program that wrote it.
    public var managerVersion: String
    /// Instance name of the manager that wrote it.
    public var instance: String
    /// When it was written.
    public var createdAt: Date
    /// Number of jobs it holds.
    public var recordCount: Int
    /// Number of record batches.
    public var batchCount: Int

    public init(
        formatVersion: UInt32 = SnapshotFormat.currentVersion,
        managerVersion: String,
        instance: String,
        createdAt: Date,
        recordCount: Int = 0,
        batchCount: Int = 0
    ) {
        self.formatVersion = formatVersion
        self.managerVersion = managerVersion
        self.instance = instance
        self.createdAt = Timestamp.quantized(createdAt)
        self.recordCount = recordCount
        self.batchCount = batchCount
    }
}

/// Constants of the `.jrsnap` file layout.
public enum SnapshotFormat {
    /// The format version this code writes.
    public static let currentVersion: UInt32 = 1
    /// Every format version this code reads.
    public static let readableVersions: ClosedRange<UInt32> = 1...1
    /// The first 8 bytes of every snapshot.
    public static let magic: [UInt8] = [0x89, 0x4A, 0x52, 0x53, 0x4E, 0x41, 0x50, 0x0A]  // \x89 J R S N A P \n
    /// Bytes before the header message: magic, version, header length, record count, batch count.
    static let fixedHeaderSize = 8 + 4 + 4 + 8 + 8
    /// Bytes before each batch's frame: compressed length, uncompressed length, record count.
    static let batchHeaderSize = 12
    /// Most jobs in one batch.
    public static let maxBatchRecords = 65_536
    /// Largest header message or batch accepted on read (guards allocations against damage).
    static let maxHeaderBytes = 1 << 20
    static let maxBatchBytes = 1 << 30
    /// zstd level used for batches.
    static let compressionLevel: Int32 = 1
}
