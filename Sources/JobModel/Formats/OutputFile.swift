public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Buffered output to standard output or to a file written atomically: the project's one
/// atomic-file writer (jobstats' outputs, the service's spec, pid, address, version and
/// tokens files).
///
/// A file is written under a temporary name and renamed into place by ``commit()``;
/// without `commit()` the temporary file is removed, so a failure never leaves a
/// partial file behind.
public struct OutputFile: ~Copyable {
    private let fd: Int32
    private let path: String?
    private let temporaryPath: String?
    private var buffer: [UInt8] = []
    private var committed = false

    /// Standard output.
    public static func standardOutput() -> OutputFile { OutputFile(fd: 1) }

    private init(fd: Int32) {
        self.fd = fd
        self.path = nil
        self.temporaryPath = nil
        buffer.reserveCapacity(1 << 16)
    }

    /// Whether ``commit()`` fsyncs the file before the rename.
    private var sync = true

    /// A new file at `atomicPath`, created under a temporary name with `mode`. Without
    /// `sync`, ``commit()`` renames without an fsync: the file is whole or absent after a
    /// crash of the process, not necessarily after a power loss.
    public init(atomicPath: String, mode: mode_t = 0o644, sync: Bool = true) throws(JobFileError) {
        let temporary = atomicPath + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        if fd < 0 {
            throw JobFileError(.io, "cannot create \(temporary): \(String(cString: strerror(errno)))")
        }
        self.fd = fd
        self.path = atomicPath
        self.temporaryPath = temporary
        self.sync = sync
        buffer.reserveCapacity(1 << 16)
    }

    /// Writes `bytes` to `path` atomically (see ``init(atomicPath:mode:sync:)``).
    public static func write(
        _ bytes: some Sequence<UInt8>,
        toAtomicPath path: String,
        mode: mode_t = 0o644,
        sync: Bool = true
    ) throws(JobFileError) {
        var file = try OutputFile(atomicPath: path, mode: mode, sync: sync)
        file.buffer.append(contentsOf: bytes)
        try file.commit()
    }

    deinit {
        if let temporaryPath, !committed {
            close(fd)
            unlink(temporaryPath)
        }
    }

    public mutating func write(_ text: String) throws(JobFileError) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { try flush() }
    }

    public mutating func write(_ data: Data) throws(JobFileError) {
        buffer.append(contentsOf: data)
        if buffer.count >= 1 << 16 { try flush() }
    }

    /// Writes the buffer out.
    public mutating func flush() throws(JobFileError) {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw JobFileError(
                    .io,
                    "cannot write \(temporaryPath ?? "standard output"): \(String(cString: strerror(errno)))"
                )
            }
            done += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes; for a file, fsyncs and renames it into place.
    public mutating func commit() throws(JobFileError) {
        try flush()
        guard let path, let temporaryPath else { return }
        if sync, fsync(fd) != 0 {
            throw JobFileError(.io, "cannot fsync \(temporaryPath): \(String(cString: strerror(errno)))")
        }
        if rename(temporaryPath, path) != 0 {
            throw JobFileError(.io, "cannot rename \(temporaryPath) to \(path): \(String(cString: strerror(errno)))")
        }
        committed = true
        close(fd)
        if sync {
            // The rename itself is durable once the directory is.
            let parent = (path as NSString).deletingLastPathComponent
            let directory = open(parent.isEmpty ? "." : parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if directory >= 0 {
                _ = fsync(directory)
                close(directory)
            }
        }
    }
}
