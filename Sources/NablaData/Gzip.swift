import CZlib
import Foundation

// gzip through the system zlib. Decompression is streaming and bounded: the caller says,
// from the bytes produced so far, how many it wants at most, so a file whose header claims
// an absurd size never makes us allocate more than the compressed data could hold.

/// Whether `bytes` starts with the gzip magic number 1f 8b.
func isGzip(_ bytes: [UInt8]) -> Bool {
    bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
}

/// Decompresses the gzip data `input` (one or more concatenated members).
///
/// Before every step `limit` is called with the bytes produced so far and returns the most
/// it wants; decompression stops once that many are produced. Returns the bytes and whether
/// it stopped at the limit (then more data may follow, unread).
/// - Throws: `DataError` naming `path` for corrupt or truncated gzip data, or whatever
///   `limit` throws.
func gunzip(_ input: [UInt8], path: String,
            limit: (UnsafeBufferPointer<UInt8>) throws -> Int) throws -> (bytes: [UInt8], stoppedAtLimit: Bool) {
    try gunzip(input, path: path, limit: limit) { bytes, stopped in (Array(bytes), stopped) }
}

/// Like `gunzip(_:path:limit:)`, but hands the decompressed bytes (valid only during the
/// call) and whether it stopped at the limit to `finish`, saving a copy.
func gunzip<Result>(_ input: [UInt8], path: String,
                    limit: (UnsafeBufferPointer<UInt8>) throws -> Int,
                    finish: (UnsafeBufferPointer<UInt8>, Bool) throws -> Result) throws -> Result {
    var stream = z_stream()
    var status = inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
    guard status == Z_OK else {
        throw DataError(path: path, reason: "cannot start gzip decompression (zlib error \(status))")
    }
    defer { inflateEnd(&stream) }

    // The gzip trailer's ISIZE is the uncompressed length mod 2^32: a good first capacity
    // for honest files. A dishonest one gets at most 64× the compressed size up front;
    // beyond that the buffer only doubles as real output arrives.
    var hint = 1 << 16
    if input.count >= 18 {
        let n = input.count
        let isize = Int(input[n - 4]) | Int(input[n - 3]) << 8 | Int(input[n - 2]) << 16 | Int(input[n - 1]) << 24
        hint = max(hint, min(isize, input.count * 64 + (1 << 16)))
    }

    // A malloc'd buffer grown with realloc: appending to an Array element by element is far
    // too slow in debug builds for MNIST's 47 MB.
    var buffer: UnsafeMutablePointer<UInt8>? = nil
    var capacity = 0
    defer { free(buffer) }
    var produced = 0
    var stoppedAtLimit = false
    try input.withUnsafeBufferPointer { inBuf in
        var consumed = 0            // input bytes handed to zlib so far
        func feed() {
            let chunk = min(inBuf.count - consumed, Int(Int32.max))
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress! + consumed)
            stream.avail_in = UInt32(chunk)
            consumed += chunk
        }
        guard inBuf.count > 0 else {
            throw DataError(path: path, reason: "corrupt gzip: file is empty")
        }
        feed()
        while true {
            let want = try limit(UnsafeBufferPointer(start: buffer, count: produced))
            if produced >= want { stoppedAtLimit = true; return }
            if capacity < want {
                let grown = min(want, max(capacity * 2, hint))
                guard let p = realloc(buffer, grown) else {
                    throw DataError(path: path, reason: "out of memory: cannot hold \(grown) decompressed bytes")
                }
                buffer = p.assumingMemoryBound(to: UInt8.self)
                capacity = grown
            }
            let room = min(want - produced, capacity - produced, Int(Int32.max))
            stream.next_out = buffer! + produced
            stream.avail_out = UInt32(room)
            status = inflate(&stream, Z_NO_FLUSH)
            produced += room - Int(stream.avail_out)
            if stream.avail_in == 0 && consumed < inBuf.count { feed() }
            switch status {
            case Z_OK:
                continue
            case Z_STREAM_END:
                let remaining = Int(stream.avail_in) + (inBuf.count - consumed)
                if remaining == 0 { return }
                // Another gzip member may follow (as `cat a.gz b.gz` makes); anything else is junk.
                let next = inBuf.count - remaining
                if remaining >= 2 && inBuf[next] == 0x1f && inBuf[next + 1] == 0x8b {
                    inflateReset(&stream)
                    continue
                }
                throw DataError(path: path, reason: "corrupt gzip: \(remaining) bytes of junk after the compressed stream")
            case Z_BUF_ERROR where stream.avail_in == 0:
                throw DataError(path: path, reason: "corrupt gzip: compressed data ends early (truncated file?) after \(produced) decompressed bytes")
            case Z_DATA_ERROR:
                let message = stream.msg.map { String(cString: $0) } ?? "invalid compressed data"
                throw DataError(path: path, reason: "corrupt gzip: \(message)")
            case Z_MEM_ERROR:
                throw DataError(path: path, reason: "out of memory while decompressing gzip data")
            default:
                throw DataError(path: path, reason: "corrupt gzip: zlib error \(status)")
            }
        }
    }
    return try finish(UnsafeBufferPointer(start: buffer, count: produced), stoppedAtLimit)
}

/// Compresses `input` into a single gzip member at the given zlib level (0–9, or -1 for
/// zlib's default).
func gzip(_ input: [UInt8], level: Int32 = Z_DEFAULT_COMPRESSION, path: String = "<memory>") throws -> [UInt8] {
    var stream = z_stream()
    var status = deflateInit2_(&stream, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                               zlibVersion(), Int32(MemoryLayout<z_stream>.size))
    guard status == Z_OK else {
        throw DataError(path: path, reason: "cannot start gzip compression (zlib error \(status))")
    }
    defer { deflateEnd(&stream) }
    // deflateBound (which counts the gzip header and trailer) is the most deflate can
    // produce from this input, so one Z_FINISH call into a buffer that size finishes.
    guard input.count <= Int(UInt32.max) else {
        throw DataError(path: path, reason: "cannot gzip \(input.count) bytes in one piece (at most 4 GiB)")
    }
    let bound = Int(deflateBound(&stream, uLong(input.count)))
    guard let buffer = malloc(bound)?.assumingMemoryBound(to: UInt8.self) else {
        throw DataError(path: path, reason: "out of memory: cannot hold \(bound) compressed bytes")
    }
    defer { free(buffer) }
    input.withUnsafeBufferPointer { inBuf in
        stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
        stream.avail_in = UInt32(inBuf.count)
        stream.next_out = buffer
        stream.avail_out = UInt32(bound)
        status = deflate(&stream, Z_FINISH)
    }
    guard status == Z_STREAM_END else {
        throw DataError(path: path, reason: "gzip compression failed (zlib error \(status))")
    }
    let produced = bound - Int(stream.avail_out)
    return [UInt8](unsafeUninitializedCapacity: produced) { dst, initialized in
        memcpy(dst.baseAddress!, buffer, produced)
        initialized = produced
    }
}
