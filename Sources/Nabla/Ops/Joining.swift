// Joining tensors and cutting them apart: concat, stack, split, and constant padding.
// Concat's backward is a set of slices; split is built from slices, so the engine sums
// the parts' gradients (each scattered into zeros) into the whole; pad's backward is a slice.

extension Tensor {
    /// The tensors laid end to end along `axis` (negative counts from the end). They must
    /// share rank, dtype and every dimension except `axis`. Records `concat`; the gradient
    /// of each input is its slice of the incoming gradient.
    public static func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
        guard let first = tensors.first else { opFailure("concat", "needs at least one tensor, got none") }
        let a = first.normalizedAxis(axis, op: "concat")
        for (i, t) in tensors.enumerated().dropFirst() {
            guard t.dtype == first.dtype else {
                opFailure("concat", "tensor \(i) is \(t.dtype) but tensor 0 is \(first.dtype); convert with cast(to:)")
            }
            guard t.rank == first.rank,
                  (0..<t.rank).allSatisfy({ $0 == a || t.shape[$0] == first.shape[$0] }) else {
                opFailure("concat", "tensor \(i) has shape \(describe(t.shape)), tensor 0 has \(describe(first.shape)): all dimensions but axis \(a) must match")
            }
        }
        if tensors.count == 1 { return first }
        var outShape = first.shape
        outShape[a] = tensors.reduce(0) { $0 + $1.shape[a] }
        let out = TensorStorage.make(count: outShape.elementCount, dtype: first.dtype)
        let zeros = [Int](repeating: 0, count: first.rank), ones = [Int](repeating: 1, count: first.rank)
        var offsets: [Int] = []
        var offset = 0
        for t in tensors {
            var starts = zeros
            starts[a] = offset
            copyRegion(from: t, starts: zeros, steps: ones, into: out, shape: outShape, starts: starts, steps: ones,
                       region: t.shape)
            offsets.append(offset)
            offset += t.shape[a]
        }
        let sizes = tensors.map { $0.shape[a] }
        return Tensor(storage: out, shape: outShape).recorded("concat", TensorList(tensors)) { g, c in
            TensorList((0..<sizes.count).map { i in
                c.needsGradient(i) ? g.slice(axis: a, start: offsets[i], end: offsets[i] + sizes[i]) : nil
            })
        }
    }

    /// The tensors (all of one shape and dtype) joined along a new axis at `axis`
    /// (`-1` appends it last). Built from `reshape` and `concat`.
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        guard let first = tensors.first else { opFailure("stack", "needs at least one tensor, got none") }
        let a = axis < 0 ? axis + first.rank + 1 : axis
        guard a >= 0 && a <= first.rank else {
            opFailure("stack", "axis \(axis) is out of range for stacking tensors of rank \(first.rank) (valid: \(-first.rank - 1)…\(first.rank))")
        }
        if let i = tensors.firstIndex(where: { $0.shape != first.shape }) {
            opFailure("stack", "tensor \(i) has shape \(describe(tensors[i].shape)), tensor 0 has \(describe(first.shape)): all must match")
        }
        return concat(tensors.map { $0.unsqueezed(axis: a) }, axis: a)
    }

    /// Consecutive pieces along `axis` with the given sizes, which must add up to the axis
    /// size. Each piece is a `slice`, so it can be used (and differentiated) on its own.
    public func split(sizes: [Int], axis: Int = 0) -> [Tensor] {
        let a = normalizedAxis(axis, op: "split")
        guard sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == shape[a] else {
            opFailure("split", "sizes \(describe(sizes)) must be ≥ 0 and add up to \(shape[a]), the size of axis \(a) of shape \(describe(shape))")
        }
        var start = 0
        return sizes.map { n in
            defer { start += n }
            return slice(axis: a, start: start, end: start + n)
        }
    }

    /// `count` pieces of equal size along `axis`, whose size `count` must divide.
    public func split(count: Int, axis: Int = 0) -> [Tensor] {
        let a = normalizedAxis(axis, op: "split")
        guard count > 0, shape[a] % count == 0 else {
            opFailure("split", "cannot split axis \(a) of size \(shape[a]) (shape \(describe(shape))) into \(count) equal parts")
        }
        return split(sizes: [Int](repeating: shape[a] / count, count: count), axis: a)
    }

    /// This tensor surrounded by `value`: `widths[d]` elements before and after it on axis
    /// `d`, one pair per axis (all ≥ 0). Records `pad`; the gradient is the slice of the
    /// incoming gradient where this tensor sits.
    public func padded(_ widths: [(before: Int, after: Int)], value: Double = 0) -> Tensor {
        guard widths.count == rank else {
            opFailure("pad", "\(widths.count) (before, after) pairs given for a tensor of rank \(rank) (shape \(describe(shape))): give one per axis")
        }
        if let d = widths.firstIndex(where: { $0.before < 0 || $0.after < 0 }) {
            opFailure("pad", "widths (\(widths[d].before), \(widths[d].after)) on axis \(d) must be ≥ 0")
        }
        if widths.allSatisfy({ $0.before == 0 && $0.after == 0 }) { return self }
        let outShape = (0..<rank).map { shape[$0] + widths[$0].before + widths[$0].after }
        return placed(into: outShape, starts: widths.map(\.before), steps: [Int](repeating: 1, count: rank),
                      fill: value, op: "pad")
    }
}
