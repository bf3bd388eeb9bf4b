#if canImport(Glibc)
import Glibc
#endif

/// What a storage records about its elements.
struct StorageHeader {
    /// Number of elements.
    let count: Int
    /// Element type.
    let dtype: DType
    /// Bytes from the start of the tail allocation to the first element (for 64-byte alignment).
    var offset: Int
}

/// The contiguous, 64-byte aligned buffer behind one or more tensors.
///
/// The object and its elements are one allocation (a tail-allocated `ManagedBuffer`): small
/// tensors are created at the rate of the Nielsen mini-batches, so one `malloc` per tensor
/// instead of two matters. Tensors share a storage when one is a reshape of another or a copy
/// of the same value; a mutation through `Tensor` copies the storage first unless it is
/// uniquely referenced (copy-on-write), so tensors keep value semantics.
final class TensorStorage: ManagedBuffer<StorageHeader, UInt8>, @unchecked Sendable {
    /// Uninitialized storage for `count` elements of `dtype`.
    static func make(count: Int, dtype: DType) -> TensorStorage {
        let bytes = count * dtype.byteCount + 64
        let buffer = TensorStorage.create(minimumCapacity: bytes) { _ in
            StorageHeader(count: count, dtype: dtype, offset: 0)
        }
        let storage = unsafeDowncast(buffer, to: TensorStorage.self)
        let start = storage.withUnsafeMutablePointerToElements { UInt(bitPattern: $0) }
        storage.header.offset = Int(((start + 63) & ~63) - start)
        return storage
    }

    /// Storage filled with zeros.
    static func zeros(count: Int, dtype: DType) -> TensorStorage {
        let s = make(count: count, dtype: dtype)
        memset(s.base, 0, count * dtype.byteCount)
        return s
    }

    /// Number of elements.
    var count: Int { header.count }
    /// Element type.
    var dtype: DType { header.dtype }

    /// Start of the elements. Stable for the object's lifetime (tail storage never moves).
    var base: UnsafeMutableRawPointer {
        @inline(__always) get {
            withUnsafeMutablePointerToElements { UnsafeMutableRawPointer($0) + header.offset }
        }
    }

    /// The buffer as typed elements; `T` must match `dtype`.
    @inline(__always)
    func pointer<T: TensorScalar>(as _: T.Type) -> UnsafeMutablePointer<T> {
        assert(T.dtype == dtype, "storage is \(dtype), read as \(T.dtype)")
        return base.assumingMemoryBound(to: T.self)
    }

    /// A new storage holding the same values.
    func copy() -> TensorStorage {
        let s = TensorStorage.make(count: count, dtype: dtype)
        memcpy(s.base, base, count * dtype.byteCount)
        return s
    }
}
