#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// What a storage records about its elements.
@usableFromInline
struct StorageHeader {
    /// Number of elements.
    let count: Int
    /// Element type.
    let dtype: DType
    /// The elements, 64-byte aligned: inside the tail allocation for small tensors, or a
    /// recycled block from `BufferCache` for large ones.
    var base: UnsafeMutableRawPointer?
    /// Bytes of the recycled block (0 when the elements live in the tail).
    var cachedBytes: Int
}

/// The contiguous, 64-byte aligned buffer behind one or more tensors.
///
/// A small tensor's object and elements are one allocation (a tail-allocated
/// `ManagedBuffer`): they are created at the rate of Nielsen's mini-batches, so one `malloc`
/// per tensor instead of two matters. A large tensor's elements come from `BufferCache`,
/// which recycles blocks of the same size from step to step instead of returning them to
/// the system, so the kernel need not map and zero fresh pages every training step.
///
/// Tensors share a storage when one is a reshape of another or a copy of the same value; a
/// mutation through `Tensor` copies the storage first unless it is uniquely referenced
/// (copy-on-write), so tensors keep value semantics.
@usableFromInline
final class TensorStorage: ManagedBuffer<StorageHeader, UInt8> {
    /// Uninitialized storage for `count` elements of `dtype`.
    static func make(count: Int, dtype: DType) -> TensorStorage {
        let bytes = count * dtype.byteCount
        let large = bytes >= BufferCache.minimumBytes
        let buffer = TensorStorage.create(minimumCapacity: large ? 0 : bytes + 64) { _ in
            StorageHeader(count: count, dtype: dtype, base: nil, cachedBytes: 0)
        }
        let storage = unsafeDowncast(buffer, to: TensorStorage.self)
        if large {
            let (block, size) = BufferCache.take(bytes)
            storage.withUnsafeMutablePointerToHeader { h in
                h.pointee.base = block
                h.pointee.cachedBytes = size
            }
        } else {
            let aligned = storage.withUnsafeMutablePointerToElements { p in
                UnsafeMutableRawPointer(bitPattern: (UInt(bitPattern: p) + 63) & ~63)
            }
            storage.withUnsafeMutablePointerToHeader { $0.pointee.base = aligned }
        }
        return storage
    }

    deinit {
        let (block, size) = withUnsafeMutablePointerToHeader { ($0.pointee.base, $0.pointee.cachedBytes) }
        if size > 0 { BufferCache.give(block!, size) }
    }

    /// Storage filled with zeros.
    static func zeros(count: Int, dtype: DType) -> TensorStorage {
        let s = make(count: count, dtype: dtype)
        memset(s.base, 0, count * dtype.byteCount)
        return s
    }

    // The header is read through its pointer: `header` itself is a class property with
    // dynamic exclusivity checks, which showed up as ~6 % of a small op's cost.

    /// Number of elements.
    var count: Int { @inline(__always) get { withUnsafeMutablePointerToHeader { $0.pointee.count } } }
    /// Element type.
    var dtype: DType { @inline(__always) get { withUnsafeMutablePointerToHeader { $0.pointee.dtype } } }

    /// Start of the elements. Stable for the object's lifetime.
    var base: UnsafeMutableRawPointer {
        @inline(__always) get { withUnsafeMutablePointerToHeader { $0.pointee.base.unsafelyUnwrapped } }
    }

    /// The buffer as typed elements; `T` must match `dtype`.
    @inline(__always)
    @usableFromInline
    func pointer<T: TensorScalar>(as _: T.Type) -> UnsafeMutablePointer<T> {
        assert(T.dtype == dtype, "storage is \(dtype), read as \(T.dtype)")
        return base.assumingMemoryBound(to: T.self)
    }

    /// A new storage holding the same values.
    @usableFromInline
    func copy() -> TensorStorage {
        let s = TensorStorage.make(count: count, dtype: dtype)
        memcpy(s.base, base, count * dtype.byteCount)
        return s
    }
}

/// Recycles large element buffers. Training allocates the same sizes every step (the same
/// layers on the same batch shape); keeping freed blocks for reuse avoids a round trip
/// through `mmap`/`munmap` and the kernel zeroing fresh pages, which measured ~20 % of a
/// conv-net step. Blocks are kept by exact size (rounded to 4 KiB), up to `limitBytes` in all.
public enum BufferCache {
    /// Buffers below this size are tail-allocated with their tensor instead.
    static let minimumBytes = 32 << 10
    private struct State {
        // Block addresses by size, in a short list of sizes (a training loop uses a handful)
        // searched linearly: popping from and appending to an array inside a dictionary
        // value allocated on every take and give.
        var free: [(size: Int, blocks: [UInt])] = []
        var bytes = 0
        var limit = 128 << 20
    }
    private static let state = Mutex(State())

    /// The most bytes of unused blocks kept for reuse (default 128 MiB; 0 turns recycling off).
    public static var limitBytes: Int {
        get { state.withLock { $0.limit } }
        set {
            let dropped: [UInt] = state.withLock { s in
                s.limit = max(0, newValue)
                guard s.bytes > s.limit else { return [] }
                let all = s.free.flatMap(\.blocks)
                s.free = []
                s.bytes = 0
                return all
            }
            for p in dropped { free(UnsafeMutableRawPointer(bitPattern: p)) }
        }
    }

    /// Bytes currently held for reuse.
    public static var cachedBytes: Int { state.withLock { $0.bytes } }

    /// A 64-byte aligned block of at least `bytes`, and its actual size.
    static func take(_ bytes: Int) -> (UnsafeMutableRawPointer, Int) {
        let size = (bytes + 4095) & ~4095
        let reused: UInt = state.withLock { s in
            guard let i = s.free.firstIndex(where: { $0.size == size }),
                  let p = s.free[i].blocks.popLast() else { return 0 }
            s.bytes -= size
            return p
        }
        if let p = UnsafeMutableRawPointer(bitPattern: reused) { return (p, size) }
        guard let p = aligned_alloc(64, size) else {
            fatalError("Nabla: out of memory allocating a tensor of \(bytes) bytes")
        }
        return (p, size)
    }

    /// Returns a block for reuse, or to the system when the cache is full.
    static func give(_ block: UnsafeMutableRawPointer, _ size: Int) {
        let address = UInt(bitPattern: block)
        let kept = state.withLock { s in
            guard s.bytes + size <= s.limit else { return false }
            if let i = s.free.firstIndex(where: { $0.size == size }) {
                s.free[i].blocks.append(address)
            } else {
                // Sizes whose blocks are all in use keep their (empty) entry, so that the
                // next give of that size appends without allocating; a program that used
                // many sizes once drops those entries here rather than growing the list.
                if s.free.count >= 64 { s.free.removeAll { $0.blocks.isEmpty } }
                s.free.append((size, [address]))
            }
            s.bytes += size
            return true
        }
        if !kept { free(block) }
    }
}
