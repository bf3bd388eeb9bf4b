// Index-based selection. Every op here moves elements without changing them, so its
// backward is the matching "put back" op (gather ↔ scatterAdd, indexSelect ↔ indexAdd), and
// each put-back op is itself differentiable with the original op as its backward.

extension Tensor {
    /// The names these ops record in the graph (`gradientOp`), in the order the gradient
    /// checker example lists them. Stack and split record no node of their own: they are
    /// built from `reshape`, `concat` and `slice`.
    public static let indexingOpNames = [
        "slice", "sliceBackward", "pad", "concat", "gather", "scatterAdd",
        "indexSelect", "indexAdd", "dropout",
    ]

    // MARK: gather / scatterAdd

    /// Reads `indices` (a float tensor holding whole numbers) as positions on an axis of
    /// `size`, stopping with the offending value and its place if one is not an integer or
    /// lies outside `0..<size`.
    static func integerIndices(_ indices: Tensor, size: Int, op: String, axis: Int, shape: [Int]) -> [Int] {
        let values = indices.scalars(as: Double.self)
        var result = [Int](repeating: 0, count: values.count)
        for (p, v) in values.enumerated() {
            guard v.rounded() == v, v >= 0, v < Double(size) else {
                let place = indices.rank > 1 ? " at position \(describe(unflatten(p, indices.shape)))" : " at position \(p)"
                let what = v.rounded() == v ? "\(Int(v))" : "\(v)"
                opFailure(op, "index \(what)\(place) of indices is out of range for axis \(axis) of size \(size) (shape \(describe(shape)); indices must be whole numbers in 0..<\(size))")
            }
            result[p] = Int(v)
        }
        return result
    }

    private static func unflatten(_ flat: Int, _ shape: [Int]) -> [Int] {
        var rem = flat
        var index = [Int](repeating: 0, count: shape.count)
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            index[d] = rem % shape[d]
            rem /= shape[d]
        }
        return index
    }

    /// Walks every position of `indexShape` in row-major order, handing `body` the flat
    /// position and the offset into a tensor of `targetShape` of the same coordinates with
    /// the `axis` coordinate left out (the caller adds `index · stride[axis]`).
    private static func forEachIndexPosition(_ indexShape: [Int], target targetShape: [Int], axis: Int,
                                             _ body: (_ position: Int, _ offset: Int, _ axisStride: Int) -> Void) {
        let n = indexShape.elementCount
        if n == 0 { return }
        var strides = rowMajorStrides(targetShape)
        let axisStride = strides[axis]
        strides[axis] = 0
        var index = [Int](repeating: 0, count: indexShape.count)
        var offset = 0
        for p in 0..<n {
            body(p, offset, axisStride)
            var d = indexShape.count - 1
            while d >= 0 {
                index[d] += 1
                offset += strides[d]
                if index[d] < indexShape[d] { break }
                offset -= strides[d] * indexShape[d]
                index[d] = 0
                d -= 1
            }
        }
    }

    /// `torch.gather`: `out[i][j][k] = self[indices[i][j][k]][j][k]` for `axis` 0 (and so on
    /// for other axes). `indices` has this tensor's rank, holds whole numbers in
    /// `0..<shape[axis]` (as float values) and is no larger than this tensor on the other
    /// axes; the result has the shape of `indices`. Records `gather`; the gradient is added
    /// back with `scatterAdding`. `indices` is a constant: it gets no gradient.
    public func gathered(indices: Tensor, axis: Int) -> Tensor {
        let a = normalizedAxis(axis, op: "gather")
        checkIndexShape(indices.shape, against: shape, axis: a, op: "gather", what: "input")
        let idx = Tensor.integerIndices(indices, size: shape[a], op: "gather", axis: a, shape: shape)
        let out = TensorStorage.make(count: indices.count, dtype: dtype)
        func run<T: TensorScalar>(_: T.Type) {
            let x = storage.pointer(as: T.self), y = out.pointer(as: T.self)
            idx.withUnsafeBufferPointer { ip in
                Tensor.forEachIndexPosition(indices.shape, target: shape, axis: a) { p, off, st in
                    y[p] = x[off + ip[p] * st]
                }
            }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
        let inputShape = shape, constant = indices.detached()
        return Tensor(storage: out, shape: indices.shape).recorded("gather", self) { g, _ in
            [Tensor.zeros(inputShape, dtype: g.dtype).scatterAdding(g, indices: constant, axis: a)]
        }
    }

    /// `torch.scatter_add`: a copy of this tensor with each element of `source` added at the
    /// position `indices` names on `axis` (the other coordinates are the element's own);
    /// repeated indices accumulate. `source` and `indices` have the same shape, no larger
    /// than this tensor except on `axis`. Records `scatterAdd`; the gradient for `self` passes
    /// through, the one for `source` is the gather of the incoming gradient.
    public func scatterAdding(_ source: Tensor, indices: Tensor, axis: Int) -> Tensor {
        let a = normalizedAxis(axis, op: "scatterAdd")
        guard source.shape == indices.shape else {
            opFailure("scatterAdd", "source \(describe(source.shape)) and indices \(describe(indices.shape)) must have the same shape")
        }
        guard source.dtype == dtype else {
            opFailure("scatterAdd", "source is \(source.dtype) but the tensor is \(dtype); convert one with cast(to:)")
        }
        checkIndexShape(indices.shape, against: shape, axis: a, op: "scatterAdd", what: "target")
        let idx = Tensor.integerIndices(indices, size: shape[a], op: "scatterAdd", axis: a, shape: shape)
        let out = storage.copy()
        func run<T: TensorScalar>(_: T.Type) {
            let s = source.storage.pointer(as: T.self), y = out.pointer(as: T.self)
            idx.withUnsafeBufferPointer { ip in
                Tensor.forEachIndexPosition(indices.shape, target: shape, axis: a) { p, off, st in
                    y[off + ip[p] * st] += s[p]
                }
            }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
        let constant = indices.detached()
        return Tensor(storage: out, shape: shape).recorded("scatterAdd", self, source) { g, c in
            [c.needsGradient(0) ? g : nil, c.needsGradient(1) ? g.gathered(indices: constant, axis: a) : nil]
        }
    }

    private func checkIndexShape(_ indexShape: [Int], against target: [Int], axis: Int, op: String, what: String) {
        guard indexShape.count == target.count else {
            opFailure(op, "indices \(describe(indexShape)) must have the rank of the \(what) \(describe(target)) (\(target.count))")
        }
        for d in 0..<target.count where d != axis && indexShape[d] > target[d] {
            opFailure(op, "indices \(describe(indexShape)) are larger than the \(what) \(describe(target)) on axis \(d) (only axis \(axis) may differ)")
        }
    }

    // MARK: indexSelect / indexAdd

    /// `torch.index_select`: the slices at positions `indices` along `axis`, in that order
    /// (repeats allowed); the axis gets `indices.count` entries. Positions must lie in
    /// `0..<shape[axis]`. Records `indexSelect`; the gradient is added back with `indexAdding`.
    public func indexSelect(indices: [Int], axis: Int) -> Tensor {
        let a = normalizedAxis(axis, op: "indexSelect")
        checkPositions(indices, axis: a, op: "indexSelect")
        let outer = shape[..<a].reduce(1, *), size = shape[a], inner = shape[(a + 1)...].reduce(1, *)
        var outShape = shape
        outShape[a] = indices.count
        let k = indices.count
        let out = TensorStorage.make(count: outShape.elementCount, dtype: dtype)
        func run<T: TensorScalar>(_: T.Type) {
            let x = storage.pointer(as: T.self), y = out.pointer(as: T.self)
            for o in 0..<outer {
                for (j, i) in indices.enumerated() {
                    (y + (o * k + j) * inner).update(from: x + (o * size + i) * inner, count: inner)
                }
            }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
        let inputShape = shape
        return Tensor(storage: out, shape: outShape).recorded("indexSelect", self) { g, _ in
            [Tensor.zeros(inputShape, dtype: g.dtype).indexAdding(g, indices: indices, axis: a)]
        }
    }

    /// `indexSelect` with the positions in a 1-D float tensor holding whole numbers.
    public func indexSelect(indices: Tensor, axis: Int) -> Tensor {
        guard indices.rank == 1 else {
            opFailure("indexSelect", "indices must be 1-D, got shape \(describe(indices.shape))")
        }
        let a = normalizedAxis(axis, op: "indexSelect")
        return indexSelect(indices: Tensor.integerIndices(indices, size: shape[a], op: "indexSelect", axis: a, shape: shape),
                           axis: a)
    }

    /// `torch.index_add`: a copy of this tensor with slice `j` of `source` along `axis` added
    /// at position `indices[j]` (repeats accumulate). `source` has this tensor's shape except
    /// `indices.count` entries on `axis`. Records `indexAdd`; the gradient for `source` is
    /// the `indexSelect` of the incoming gradient.
    public func indexAdding(_ source: Tensor, indices: [Int], axis: Int) -> Tensor {
        let a = normalizedAxis(axis, op: "indexAdd")
        var expected = shape
        expected[a] = indices.count
        guard source.shape == expected else {
            opFailure("indexAdd", "source \(describe(source.shape)) must have shape \(describe(expected)): the tensor's \(describe(shape)) with \(indices.count) (the number of indices) on axis \(a)")
        }
        guard source.dtype == dtype else {
            opFailure("indexAdd", "source is \(source.dtype) but the tensor is \(dtype); convert one with cast(to:)")
        }
        checkPositions(indices, axis: a, op: "indexAdd")
        let outer = shape[..<a].reduce(1, *), size = shape[a], inner = shape[(a + 1)...].reduce(1, *)
        let k = indices.count
        let out = storage.copy()
        func run<T: TensorScalar>(_: T.Type) {
            let s = source.storage.pointer(as: T.self), y = out.pointer(as: T.self)
            for o in 0..<outer {
                for (j, i) in indices.enumerated() {
                    let dst = y + (o * size + i) * inner, src = s + (o * k + j) * inner
                    for e in 0..<inner { dst[e] += src[e] }
                }
            }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
        return Tensor(storage: out, shape: shape).recorded("indexAdd", self, source) { g, c in
            [c.needsGradient(0) ? g : nil, c.needsGradient(1) ? g.indexSelect(indices: indices, axis: a) : nil]
        }
    }

    private func checkPositions(_ indices: [Int], axis: Int, op: String) {
        let size = shape[axis]
        if let p = indices.firstIndex(where: { $0 < 0 || $0 >= size }) {
            opFailure(op, "index \(indices[p]) at position \(p) is out of range for axis \(axis) of size \(size) (shape \(describe(shape)); valid 0..<\(size))")
        }
    }

    // MARK: one-hot

    /// Rows of zeros with a one at each label: shape `[labels.count, classes]`. Labels must
    /// lie in `0..<classes`. A constant (no gradient).
    public static func oneHot(_ labels: [Int], classes: Int, dtype: DType = .float32) -> Tensor {
        guard classes > 0 else { opFailure("oneHot", "classes must be > 0, got \(classes)") }
        if let p = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
            opFailure("oneHot", "label \(labels[p]) at position \(p) is out of range for \(classes) classes (valid 0..<\(classes))")
        }
        var t = Tensor.zeros([labels.count, classes], dtype: dtype)
        func run<T: TensorScalar>(_: T.Type) {
            t.withUnsafeMutableBufferPointer(as: T.self) { y in
                for (row, label) in labels.enumerated() { y[row * classes + label] = 1 }
            }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
        return t
    }

    /// One-hot encoding of a tensor of whole-number labels of any shape: the result has
    /// shape `labels.shape + [classes]`. A constant (no gradient).
    public static func oneHot(_ labels: Tensor, classes: Int, dtype: DType = .float32) -> Tensor {
        guard classes > 0 else { opFailure("oneHot", "classes must be > 0, got \(classes)") }
        let values = labels.scalars(as: Double.self)
        if let p = values.firstIndex(where: { !($0.rounded() == $0 && $0 >= 0 && $0 < Double(classes)) }) {
            opFailure("oneHot", "label \(values[p]) at flat position \(p) of labels \(describe(labels.shape)) is not a whole number in 0..<\(classes)")
        }
        return oneHot(values.map { Int($0) }, classes: classes, dtype: dtype).reshaped(labels.shape + [classes])
    }
}
