/// An n-dimensional array of `float32` or `float64` values that can take part in
/// reverse-mode automatic differentiation.
///
/// `Tensor` is a value type: copies share their buffer until one of them is mutated.
/// A tensor that requires gradients carries a reference to its node in the graph of
/// operations that produced it; copies share that node, so `copy.grad` and `original.grad`
/// are the same gradient.
///
/// ```swift
/// let w = Tensor.randomNormal([3, 2], seed: 1).requiringGrad()
/// let x = Tensor([[1, 2, 3]])
/// let loss = (x.matmul(w)).sigmoid().sum()
/// loss.backward()
/// print(w.grad!)          // ∂loss/∂w, shape [3, 2]
/// ```
public struct Tensor: @unchecked Sendable {
    @usableFromInline var storage: TensorStorage
    /// The size of each dimension, outermost first (row-major). `[]` for a scalar.
    public private(set) var shape: [Int]
    /// The graph node when this tensor requires gradients, else nil.
    var node: Node?

    init(storage: TensorStorage, shape: [Int], node: Node? = nil) {
        self.storage = storage
        self.shape = shape
        self.node = node
    }

    /// The element type.
    public var dtype: DType { storage.dtype }
    /// Number of elements (the product of `shape`; 1 for a scalar).
    public var count: Int { storage.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// Whether this tensor records the operations applied to it so that gradients can flow
    /// back to it. Setting it to true on a tensor makes it a leaf of a new graph; setting it
    /// to false detaches it.
    public var requiresGrad: Bool {
        get { node != nil }
        set {
            if newValue {
                if node == nil { node = Node(leafShape: shape, dtype: dtype) }
            } else {
                node = nil
            }
        }
    }

    /// A copy of this tensor that is a leaf requiring gradients (itself, if it already is one).
    public func requiringGrad() -> Tensor {
        if let n = node, n.isLeaf { return self }
        return Tensor(storage: storage, shape: shape, node: Node(leafShape: shape, dtype: dtype))
    }

    /// The same values, cut off from the graph: gradients do not flow through the result.
    public func detached() -> Tensor { Tensor(storage: storage, shape: shape) }

    /// True for a tensor created by the user (not by an op) that requires gradients.
    public var isLeaf: Bool { node?.isLeaf ?? true }

    /// The gradient accumulated in this leaf by `backward()` calls, or nil if none has run
    /// since the last `zeroGrad()`. Gradients add up across calls: zero them between steps.
    ///
    /// A gradient that is a matrix product (a weight's, gᵀ·x) is kept as its two factors
    /// after `backward()` and formed on the first read, so reading it may run that product
    /// once; plain SGD (`descendGradient(rate:)`) uses the factors without forming it.
    /// Reading one leaf's gradient from two threads at once is not safe.
    public var grad: Tensor? {
        get { node?.grad }
        nonmutating set {
            guard let node else {
                fatalError("grad: this tensor does not require gradients; call requiringGrad() first")
            }
            node.grad = newValue
        }
    }

    /// Forgets the accumulated gradient (sets `grad` to nil).
    public func zeroGrad() { node?.grad = nil }

    /// The name of the op that produced this tensor ("leaf" for leaves, nil without a graph).
    public var gradientOp: String? { node?.op }

    // MARK: raw access
    // Inlinable (the storage usable from inline), so that code in other modules (optimizers,
    // losses, data loading) gets these specialized for its element type: called generically
    // across the module boundary, they made SGD's step on Nielsen's four parameters 0.2 µs
    // longer (0.82–0.90 against 0.67–0.72 µs a step on a 16-30-10 network, alternating).

    /// Calls `body` with the elements as a typed buffer; `T` must match `dtype`.
    @inlinable
    public func withUnsafeBufferPointer<T: TensorScalar, R>(
        as _: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R
    ) rethrows -> R {
        precondition(T.dtype == dtype, "withUnsafeBufferPointer: tensor is \(dtype), asked for \(T.dtype)")
        return try body(UnsafeBufferPointer(start: storage.pointer(as: T.self), count: count))
    }

    /// Calls `body` with the elements as a mutable typed buffer, copying the storage first if
    /// another tensor shares it. Records nothing in the graph: use it for data, not for math
    /// that needs gradients.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<T: TensorScalar, R>(
        as _: T.Type, _ body: (UnsafeMutableBufferPointer<T>) throws -> R
    ) rethrows -> R {
        precondition(T.dtype == dtype, "withUnsafeMutableBufferPointer: tensor is \(dtype), asked for \(T.dtype)")
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return try body(UnsafeMutableBufferPointer(start: storage.pointer(as: T.self), count: count))
    }

    /// Replaces the values with those of `other` (same shape and dtype), keeping this
    /// tensor's graph node, so a parameter keeps its identity and its gradient.
    /// Records nothing: optimizers use it inside `withoutGradients`.
    public mutating func assign(_ other: Tensor) {
        guard other.shape == shape, other.dtype == dtype else {
            fatalError("assign: cannot assign \(other.dtype) \(other.shape) to \(dtype) \(shape): shapes and dtypes must match")
        }
        storage = other.storage
    }

    /// True when both tensors share one buffer (a cheap identity check for tests and caches).
    public func sharesStorage(with other: Tensor) -> Bool { storage === other.storage }
}

/// Stops the program with a message naming the op and the rule it broke. Used for bad
/// arguments and shapes, which are programming errors (as in PyTorch, where they raise).

func opFailure(_ op: String, _ message: String) -> Never {
    fatalError("\(op): \(message)")
}

extension Array where Element == Int {
    /// The number of elements a tensor of this shape holds.
    var elementCount: Int { reduce(1, *) }
}

/// Formats a shape as `[2, 3]`.
func describe(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}
