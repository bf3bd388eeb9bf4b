// Ops that change the shape or the order of elements. Reshapes share the buffer; the others
// copy into a new contiguous buffer.

extension Tensor {
    /// The same elements in a new shape with the same count. One dimension may be -1: it is
    /// inferred. Shares the buffer (no copy).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        let inferred = newShape.indices.filter { newShape[$0] == -1 }
        if inferred.count > 1 { opFailure("reshape", "only one dimension can be -1, got \(describe(newShape))") }
        if let i = inferred.first {
            let known = newShape.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
            guard known > 0, count % known == 0 else {
                opFailure("reshape", "cannot reshape \(describe(shape)) (\(count) elements) to \(describe(newShape))")
            }
            resolved[i] = count / known
        }
        Tensor.validate(shape: resolved, op: "reshape")
        guard resolved.elementCount == count else {
            opFailure("reshape", "cannot reshape \(describe(shape)) (\(count) elements) to \(describe(newShape)) (\(resolved.elementCount) elements)")
        }
        if resolved == shape { return self }
        return Tensor(storage: storage, shape: resolved).recorded("reshape", self) { g, c in
            [g.reshaped(c.input(0).shape)]
        }
    }

    /// Reshape with the shape written inline: `x.reshaped(2, -1)`.
    public func reshaped(_ dims: Int...) -> Tensor { reshaped(dims) }

    /// Dimensions `startAxis` through `endAxis` merged into one (all of them by default).
    public func flattened(from startAxis: Int = 0, through endAxis: Int = -1) -> Tensor {
        if rank == 0 { return reshaped([1]) }
        let s = normalizedAxis(startAxis, op: "flatten"), e = normalizedAxis(endAxis, op: "flatten")
        guard s <= e else { opFailure("flatten", "start axis \(startAxis) is after end axis \(endAxis) for shape \(describe(shape))") }
        let merged = shape[s...e].reduce(1, *)
        return reshaped(Array(shape[..<s]) + [merged] + Array(shape[(e + 1)...]))
    }

    /// Removes dimensions of size 1: the given axes, or all of them.
    public func squeezed(axes: [Int]? = nil) -> Tensor {
        if let axes {
            let ax = Set(axes.map { normalizedAxis($0, op: "squeeze") })
            for a in ax where shape[a] != 1 {
                opFailure("squeeze", "axis \(a) of shape \(describe(shape)) has size \(shape[a]), not 1")
            }
            return reshaped(shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element))
        }
        return reshaped(shape.filter { $0 != 1 })
    }

    /// A new dimension of size 1 inserted at `axis` (−1 appends).
    public func unsqueezed(axis: Int) -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        guard a >= 0 && a <= rank else {
            opFailure("unsqueeze", "axis \(axis) is out of range for a tensor of rank \(rank) (valid: \(-rank - 1)…\(rank))")
        }
        var s = shape
        s.insert(1, at: a)
        return reshaped(s)
    }

    /// The axis with negative values counted from the end, or a stop naming the op.
    func normalizedAxis(_ axis: Int, op: String) -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0 && a < Swift.max(rank, 1) else {
            let valid = rank == 0 ? "0" : "\(-rank)…\(rank - 1)"
            opFailure(op, "axis \(axis) is out of range for a tensor of rank \(rank) (shape \(describe(shape)); valid axes: \(valid))")
        }
        return a
    }

    /// The values repeated along broadcast dimensions to fill `newShape` (NumPy rules).
    /// The gradient sums back over the repeated dimensions.
    public func broadcast(to newShape: [Int]) -> Tensor {
        if newShape == shape { return self }
        let target = Tensor.broadcastShape(shape, newShape, op: "broadcast(to:)")
        guard target == newShape else {
            opFailure("broadcast(to:)", "shape \(describe(shape)) cannot be broadcast to \(describe(newShape))")
        }
        let out = TensorStorage.make(count: newShape.elementCount, dtype: dtype)
        if count == 1 {
            switch dtype {
            case .float32: out.pointer(as: Float.self).initialize(repeating: storage.pointer(as: Float.self)[0], count: out.count)
            case .float64: out.pointer(as: Double.self).initialize(repeating: storage.pointer(as: Double.self)[0], count: out.count)
            }
        } else {
            switch dtype {
            case .float32: Tensor.zipLoop(FirstKernel.self, self, self, newShape, out.pointer(as: Float.self))
            case .float64: Tensor.zipLoop(FirstKernel.self, self, self, newShape, out.pointer(as: Double.self))
            }
        }
        return Tensor(storage: out, shape: newShape).recorded("broadcast", self) { g, c in [g.sumToShape(c.input(0).shape)] }
    }

    /// Sums over the dimensions that broadcasting to this tensor's shape would have added or
    /// repeated, giving a tensor of `target` shape: the adjoint of `broadcast(to:)`. This is
    /// the one place where a broadcast gradient is brought back to its input's shape.
    public func sumToShape(_ target: [Int]) -> Tensor {
        if target == shape { return self }
        guard target.count <= rank else {
            opFailure("sumToShape", "cannot sum \(describe(shape)) down to the larger rank of \(describe(target))")
        }
        let lead = rank - target.count
        var axes = Array(0..<lead)
        for (i, d) in target.enumerated() {
            let s = shape[lead + i]
            if d == s { continue }
            guard d == 1 else {
                opFailure("sumToShape", "\(describe(shape)) is not a broadcast of \(describe(target)): dimension \(lead + i) is \(s), target has \(d)")
            }
            axes.append(lead + i)
        }
        let total = Tensor(storage: reducedStorage(axes, SumReduce.self, op: "sumToShape"), shape: target)
        return total.recorded("sumToShape", self) { g, c in [g.broadcast(to: c.input(0).shape)] }
    }

    /// The dimensions reordered: result dimension i is input dimension `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        guard order.count == rank, Set(order.map { normalizedAxis($0, op: "permute") }).count == rank else {
            opFailure("permute", "\(describe(order)) is not a permutation of the \(rank) axes of \(describe(shape))")
        }
        let perm = order.map { normalizedAxis($0, op: "permute") }
        if perm == Array(0..<rank) { return self }
        let outShape = perm.map { shape[$0] }
        let out = TensorStorage.make(count: count, dtype: dtype)
        switch dtype {
        case .float32: permuteCopy(storage.pointer(as: Float.self), out.pointer(as: Float.self), perm, outShape)
        case .float64: permuteCopy(storage.pointer(as: Double.self), out.pointer(as: Double.self), perm, outShape)
        }
        let result = Tensor(storage: out, shape: outShape)
        guard Tensor.recording(self) else { return result }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, p) in perm.enumerated() { inverse[p] = i }
        return result.recorded("permute", self) { g, _ in [g.permuted(inverse)] }
    }

    /// Permutation with the order written inline: `x.permuted(0, 2, 1)`.
    public func permuted(_ order: Int...) -> Tensor { permuted(order) }

    private func permuteCopy<T: TensorScalar>(_ src: UnsafeMutablePointer<T>, _ dst: UnsafeMutablePointer<T>,
                                              _ perm: [Int], _ outShape: [Int]) {
        var inStrides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { inStrides[d] = inStrides[d + 1] * shape[d + 1] }
        let strides = perm.map { inStrides[$0] }
        let inner = outShape.last ?? 1, innerStride = strides.last ?? 1
        let rows = inner == 0 ? 0 : count / inner
        var index = [Int](repeating: 0, count: Swift.max(rank - 1, 0))
        var o = 0
        for _ in 0..<rows {
            var base = 0
            for d in 0..<index.count { base += index[d] * strides[d] }
            for j in 0..<inner { dst[o + j] = src[base + j * innerStride] }
            o += inner
            var d = index.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < outShape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }

    /// The last two dimensions swapped (a matrix transpose; a 1-D tensor is returned as is).
    public func transposed() -> Tensor {
        if rank < 2 { return self }
        var order = Array(0..<rank)
        order.swapAt(rank - 1, rank - 2)
        return permuted(order)
    }

    /// Two dimensions swapped.
    public func transposed(_ axis0: Int, _ axis1: Int) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(normalizedAxis(axis0, op: "transpose"), normalizedAxis(axis1, op: "transpose"))
        return permuted(order)
    }
}
