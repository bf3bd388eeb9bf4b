// Slicing and index-based selection. Every op here moves elements without changing them,
// so its backward is the matching "put back" op (slice ↔ sliceBackward, gather ↔ scatterAdd,
// indexSelect ↔ indexAdd), and each put-back op is itself differentiable with the original
// op as its backward: gradients of gradients come for free.

extension Tensor {
    /// The names these ops record in the graph (`gradientOp`), in the order the gradient
    /// checker example lists them. Stack and split record no node of their own: they are
    /// built from `reshape`, `concat` and `slice`.
    public static let indexingOpNames = [
        "slice", "sliceBackward", "pad", "concat", "gather", "scatterAdd",
        "indexSelect", "indexAdd", "dropout",
    ]

    // MARK: strided regions (the shared primitive)

    /// Row-major strides of `shape`.
    static func rowMajorStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        for d in stride(from: shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
        return strides
    }

    /// Copies a box of `region` elements from `src` to `dst`; each side walks its own
    /// strides (steps already folded in) from its own offset. One loop serves slicing,
    /// scattering back, padding and concatenation.
    static func stridedCopy<T: TensorScalar>(_ src: UnsafePointer<T>, _ srcStrides: [Int], _ srcOffset: Int,
                                             _ dst: UnsafeMutablePointer<T>, _ dstStrides: [Int], _ dstOffset: Int,
                                             _ region: [Int]) {
        let r = region.count
        if region.contains(0) { return }
        if r == 0 { dst[dstOffset] = src[srcOffset]; return }
        let inner = region[r - 1], si = srcStrides[r - 1], di = dstStrides[r - 1]
        let rows = region.dropLast().reduce(1, *)
        var index = [Int](repeating: 0, count: r - 1)
        var so = srcOffset, dOff = dstOffset
        for _ in 0..<rows {
            if si == 1 && di == 1 {
                (dst + dOff).update(from: src + so, count: inner)
            } else {
                for j in 0..<inner { dst[dOff + j * di] = src[so + j * si] }
            }
            var d = r - 2
            while d >= 0 {
                index[d] += 1
                so += srcStrides[d]
                dOff += dstStrides[d]
                if index[d] < region[d] { break }
                so -= srcStrides[d] * region[d]
                dOff -= dstStrides[d] * region[d]
                index[d] = 0
                d -= 1
            }
        }
    }

    /// Copies the box of `region` elements of `src` that starts at `srcStarts` and steps by
    /// `srcSteps` into the box of `dst` (shape `dstShape`) at `dstStarts` / `dstSteps`.
    static func copyRegion(from src: Tensor, starts srcStarts: [Int], steps srcSteps: [Int],
                           into dst: TensorStorage, shape dstShape: [Int], starts dstStarts: [Int],
                           steps dstSteps: [Int], region: [Int]) {
        let ss = rowMajorStrides(src.shape), ds = rowMajorStrides(dstShape)
        let srcStrides = zip(ss, srcSteps).map { $0 * $1 }, dstStrides = zip(ds, dstSteps).map { $0 * $1 }
        let so = zip(ss, srcStarts).reduce(0) { $0 + $1.0 * $1.1 }
        let dOff = zip(ds, dstStarts).reduce(0) { $0 + $1.0 * $1.1 }
        switch src.dtype {
        case .float32:
            stridedCopy(src.storage.pointer(as: Float.self), srcStrides, so, dst.pointer(as: Float.self), dstStrides, dOff, region)
        case .float64:
            stridedCopy(src.storage.pointer(as: Double.self), srcStrides, so, dst.pointer(as: Double.self), dstStrides, dOff, region)
        }
    }

    /// The elements at `starts[d] + k·steps[d]` for `k` in `0..<outShape[d]`, every axis at
    /// once. Arguments are trusted (callers validate). Records `slice`.
    func stridedSlice(starts: [Int], steps: [Int], shape outShape: [Int]) -> Tensor {
        if outShape == shape && starts.allSatisfy({ $0 == 0 }) && steps.allSatisfy({ $0 == 1 }) { return self }
        let out = TensorStorage(count: outShape.elementCount, dtype: dtype)
        Tensor.copyRegion(from: self, starts: starts, steps: steps, into: out, shape: outShape,
                          starts: [Int](repeating: 0, count: rank), steps: [Int](repeating: 1, count: rank),
                          region: outShape)
        let inputShape = shape
        return Tensor(storage: out, shape: outShape).recorded("slice", [self]) { g, _ in
            [g.sliceBackward(into: inputShape, starts: starts, steps: steps)]
        }
    }

    /// This tensor placed at `starts` / `steps` inside a tensor of `shape` whose other
    /// elements are `fill`: the adjoint of `stridedSlice`. Records `op` ("sliceBackward",
    /// or "pad" when padding uses it); its backward is the slice.
    func sliceBackward(into outShape: [Int], starts: [Int], steps: [Int], fill: Double = 0,
                       op: String = "sliceBackward") -> Tensor {
        let out = fill == 0 ? TensorStorage.zeros(count: outShape.elementCount, dtype: dtype)
            : Tensor.full(outShape, value: fill, dtype: dtype).storage
        Tensor.copyRegion(from: self, starts: [Int](repeating: 0, count: rank), steps: [Int](repeating: 1, count: rank),
                          into: out, shape: outShape, starts: starts, steps: steps, region: shape)
        let regionShape = shape
        return Tensor(storage: out, shape: outShape).recorded(op, [self]) { g, _ in
            [g.stridedSlice(starts: starts, steps: steps, shape: regionShape)]
        }
    }

    /// Resolves a NumPy-style `start:end:step` (step > 0) on a dimension of `size`:
    /// negative bounds count from the end, bounds beyond the ends are clamped.
    static func resolveSlice(start: Int?, end: Int?, step: Int, size: Int, op: String,
                             axis: Int, shape: [Int]) -> (start: Int, count: Int) {
        guard step > 0 else {
            opFailure(op, "step must be > 0, got \(step) (axis \(axis) of shape \(describe(shape)))")
        }
        func clamp(_ v: Int) -> Int { Swift.min(Swift.max(v < 0 ? v + size : v, 0), size) }
        let s = clamp(start ?? 0), e = clamp(end ?? size)
        return (s, e > s ? (e - s + step - 1) / step : 0)
    }

    // MARK: public slicing

    /// The elements `start, start + step, …` before `end` along `axis`, with NumPy's rules:
    /// negative `start`/`end` count from the end, bounds past either end are clamped (an
    /// empty result is allowed), `step` must be positive. `end: nil` means the end of the
    /// axis. Records `slice`; the gradient is scattered back into zeros (`sliceBackward`).
    public func slice(axis: Int, start: Int = 0, end: Int? = nil, step: Int = 1) -> Tensor {
        let a = normalizedAxis(axis, op: "slice")
        let (s, n) = Tensor.resolveSlice(start: start, end: end, step: step, size: shape[a], op: "slice",
                                         axis: axis, shape: shape)
        var starts = [Int](repeating: 0, count: rank), steps = [Int](repeating: 1, count: rank)
        var outShape = shape
        starts[a] = s
        steps[a] = step
        outShape[a] = n
        return stridedSlice(starts: starts, steps: steps, shape: outShape)
    }

    /// Selection written like NumPy indexing: an `Int` picks one position and removes the
    /// axis (negative counts from the end), a range (`0..<2`, `1...`, `..<3`, `...2`) or
    /// `.slice(start:end:step:)` keeps a part of it, `.all` keeps all of it, `.ellipsis`
    /// stands for all the axes not named, `.newAxis` inserts a dimension of size 1. Axes
    /// left out at the end are kept whole. One `slice` node (plus a `reshape` when axes are
    /// removed or inserted).
    ///
    /// ```swift
    /// let x = Tensor.arange(0, 24).reshaped(2, 3, 4)
    /// x[1]                         // shape [3, 4]
    /// x[0..<1, .ellipsis, 1...]    // shape [1, 3, 3]
    /// x[.all, .slice(step: 2), -1] // shape [2, 2]
    /// ```
    public subscript(_ items: any SliceRangeConvertible...) -> Tensor { self[items.map(\.sliceRange)] }

    /// Selection starting with `...`, which (as in NumPy) stands for every axis the other
    /// items do not name: `x[..., 0]` picks position 0 of the last axis.
    public subscript(_: UnboundedRange, _ rest: any SliceRangeConvertible...) -> Tensor {
        self[[.ellipsis] + rest.map(\.sliceRange)]
    }

    /// Selection with `...` in second place: `x[0, ..., 1]`.
    public subscript(_ first: any SliceRangeConvertible, _: UnboundedRange,
                     _ rest: any SliceRangeConvertible...) -> Tensor {
        self[[first.sliceRange, .ellipsis] + rest.map(\.sliceRange)]
    }

    /// Selection from a list of slice items (see the variadic subscript).
    public subscript(_ items: [SliceRange]) -> Tensor {
        let ellipses = items.filter { $0.kind == .ellipsis }.count
        guard ellipses <= 1 else { opFailure("subscript", "at most one .ellipsis is allowed, got \(ellipses)") }
        let consuming = items.filter { $0.kind != .ellipsis && $0.kind != .newAxis }.count
        guard consuming <= rank else {
            opFailure("subscript", "\(consuming) indices given for a tensor of rank \(rank) (shape \(describe(shape)))")
        }
        var expanded: [SliceRange] = []
        for item in items {
            if item.kind == .ellipsis {
                expanded += [SliceRange](repeating: .all, count: rank - consuming)
            } else {
                expanded.append(item)
            }
        }
        if ellipses == 0 { expanded += [SliceRange](repeating: .all, count: rank - consuming) }

        var starts: [Int] = [], steps: [Int] = [], sliced: [Int] = [], final: [Int] = []
        var axis = 0
        for item in expanded {
            switch item.kind {
            case .newAxis:
                final.append(1)
            case .ellipsis:
                break
            case .index:
                let size = shape[axis]
                let i = item.start! < 0 ? item.start! + size : item.start!
                guard i >= 0 && i < size else {
                    opFailure("subscript", "index \(item.start!) is out of range for axis \(axis) of size \(size) (shape \(describe(shape)))")
                }
                starts.append(i); steps.append(1); sliced.append(1)
                axis += 1
            case .range:
                let (s, n) = Tensor.resolveSlice(start: item.start, end: item.end, step: item.step, size: shape[axis],
                                                 op: "subscript", axis: axis, shape: shape)
                starts.append(s); steps.append(item.step); sliced.append(n); final.append(n)
                axis += 1
            }
        }
        let result = stridedSlice(starts: starts, steps: steps, shape: sliced)
        return final == sliced ? result : result.reshaped(final)
    }

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
        let out = TensorStorage(count: indices.count, dtype: dtype)
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
        return Tensor(storage: out, shape: indices.shape).recorded("gather", [self]) { g, _ in
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
        return Tensor(storage: out, shape: shape).recorded("scatterAdd", [self, source]) { g, c in
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
        let out = TensorStorage(count: outShape.elementCount, dtype: dtype)
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
        return Tensor(storage: out, shape: outShape).recorded("indexSelect", [self]) { g, _ in
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
        return Tensor(storage: out, shape: shape).recorded("indexAdd", [self, source]) { g, c in
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

/// One item of a tensor subscript: an index, a range with an optional step, all of an
/// axis, the axes not named (`ellipsis`) or a new axis of size 1.
public struct SliceRange: SliceRangeConvertible, Sendable, Equatable {
    /// What the item selects.
    public enum Kind: Sendable, Equatable {
        /// One position; the axis is removed (`start` holds the position).
        case index
        /// `start..<end` by `step`, each bound optional.
        case range
        /// All axes not otherwise named.
        case ellipsis
        /// A new dimension of size 1.
        case newAxis
    }

    /// What the item selects.
    public let kind: Kind
    /// The position (`.index`) or first position (`.range`); nil means the start.
    public let start: Int?
    /// One past the last position (`.range`); nil means the end.
    public let end: Int?
    /// Distance between selected positions (`.range`); must be positive.
    public let step: Int

    init(kind: Kind, start: Int? = nil, end: Int? = nil, step: Int = 1) {
        self.kind = kind
        self.start = start
        self.end = end
        self.step = step
    }

    /// The item itself.
    public var sliceRange: SliceRange { self }
}

/// A value that can stand in a tensor subscript: `Int`, the integer ranges, or a `SliceRange`.
public protocol SliceRangeConvertible {
    /// The subscript item this value means.
    var sliceRange: SliceRange { get }
}

extension SliceRangeConvertible where Self == SliceRange {
    /// One position, removing the axis (negative counts from the end).
    public static func index(_ i: Int) -> SliceRange { SliceRange(kind: .index, start: i) }
    /// `start..<end` by `step` with NumPy's rules (nil bounds mean the ends).
    public static func slice(start: Int? = nil, end: Int? = nil, step: Int = 1) -> SliceRange {
        SliceRange(kind: .range, start: start, end: end, step: step)
    }
    /// The whole axis.
    public static var all: SliceRange { SliceRange(kind: .range) }
    /// All axes not named by the other items.
    public static var ellipsis: SliceRange { SliceRange(kind: .ellipsis) }
    /// A new dimension of size 1 at this place.
    public static var newAxis: SliceRange { SliceRange(kind: .newAxis) }
}

extension Int: SliceRangeConvertible {
    /// One position, removing the axis.
    public var sliceRange: SliceRange { .index(self) }
}

extension Range: SliceRangeConvertible where Bound == Int {
    /// `lowerBound..<upperBound`.
    public var sliceRange: SliceRange { .slice(start: lowerBound, end: upperBound) }
}

extension ClosedRange: SliceRangeConvertible where Bound == Int {
    /// `lowerBound...upperBound` (an upper bound of −1 means through the last position).
    public var sliceRange: SliceRange { .slice(start: lowerBound, end: upperBound == -1 ? nil : upperBound + 1) }
}

extension PartialRangeFrom: SliceRangeConvertible where Bound == Int {
    /// `lowerBound...` to the end.
    public var sliceRange: SliceRange { .slice(start: lowerBound) }
}

extension PartialRangeUpTo: SliceRangeConvertible where Bound == Int {
    /// From the start up to `upperBound`, excluded.
    public var sliceRange: SliceRange { .slice(end: upperBound) }
}

extension PartialRangeThrough: SliceRangeConvertible where Bound == Int {
    /// From the start through `upperBound` (−1 means through the last position).
    public var sliceRange: SliceRange { .slice(end: upperBound == -1 ? nil : upperBound + 1) }
}
