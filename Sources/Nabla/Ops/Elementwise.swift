/// A function of one element, written once for Float and Double.
protocol UnaryKernel {
    static func apply<T: TensorScalar>(_ x: T) -> T
    /// A vectorized float32 loop from the C kernels, if there is one.
    static func applyFloat32(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) -> Bool
}

extension UnaryKernel {
    static func applyFloat32(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) -> Bool { false }
}

/// A function of two elements, written once for Float and Double.
protocol BinaryKernel {
    static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T
    /// A vectorized float32 loop from the C kernels over operands of the same shape, if
    /// there is one (it must give `apply`'s bits).
    static func applyFloat32(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                             _ n: Int) -> Bool
}

extension BinaryKernel {
    static func applyFloat32(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                             _ n: Int) -> Bool { false }
}

/// Picks the first operand: with both operands the same tensor, a broadcast copy.
enum FirstKernel: BinaryKernel { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a } }

extension Tensor {
    /// Applies `K` to every element (no graph).
    func mapElements<K: UnaryKernel>(_: K.Type) -> Tensor {
        let out = TensorStorage.make(count: count, dtype: dtype)
        Tensor.applyKernel(K.self, from: storage, to: out)
        return Tensor(storage: out, shape: shape)
    }

    /// Applies `K` to every element in place, with the same kernels and so the same values
    /// as `mapElements` (whose vector kernels read each element before writing it). For a
    /// tensor whose buffer nothing else holds (an op's fresh output); no graph.
    mutating func applyInPlace<K: UnaryKernel>(_: K.Type) {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        Tensor.applyKernel(K.self, from: storage, to: storage)
    }

    /// y = K(x) elementwise over buffers of the same count and dtype (possibly the same
    /// buffer), in chunks across threads for large counts.
    private static func applyKernel<K: UnaryKernel>(_: K.Type, from source: TensorStorage, to destination: TensorStorage) {
        let n = source.count
        switch source.dtype {
        case .float32:
            let x = source.pointer(as: Float.self), y = destination.pointer(as: Float.self)
            Threading.forChunks(n) { s, e in
                if !K.applyFloat32(x + s, y + s, e - s) {
                    for i in s..<e { y[i] = K.apply(x[i]) }
                }
            }
        case .float64:
            let x = source.pointer(as: Double.self), y = destination.pointer(as: Double.self)
            Threading.forChunks(n) { s, e in for i in s..<e { y[i] = K.apply(x[i]) } }
        }
    }

    /// Applies `K` elementwise to `a` and `b` broadcast to a common shape (no graph).
    static func zipElements<K: BinaryKernel>(_ a: Tensor, _ b: Tensor, _: K.Type, op: String) -> Tensor {
        guard a.dtype == b.dtype else {
            opFailure(op, "dtypes \(a.dtype) and \(b.dtype) differ; convert one with cast(to:)")
        }
        let shape = a.shape == b.shape ? a.shape : broadcastShape(a.shape, b.shape, op: op)
        let out = TensorStorage.make(count: shape.elementCount, dtype: a.dtype)
        switch a.dtype {
        case .float32: zipLoop(K.self, a, b, shape, out.pointer(as: Float.self))
        case .float64: zipLoop(K.self, a, b, shape, out.pointer(as: Double.self))
        }
        return Tensor(storage: out, shape: shape)
    }

    static func zipLoop<K: BinaryKernel, T: TensorScalar>(
        _: K.Type, _ a: Tensor, _ b: Tensor, _ shape: [Int], _ y: UnsafeMutablePointer<T>
    ) {
        let pa = a.storage.pointer(as: T.self), pb = b.storage.pointer(as: T.self)
        let n = shape.elementCount
        if a.shape == shape && b.shape == shape {
            Threading.forChunks(n) { s, e in
                if T.self == Float.self,
                   K.applyFloat32(UnsafeRawPointer(pa + s).assumingMemoryBound(to: Float.self),
                                  UnsafeRawPointer(pb + s).assumingMemoryBound(to: Float.self),
                                  UnsafeMutableRawPointer(y + s).assumingMemoryBound(to: Float.self), e - s) {
                    return
                }
                for i in s..<e { y[i] = K.apply(pa[i], pb[i]) }
            }
            return
        }
        if b.count == 1 && a.shape == shape {
            let v = pb[0]
            Threading.forChunks(n) { s, e in for i in s..<e { y[i] = K.apply(pa[i], v) } }
            return
        }
        if a.count == 1 && b.shape == shape {
            let v = pa[0]
            Threading.forChunks(n) { s, e in for i in s..<e { y[i] = K.apply(v, pb[i]) } }
            return
        }
        // Row broadcasting, [m, n] with [n] (a bias): the smaller operand's shape is the
        // tail of the output's, so it repeats every `inner` elements.
        if a.shape == shape || b.shape == shape || a.shape == b.shape,
           let inner = tailRepeat(a.shape == shape ? b.shape : a.shape, of: shape) {
            let aFull = a.shape == shape, bFull = b.shape == shape
            let rows = inner == 0 ? 0 : n / inner
            Threading.forChunks(rows, grain: Swift.max(1, Threading.elementwiseGrain / Swift.max(inner, 1))) { s, e in
                for r in s..<e {
                    let o = r * inner
                    let xa = aFull ? pa + o : pa, xb = bFull ? pb + o : pb, out = y + o
                    for j in 0..<inner { out[j] = K.apply(xa[j], xb[j]) }
                }
            }
            return
        }
        // General case: walk the output with each input's strides (0 along broadcast
        // dimensions), after merging dimensions that are contiguous for both inputs.
        let (dims, sa, sb) = collapsedBroadcastStrides(shape, a.shape, b.shape)
        let inner = dims.last!, ia = sa.last!, ib = sb.last!
        let outerCount = n / Swift.max(inner, 1)
        if inner == 0 { return }
        Threading.forChunks(outerCount, grain: Swift.max(1, Threading.elementwiseGrain / inner)) { s, e in
            var index = [Int](repeating: 0, count: dims.count - 1)
            // Position the counter at outer row `s`.
            var rem = s
            for d in stride(from: dims.count - 2, through: 0, by: -1) {
                index[d] = rem % dims[d]
                rem /= dims[d]
            }
            for row in s..<e {
                var oa = 0, ob = 0
                for d in 0..<index.count { oa += index[d] * sa[d]; ob += index[d] * sb[d] }
                let xa = pa + oa, xb = pb + ob, out = y + row * inner
                if ia == 1 && ib == 1 {
                    for j in 0..<inner { out[j] = K.apply(xa[j], xb[j]) }
                } else if ia == 1 {
                    let v = xb[0]
                    for j in 0..<inner { out[j] = K.apply(xa[j], v) }
                } else if ib == 1 {
                    let v = xa[0]
                    for j in 0..<inner { out[j] = K.apply(v, xb[j]) }
                } else {
                    let v = K.apply(xa[0], xb[0])
                    for j in 0..<inner { out[j] = v }
                }
                var d = index.count - 1
                while d >= 0 {
                    index[d] += 1
                    if index[d] < dims[d] { break }
                    index[d] = 0
                    d -= 1
                }
            }
        }
    }

    /// Whether broadcasting `big` with `small` gives `big` itself.
    static func isBroadcast(_ big: [Int], of small: [Int]) -> Bool {
        guard big.count >= small.count else { return false }
        let lead = big.count - small.count
        for i in small.indices where small[i] != 1 && small[i] != big[lead + i] { return false }
        return true
    }

    /// When `small` (leading 1s aside) equals the trailing dimensions of `shape`, the number
    /// of elements after which it repeats; nil otherwise.
    static func tailRepeat(_ small: [Int], of shape: [Int]) -> Int? {
        var k = 0
        while k < small.count && small[k] == 1 && small.count - k > 0 { k += 1 }
        let tail = small[k...]
        guard tail.count <= shape.count, tail.elementsEqual(shape[(shape.count - tail.count)...]) else { return nil }
        return tail.reduce(1, *)
    }

    /// The output dimensions and each input's element strides for a broadcast, with
    /// neighbouring dimensions merged wherever both inputs stay contiguous across them.
    static func collapsedBroadcastStrides(_ shape: [Int], _ a: [Int], _ b: [Int])
        -> (dims: [Int], sa: [Int], sb: [Int]) {
        func strides(_ s: [Int]) -> [Int] {
            let padded = [Int](repeating: 1, count: shape.count - s.count) + s
            var st = [Int](repeating: 0, count: shape.count)
            var acc = 1
            for d in stride(from: shape.count - 1, through: 0, by: -1) {
                st[d] = padded[d] == 1 && shape[d] != 1 ? 0 : acc
                acc *= padded[d]
            }
            return st
        }
        let fa = strides(a), fb = strides(b)
        var dims: [Int] = [], sa: [Int] = [], sb: [Int] = []
        for d in 0..<shape.count where shape[d] != 1 {
            if let last = dims.last,
               sa.last! == fa[d] * shape[d], sb.last! == fb[d] * shape[d] {
                dims[dims.count - 1] = last * shape[d]
                sa[sa.count - 1] = fa[d]
                sb[sb.count - 1] = fb[d]
            } else {
                dims.append(shape[d]); sa.append(fa[d]); sb.append(fb[d])
            }
        }
        if dims.isEmpty { return ([1], [0], [0]) }
        return (dims, sa, sb)
    }

    /// The shape two shapes broadcast to under NumPy's rules, or a stop naming the op.
    public static func broadcastShape(_ a: [Int], _ b: [Int], op: String = "broadcast") -> [Int] {
        // Usually the result is one of the two shapes (a bias row against a batch): return
        // that array rather than build an equal one.
        if isBroadcast(a, of: b) { return a }
        if isBroadcast(b, of: a) { return b }
        let n = Swift.max(a.count, b.count)
        var out = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let da = i < n - a.count ? 1 : a[i - (n - a.count)]
            let db = i < n - b.count ? 1 : b[i - (n - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else {
                opFailure(op, "shapes \(describe(a)) and \(describe(b)) cannot be broadcast: dimension \(i) is \(da) in one and \(db) in the other (sizes must match, or one must be 1)")
            }
        }
        return out
    }
}
