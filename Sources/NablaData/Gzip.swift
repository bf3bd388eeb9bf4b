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
///
/// The output is inflated straight into the array returned (no final copy), so decompressing
/// MNIST's 47 MB training images needs 47 MB, not twice that.
/// - Throws: `DataError` naming `path` for corrupt or truncated gzip data, or whatever
///   `limit` throws.
func gunzip(_ input: [UInt8], path: String,
            limit: (UnsafeBufferPointer<UInt8>) throws -> Int) throws -> (bytes: [UInt8], stoppedAtLimit: Bool) {
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

    // `output.count` is the capacity in use; `produced` how much of it holds real data.
    // Growing copies into a new array filled with memcpy/memset: appending element by
    // element is far too slow in debug builds for MNIST's 47 MB.
    var output = [UInt8]()
    var produced = 0
    var stoppedAtLimit = false
    func grow(to size: Int) {
        let old = output
        output = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            adviseHugePages(buffer)    // before the memset below touches the pages
            if !old.isEmpty { old.withUnsafeBufferPointer { _ = memcpy(buffer.baseAddress!, $0.baseAddress!, old.count) } }
            memset(buffer.baseAddress! + old.count, 0, size - old.count)
            initialized = size
        }
    }
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
            let want = try output.withUnsafeBufferPointer { try limit(UnsafeBufferPointer(rebasing: $0[0 ..< produced])) }
            if produced >= want { stoppedAtLimit = true; return }
            if output.count < want { grow(to: min(want, max(output.count * 2, hint))) }
            let room = min(want - produced, output.count - produced, Int(Int32.max))
            status = output.withUnsafeMutableBufferPointer { buffer in
                stream.next_out = buffer.baseAddress! + produced
                stream.avail_out = UInt32(room)
                return inflate(&stream, Z_NO_FLUSH)
            }
            stream.next_out = nil           // it pointed into `output`, which may move
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
    if output.count > produced { output.removeSubrange(produced...) }     // in place: keeps the buffer
    return (output, stoppedAtLimit)
}

/// Asks Linux to back a large buffer with 2 MiB pages where it is aligned for them (a
/// hint; nothing happens elsewhere, for small buffers, or if the kernel declines).
///
/// A decompressed dataset is read a few rows at a time in random order: each row of a
/// shuffled MNIST batch lands on its own 4 KiB page, and the page walks for ten such rows
/// cost more than converting them. With transparent huge pages in `madvise` mode (this
/// project's machine since 2026-12-03) only advised memory gets large pages. C harness,
/// 60,000 × 784 bytes, batches of ten in random order with a prefetch one batch ahead:
/// prefetch + gather 1.04–1.24 µs a batch with the advice against 1.44–3.35 µs without
/// (three alternating runs each); in Nielsen's training loop (phase harness, three
/// alternating runs on a quiet machine) the batch phase went 1.18–1.30 → 1.07–1.16 µs.
/// NumPy gives its large arrays the same advice.
/// Must run before the pages are first touched, since it only affects new faults.
func adviseHugePages(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
    #if os(Linux)
    let huge = 1 << 21
    guard buffer.count >= 2 * huge, let base = buffer.baseAddress else { return }
    let start = (UInt(bitPattern: base) + UInt(huge - 1)) & ~UInt(huge - 1)
    let end = (UInt(bitPattern: base) + UInt(buffer.count)) & ~UInt(huge - 1)
    guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
    _ = madvise(p, Int(end - start), MADV_HUGEPAGE)
    #endif
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
