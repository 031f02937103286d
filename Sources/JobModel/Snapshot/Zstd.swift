import CZstd

/// One-shot zstd compression of a whole buffer into one frame, with content size and checksum.
///
/// Owns its contexts: not copyable, not shared.
struct ZstdCompressor: ~Copyable {
    private let context: OpaquePointer

    init(level: Int32) {
        context = ZSTD_createCCtx()
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
        ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1)
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Compresses `input` into `output` (replacing its contents).
    func compress(_ input: [UInt8], into output: inout [UInt8]) throws(SnapshotError) {
        let bound = ZSTD_compressBound(input.count)
        if output.count < bound { output = [UInt8](repeating: 0, count: bound) }
        let written = input.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                ZSTD_compress2(context, dst.baseAddress, dst.count, src.baseAddress, src.count)
            }
        }
        if ZSTD_isError(written) != 0 {
            throw SnapshotError(.io, "zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
        }
        output.removeLast(output.count - written)
    }
}

/// One-shot zstd decompression of one frame of known size.
struct ZstdDecompressor: ~Copyable {
    private let context: OpaquePointer

    init() { context = ZSTD_createDCtx() }

    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses `frame`, which must hold one frame of exactly `size` bytes.
    /// Returns `nil` with a reason when the frame is damaged.
    func decompress(_ frame: ArraySlice<UInt8>, size: Int) -> Result<[UInt8], ZstdFailure> {
        let contentSize = frame.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        if contentSize == ZSTD_CONTENTSIZE_ERROR || contentSize == ZSTD_CONTENTSIZE_UNKNOWN {
            return .failure(ZstdFailure(message: "not a zstd frame"))
        }
        if contentSize != UInt64(size) {
            return .failure(ZstdFailure(message: "frame holds \(contentSize) bytes, batch header says \(size)"))
        }
        var output = [UInt8](repeating: 0, count: size)
        let result = frame.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                ZSTD_decompressDCtx(context, dst.baseAddress, dst.count, src.baseAddress, src.count)
            }
        }
        if ZSTD_isError(result) != 0 {
            return .failure(ZstdFailure(message: "zstd: \(String(cString: ZSTD_getErrorName(result)))"))
        }
        if result != size {
            return .failure(ZstdFailure(message: "frame decompressed to \(result) bytes, expected \(size)"))
        }
        return .success(output)
    }
}

/// Why a frame did not decompress.
struct ZstdFailure: Error {
    var message: String
}
