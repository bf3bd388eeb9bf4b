// Reductions over axes. `keepDims` leaves reduced dimensions in place with size 1.

protocol ReduceKernel {
    static func initial<T: TensorScalar>(_: T.Type) -> T
    static func combine<T: TensorScalar>(_ a: T, _ b: T) -> T
}
enum SumReduce: ReduceKernel {
    @inline(__always) static func initial<T: TensorScalar>(_: T.Type) -> T { 0 }
    @inline(__always) static func combine<T: TensorScalar>(_ a: T, _ b: T) -> T { a + b }
}
enum MaxReduce: ReduceKernel {
    @inline(__always) static func initial<T: TensorScalar>(_: T.Type) -> T { -.infinity }
    // NaN wins, so that a NaN anywhere shows in the result.
    @inline(__always) static func combine<T: TensorScalar>(_ a: T, _ b: T) -> T { (b > a || b.isNaN) ? b : a }
}
enum MinReduce: ReduceKernel {
    @inline(__always) static func initial<T: TensorScalar>(_: T.Type) -> T { .infinity }
    @inline(__always) static func combine<T: TensorScalar>(_ a: T, _ b: T) -> T { (b < a || b.isNaN) ? b : a }
}

extension Tensor {
    /// Normalized, sorted, de-duplicated axes; nil or empty means all axes.
    func reductionAxes(_ axes: [Int]?, op: String) -> [Int] {
        guard let axes, !axes.isEmpty else { return Array(0..<rank) }
        if axes.count == 1 {
            let axis = normalizedAxis(axes[0], op: op)
            return axis == axes[0] ? axes : [axis]
        }
        return Array(Set(axes.map { normalizedAxis($0, op: op) })).sorted()
    }

    /// The shape after reducing `axes` (kept as size 1 or removed). One allocation: a bias
    /// gradient (a sum over the batch) runs this at every training step.
    func reducedShape(_ axes: [Int], keepDims: Bool) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(rank)
        for (i, d) in shape.enumerated() {
            if !axes.contains(i) { out.append(d) } else if keepDims { out.append(1) }
        }
        return out
    }

    /// Reduces `axes` with `K` (no graph); the result keeps reduced dimensions as size 1.
    func reduceRaw<K: ReduceKernel>(_ axes: [Int], _ k: K.Type, op: String) -> Tensor {
        Tensor(storage: reducedStorage(axes, k, op: op), shape: reducedShape(axes, keepDims: true))
    }

    /// The elements of `reduceRaw`: `axes` (sorted, distinct; nil for all) reduced with `K`,
    /// the remaining dimensions in order. Each run of adjacent axes is one [outer, r, inner]
    /// pass, the last run first; the usual single run reads this tensor directly and
    /// allocates nothing but the result.
    func reducedStorage<K: ReduceKernel>(_ axes: [Int]?, _: K.Type, op: String) -> TensorStorage {
        var source = storage
        var end = axes?.count ?? 1
        while end > 0 {
            // The run axes[start...end-1] (all dimensions when `axes` is nil).
            var start = end - 1
            let first: Int, last: Int
            if let axes {
                while start > 0 && axes[start - 1] == axes[start] - 1 { start -= 1 }
                first = axes[start]
                last = axes[end - 1]
            } else {
                first = 0
                last = rank - 1
            }
            // Dimensions after the run that an earlier pass reduced have size 1 by now.
            var outer = 1, r = 1, inner = 1
            for (d, size) in shape.enumerated() {
                if d < first { outer *= size } else if d <= last { r *= size }
                else if !(axes?[end...].contains(d) ?? false) { inner *= size }
            }
            if r == 0 && K.self != SumReduce.self {
                opFailure(op, "cannot reduce over an empty dimension of shape \(describe(shape))")
            }
            let out = TensorStorage.make(count: outer * inner, dtype: dtype)
            switch dtype {
            case .float32: Tensor.reduceLoop(K.self, source.pointer(as: Float.self), out.pointer(as: Float.self), outer, r, inner)
            case .float64: Tensor.reduceLoop(K.self, source.pointer(as: Double.self), out.pointer(as: Double.self), outer, r, inner)
            }
            source = out
            end = start
        }
        return source
    }

    private static func reduceLoop<K: ReduceKernel, T: TensorScalar>(
        _: K.Type, _ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, _ outer: Int, _ r: Int, _ inner: Int
    ) {
        if inner == 1 && K.self == SumReduce.self && T.self == Float.self {
            // Contiguous float sums: eight SIMD lanes of partial sums (vectorizes, and adds
            // in a tree-like order that loses less precision than one running total).
            let xf = UnsafeMutableRawPointer(x).assumingMemoryBound(to: Float.self)
            let yf = UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self)
            Threading.forChunks(outer, grain: Swift.max(1, Threading.elementwiseGrain / Swift.max(r, 1))) { s, e in
                for o in s..<e { yf[o] = contiguousSum(xf + o * r, r) }
            }
            return
        }
        if inner == 1 {
            Threading.forChunks(outer, grain: Swift.max(1, Threading.elementwiseGrain / Swift.max(r, 1))) { s, e in
                for o in s..<e {
                    let row = x + o * r
                    // Four partial results: shorter dependency chains, and for sums a
                    // smaller rounding error than one running total.
                    var a0 = K.initial(T.self), a1 = a0, a2 = a0, a3 = a0
                    var k = 0
                    while k + 4 <= r {
                        a0 = K.combine(a0, row[k]); a1 = K.combine(a1, row[k + 1])
                        a2 = K.combine(a2, row[k + 2]); a3 = K.combine(a3, row[k + 3])
                        k += 4
                    }
                    while k < r { a0 = K.combine(a0, row[k]); k += 1 }
                    y[o] = K.combine(K.combine(a0, a1), K.combine(a2, a3))
                }
            }
            return
        }
        Threading.forChunks(outer * inner, grain: Threading.elementwiseGrain / Swift.max(r, 1) + 1) { s, e in
            // Work split by output element ranges; each range handles whole output rows
            // piecewise so the inner loop stays contiguous.
            var i = s
            while i < e {
                let o = i / inner, j0 = i % inner
                let j1 = Swift.min(inner, j0 + (e - i))
                let dst = y + o * inner
                for j in j0..<j1 { dst[j] = K.initial(T.self) }
                for k in 0..<r {
                    let src = x + (o * r + k) * inner
                    for j in j0..<j1 { dst[j] = K.combine(dst[j], src[j]) }
                }
                i += j1 - j0
            }
        }
    }

    /// The sum over `axes` (all axes when nil).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        if axes?.isEmpty ?? true {
            // All axes (a loss): one pass, and a backward that needs only the input's shape.
            let total = Tensor(storage: reducedStorage(nil, SumReduce.self, op: "sum"),
                               shape: keepDims ? [Int](repeating: 1, count: rank) : [])
            return total.recorded("sum", self) { g, c in [g.broadcast(to: c.input(0).shape)] }
        }
        let ax = reductionAxes(axes, op: "sum")
        let total = Tensor(storage: reducedStorage(ax, SumReduce.self, op: "sum"),
                           shape: reducedShape(ax, keepDims: keepDims))
        // A backward that captures values has a heap-allocated context, made wherever the
        // closure is written: checking first keeps a sum outside any graph (a bias gradient
        // in a backward pass) from paying for it. Ops whose backward captures do this.
        guard Tensor.recording(self) else { return total }
        return total.recorded("sum", self) { g, c in
            let x = c.input(0)
            return [g.reshaped(x.reducedShape(ax, keepDims: true)).broadcast(to: x.shape)]
        }
    }

    /// The sum over one axis.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// The mean over `axes` (all axes when nil).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = reductionAxes(axes, op: "mean")
        let n = ax.reduce(1) { $0 * shape[$1] }
        return sum(axes: ax, keepDims: keepDims) / Double(Swift.max(n, 1))
    }

    /// The mean over one axis.
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// The maximum over `axes` (all when nil). Tied maxima share the gradient equally.
    public func max(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        extremum(axes, keepDims, MaxReduce.self, op: "max")
    }
    /// The maximum over one axis.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor { max(axes: [axis], keepDims: keepDims) }

    /// The minimum over `axes` (all when nil). Tied minima share the gradient equally.
    public func min(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        extremum(axes, keepDims, MinReduce.self, op: "min")
    }
    /// The minimum over one axis.
    public func min(axis: Int, keepDims: Bool = false) -> Tensor { min(axes: [axis], keepDims: keepDims) }

    private func extremum<K: ReduceKernel>(_ axes: [Int]?, _ keepDims: Bool, _ k: K.Type, op: String) -> Tensor {
        let ax = reductionAxes(axes, op: op)
        let kept = reduceRaw(ax, k, op: op)
        let x = self
        let result = kept.reshaped(reducedShape(ax, keepDims: keepDims))
        guard Tensor.recording(x) else { return result }
        return result.recorded(op, x) { g, _ in
            let mask = x.detached() .== kept
            let ties = mask.sum(axes: ax, keepDims: true)
            return [g.reshaped(kept.shape) * mask / ties]
        }
    }

    /// The variance over `axes` (all when nil): the mean squared deviation, divided by
    /// n − 1 instead of n when `unbiased`.
    public func variance(axes: [Int]? = nil, keepDims: Bool = false, unbiased: Bool = false) -> Tensor {
        let ax = reductionAxes(axes, op: "variance")
        let n = ax.reduce(1) { $0 * shape[$1] }
        let centered = self - mean(axes: ax, keepDims: true)
        let ss = (centered * centered).sum(axes: ax, keepDims: keepDims)
        return ss / Double(Swift.max(unbiased ? n - 1 : n, 1))
    }

    /// The variance over one axis.
    public func variance(axis: Int, keepDims: Bool = false, unbiased: Bool = false) -> Tensor {
        variance(axes: [axis], keepDims: keepDims, unbiased: unbiased)
    }

    /// log Σ e^x over `axes`, computed stably (the maximum is subtracted first).
    public func logSumExp(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = reductionAxes(axes, op: "logSumExp")
        // The shift is a constant for differentiation: it cancels out of the result.
        var shift = reduceRaw(ax, MaxReduce.self, op: "logSumExp")
        shift = Tensor.where(shift.abs() .< .infinity, shift, Tensor.zeros(like: shift))
        let lse = (self - shift).exp().sum(axes: ax, keepDims: true).log() + shift
        return lse.reshaped(reducedShape(ax, keepDims: keepDims))
    }

    /// The index of the largest element along `axis` (first one on ties), as values of this
    /// tensor's dtype. No gradient.
    public func argmax(axis: Int, keepDims: Bool = false) -> Tensor { argExtremum(axis, keepDims, greater: true) }

    /// The index of the smallest element along `axis` (first one on ties). No gradient.
    public func argmin(axis: Int, keepDims: Bool = false) -> Tensor { argExtremum(axis, keepDims, greater: false) }

    private func argExtremum(_ axis: Int, _ keepDims: Bool, greater: Bool) -> Tensor {
        let op = greater ? "argmax" : "argmin"
        let a = normalizedAxis(axis, op: op)
        let outer = shape[..<a].reduce(1, *), r = shape[a], inner = shape[(a + 1)...].reduce(1, *)
        guard r > 0 else { opFailure(op, "axis \(axis) of shape \(describe(shape)) is empty") }
        let out = TensorStorage.make(count: outer * inner, dtype: dtype)
        func run<T: TensorScalar>(_: T.Type) {
            let x = storage.pointer(as: T.self), y = out.pointer(as: T.self)
            for o in 0..<outer {
                for j in 0..<inner {
                    var best = x[o * r * inner + j], bestK = 0
                    for k in 1..<r {
                        let v = x[(o * r + k) * inner + j]
                        if greater ? (v > best) : (v < best) { best = v; bestK = k }
                    }
                    y[o * inner + j] = T(Double(bestK))
                }
            }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
        return Tensor(storage: out, shape: reducedShape([a], keepDims: keepDims))
    }
}

/// The sum of `n` contiguous floats, accumulated in SIMD lanes.
@inline(__always)
func contiguousSum(_ p: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    var k = 0
    let raw = UnsafeRawPointer(p)
    while k + 16 <= n {
        acc0 += raw.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
        acc1 += raw.loadUnaligned(fromByteOffset: (k + 8) * 4, as: SIMD8<Float>.self)
        k += 16
    }
    var total = (acc0 + acc1).sum()
    while k < n { total += p[k]; k += 1 }
    return total
}
