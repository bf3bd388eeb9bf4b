// Slicing: the strided-region copy that slicing, its adjoint, padding and concatenation
// share; `slice(axis:start:end:step:)`; NumPy-style subscripts. A slice's backward places the
// gradient among zeros (`sliceBackward`), and that op's backward is the slice again, so
// gradients of gradients come for free.

extension Tensor {
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
        let out = TensorStorage.make(count: outShape.elementCount, dtype: dtype)
        Tensor.copyRegion(from: self, starts: starts, steps: steps, into: out, shape: outShape,
                          starts: [Int](repeating: 0, count: rank), steps: [Int](repeating: 1, count: rank),
                          region: outShape)
        let inputShape = shape
        return Tensor(storage: out, shape: outShape).recorded("slice", self) { g, _ in
            [g.placed(into: inputShape, starts: starts, steps: steps)]
        }
    }

    /// This tensor's elements written at `starts[d] + k·steps[d]` inside zeros of `shape`:
    /// the adjoint of slicing, which is how a slice's gradient reaches its input. Public so
    /// that it can be checked like any op. The placed box must fit inside `shape` and steps
    /// must be positive. Records `sliceBackward`; its backward is the slice.
    public func sliceBackward(into shape: [Int], starts: [Int], steps: [Int]) -> Tensor {
        guard shape.count == rank, starts.count == rank, steps.count == rank else {
            opFailure("sliceBackward", "shape \(describe(shape)), starts \(describe(starts)) and steps \(describe(steps)) must each have one entry per axis of the \(describe(self.shape)) tensor")
        }
        Tensor.validate(shape: shape, op: "sliceBackward")
        for d in 0..<rank {
            guard steps[d] > 0, starts[d] >= 0,
                  self.shape[d] == 0 || starts[d] + (self.shape[d] - 1) * steps[d] < shape[d] else {
                opFailure("sliceBackward", "on axis \(d), \(self.shape[d]) elements from \(starts[d]) by step \(steps[d]) do not fit in size \(shape[d]) (steps must be > 0, starts ≥ 0)")
            }
        }
        return placed(into: shape, starts: starts, steps: steps)
    }

    /// `sliceBackward` without checks and with any `fill`; records `op` ("sliceBackward", or
    /// "pad" when padding uses it). Its backward is the slice.
    func placed(into outShape: [Int], starts: [Int], steps: [Int], fill: Double = 0,
                op: String = "sliceBackward") -> Tensor {
        let out = fill == 0 ? TensorStorage.zeros(count: outShape.elementCount, dtype: dtype)
            : Tensor.full(outShape, value: fill, dtype: dtype).storage
        Tensor.copyRegion(from: self, starts: [Int](repeating: 0, count: rank), steps: [Int](repeating: 1, count: rank),
                          into: out, shape: outShape, starts: starts, steps: steps, region: shape)
        let regionShape = shape
        return Tensor(storage: out, shape: outShape).recorded(op, self) { g, _ in
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
