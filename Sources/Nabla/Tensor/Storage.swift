#if canImport(Glibc)
import Glibc
#endif

/// The contiguous, 64-byte aligned buffer behind one or more tensors.
///
/// Tensors share a storage when one is a reshape of another or a copy of the same value;
/// a mutation through `Tensor` copies the storage first unless it is uniquely referenced
/// (copy-on-write), so tensors keep value semantics.

final class TensorStorage: @unchecked Sendable {
    /// Number of elements.
    let count: Int
    /// Element type.
    let dtype: DType
    /// Start of the buffer (at least one byte is always allocated).
    let base: UnsafeMutableRawPointer

    /// Uninitialized storage for `count` elements of `dtype`.
    init(count: Int, dtype: DType) {
        self.count = count
        self.dtype = dtype
        let bytes = max(count * dtype.byteCount, 1)
        let rounded = (bytes + 63) & ~63
        guard let p = aligned_alloc(64, rounded) else {
            fatalError("Nabla: out of memory allocating \(count) \(dtype) elements (\(bytes) bytes)")
        }
        base = p
    }

    /// Storage filled with zeros.
    static func zeros(count: Int, dtype: DType) -> TensorStorage {
        let s = TensorStorage(count: count, dtype: dtype)
        memset(s.base, 0, count * dtype.byteCount)
        return s
    }

    deinit { free(base) }

    /// The buffer as typed elements; `T` must match `dtype`.
    @inline(__always)
    func pointer<T: TensorScalar>(as _: T.Type) -> UnsafeMutablePointer<T> {
        assert(T.dtype == dtype, "storage is \(dtype), read as \(T.dtype)")
        return base.assumingMemoryBound(to: T.self)
    }

    /// A new storage holding the same bytes.
    func copy() -> TensorStorage {
        let s = TensorStorage(count: count, dtype: dtype)
        memcpy(s.base, base, count * dtype.byteCount)
        return s
    }
}
