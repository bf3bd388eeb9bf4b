
extension Tensor {
    /// Batch normalization with the batch's own statistics: every channel (axis 1) is
    /// normalized over all other axes to zero mean and unit variance, then scaled by
    /// `weight` and shifted by `bias` (both of shape [C], optional).
    ///
    /// Returns the output and the per-channel batch mean and biased variance (without a
    /// graph), which a BatchNorm layer folds into its running statistics. One fused pass
    /// forward and one backward instead of a dozen elementwise ops; when the backward pass is
    /// itself recorded (`createGraph`), it is written with tensor ops so that second
    /// derivatives work.
    ///
    /// With `thenReLU`, the output is `max(x̂·γ + β, 0)`: the same values as `.relu()` applied
    /// to the plain output, in one pass instead of two, and a backward pass that masks the
    /// incoming gradient as it goes instead of writing and reading a masked copy (a batch
    /// norm followed by a ReLU, as in most conv nets, is bound by memory traffic).
    public func batchNormalized(weight: Tensor?, bias: Tensor?, epsilon: Double = 1e-5, thenReLU: Bool = false)
        -> (output: Tensor, mean: Tensor, variance: Tensor) {
        guard rank >= 2 else { opFailure("batchNormalized", "input \(describe(shape)) needs rank ≥ 2 ([N, C, …])") }
        let c = shape[1], n = shape[0], s = count / Swift.max(n * c, 1)
        for (name, p) in [("weight", weight), ("bias", bias)] {
            if let p, p.shape != [c] || p.dtype != dtype {
                opFailure("batchNormalized", "\(name) \(describe(p.shape)) \(p.dtype) must be [\(c)] \(dtype) for input \(describe(shape))")
            }
        }
        guard n * s > 1 else {
            opFailure("batchNormalized", "input \(describe(shape)) has one value per channel; the batch statistics need more")
        }
        let out = TensorStorage.make(count: count, dtype: dtype)
        let mean = TensorStorage.make(count: c, dtype: dtype), variance = TensorStorage.make(count: c, dtype: dtype)
        // Each channel's scale and shift (the ReLU's backward pass recomputes the pre-ReLU
        // values from them, bit for bit).
        let affine = TensorStorage.make(count: 2 * c, dtype: dtype)
        func run<T: TensorScalar>(_: T.Type) {
            let x = storage.pointer(as: T.self), y = out.pointer(as: T.self)
            let mu = mean.pointer(as: T.self), v = variance.pointer(as: T.self), ab = affine.pointer(as: T.self)
            let gamma = weight?.storage.pointer(as: T.self), beta = bias?.storage.pointer(as: T.self)
            let m = Double(n * s)
            Threading.forChunks(c, grain: Swift.max(1, Threading.elementwiseGrain / Swift.max(n * s, 1))) { c0, c1 in
                for ch in c0..<c1 {
                    // Rows are summed in their own type (SIMD lanes for float32), rows into a
                    // Double: fast, and accurate over the tens of thousands of values per channel.
                    var sum = 0.0
                    for i in 0..<n { sum += rowSum(x + (i * c + ch) * s, s) }
                    let mean = sum / m
                    var ss = 0.0
                    for i in 0..<n { ss += rowSquaredDeviation(x + (i * c + ch) * s, s, T(mean)) }
                    let variance = ss / m
                    mu[ch] = T(mean)
                    v[ch] = T(variance)
                    let scale = T((gamma.map { $0[ch].doubleValue } ?? 1) / (variance + epsilon).squareRoot())
                    let shift = T(beta.map { $0[ch].doubleValue } ?? 0) - T(mean) * scale
                    ab[ch] = scale
                    ab[c + ch] = shift
                    for i in 0..<n {
                        let src = x + (i * c + ch) * s, dst = y + (i * c + ch) * s
                        if thenReLU {
                            for j in 0..<s { let v = src[j] * scale + shift; dst[j] = v > 0 ? v : 0 }
                        } else {
                            for j in 0..<s { dst[j] = src[j] * scale + shift }
                        }
                    }
                }
            }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
        let meanT = Tensor(storage: mean, shape: [c]), varT = Tensor(storage: variance, shape: [c])
        var inputs = [self]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        let hasWeight = weight != nil, hasBias = bias != nil
        let affineT = Tensor(storage: affine, shape: [2, c])
        let op = thenReLU ? "batchNormReLU" : "batchNorm"
        let output = Tensor(storage: out, shape: shape).recorded(op, TensorList(inputs)) { g, ctx in
            let x = ctx.input(0), w: Tensor? = hasWeight ? ctx.input(1) : nil
            let grads: (input: Tensor, weight: Tensor, bias: Tensor)
            if isGradientRecordingEnabled {
                // Composed of tensor ops so it can be differentiated again; the ReLU's mask
                // is a constant there (its derivative is zero wherever it is defined).
                var gy = g
                if thenReLU {
                    let statShape = statisticsShape(x)
                    let preReLU = withoutGradients {
                        x.detached() * affineT[0].reshaped(statShape) + affineT[1].reshaped(statShape)
                    }
                    gy = Tensor.reluBackward(g, preReLU)
                }
                grads = batchNormBackwardComposed(gy, x, w, epsilon: epsilon)
            } else {
                grads = batchNormBackwardFused(g, x, w, meanT, varT, reluAffine: thenReLU ? affineT : nil,
                                               epsilon: epsilon)
            }
            var result: [Tensor?] = [grads.input]
            if hasWeight { result.append(grads.weight) }
            if hasBias { result.append(grads.bias) }
            return TensorList(result)
        }
        return (output, meanT, varT)
    }
}

private func statisticsShape(_ x: Tensor) -> [Int] {
    var s = [Int](repeating: 1, count: x.rank)
    s[1] = x.shape[1]
    return s
}

/// The batch-norm backward written with tensor ops (differentiable again).
private func batchNormBackwardComposed(_ g: Tensor, _ x: Tensor, _ w: Tensor?, epsilon: Double)
    -> (input: Tensor, weight: Tensor, bias: Tensor) {
    let axes = [0] + Array(2..<x.rank)
    let mean = x.mean(axes: axes, keepDims: true)
    let centered = x - mean
    let invStd = 1 / ((centered * centered).mean(axes: axes, keepDims: true) + epsilon).sqrt()
    let xhat = centered * invStd
    let gamma = w?.reshaped(statisticsShape(x)) ?? Tensor.ones(statisticsShape(x), dtype: x.dtype)
    let dx = gamma * invStd * (g - g.mean(axes: axes, keepDims: true) - xhat * (g * xhat).mean(axes: axes, keepDims: true))
    return (dx, (g * xhat).sum(axes: axes), g.sum(axes: axes))
}

/// The batch-norm backward in two passes over memory per channel:
/// dβ = Σg, dγ = Σg·x̂, dx = γ/σ · (g − dβ/M − x̂·dγ/M).
/// With `reluAffine` (each channel's scale and shift, [2, C]) the output went through a
/// ReLU: g counts only where x·scale + shift > 0, decided element by element as it is read.
private func batchNormBackwardFused(_ g: Tensor, _ x: Tensor, _ w: Tensor?, _ mean: Tensor, _ variance: Tensor,
                                    reluAffine: Tensor?, epsilon: Double) -> (input: Tensor, weight: Tensor, bias: Tensor) {
    let c = x.shape[1], n = x.shape[0], s = x.count / (n * c)
    let dx = TensorStorage.make(count: x.count, dtype: x.dtype)
    let dw = TensorStorage.make(count: c, dtype: x.dtype), db = TensorStorage.make(count: c, dtype: x.dtype)
    func run<T: TensorScalar>(_: T.Type) {
        let px = x.storage.pointer(as: T.self), pg = g.storage.pointer(as: T.self), pdx = dx.pointer(as: T.self)
        let mu = mean.storage.pointer(as: T.self), v = variance.storage.pointer(as: T.self)
        let gamma = w?.storage.pointer(as: T.self)
        let pdw = dw.pointer(as: T.self), pdb = db.pointer(as: T.self)
        let ab = reluAffine?.storage.pointer(as: T.self)
        let m = Double(n * s)
        Threading.forChunks(c, grain: Swift.max(1, Threading.elementwiseGrain / Swift.max(n * s, 1))) { c0, c1 in
            for ch in c0..<c1 {
                let mean = mu[ch].doubleValue, invStd = 1 / (v[ch].doubleValue + epsilon).squareRoot()
                var sg = 0.0, sgx = 0.0
                for i in 0..<n {
                    let xr = px + (i * c + ch) * s, gr = pg + (i * c + ch) * s
                    if let ab {
                        let (rs, rd) = maskedRowSums(gr, xr, s, T(mean), scale: ab[ch], shift: ab[c + ch])
                        sg += rs
                        sgx += rd * invStd
                    } else {
                        sg += rowSum(gr, s)
                        sgx += rowDot(gr, xr, s, T(mean)) * invStd
                    }
                }
                pdb[ch] = T(sg)
                pdw[ch] = T(sgx)
                let k = T((gamma.map { $0[ch].doubleValue } ?? 1) * invStd)
                let a = T(sg / m), b = T(sgx / m), tmean = T(mean), tinv = T(invStd)
                for i in 0..<n {
                    let xr = px + (i * c + ch) * s, gr = pg + (i * c + ch) * s, dr = pdx + (i * c + ch) * s
                    if let ab {
                        maskedRowInputGradient(dr, gr, xr, s, k: k, a: a, b: b, mean: tmean, invStd: tinv,
                                               scale: ab[ch], shift: ab[c + ch])
                    } else {
                        for j in 0..<s { dr[j] = k * (gr[j] - a - (xr[j] - tmean) * tinv * b) }
                    }
                }
            }
        }
    }
    switch x.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    }
    return (Tensor(storage: dx, shape: x.shape), Tensor(storage: dw, shape: [c]), Tensor(storage: db, shape: [c]))
}

// Row helpers of the fused batch norm: generic, with SIMD loops for float32.

/// Σ row[j], as a Double.
@inline(__always)
private func rowSum<T: TensorScalar>(_ row: UnsafeMutablePointer<T>, _ n: Int) -> Double {
    if T.self == Float.self {
        return Double(contiguousSum(UnsafeMutableRawPointer(row).assumingMemoryBound(to: Float.self), n))
    }
    var total = 0.0
    for j in 0..<n { total += row[j].doubleValue }
    return total
}

/// Σ (row[j] − mean)², as a Double.
@inline(__always)
private func rowSquaredDeviation<T: TensorScalar>(_ row: UnsafeMutablePointer<T>, _ n: Int, _ mean: T) -> Double {
    if T.self == Float.self {
        let p = UnsafeRawPointer(row), m = SIMD8<Float>(repeating: mean as! Float)
        var acc = SIMD8<Float>(), j = 0
        while j + 8 <= n {
            let d = p.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) - m
            acc += d * d
            j += 8
        }
        var total = Double(acc.sum())
        let f = UnsafeRawPointer(row).assumingMemoryBound(to: Float.self)
        while j < n { let d = Double(f[j]) - Double(mean as! Float); total += d * d; j += 1 }
        return total
    }
    var total = 0.0
    for j in 0..<n { let d = row[j].doubleValue - mean.doubleValue; total += d * d }
    return total
}

/// Σ g[j]·(x[j] − mean), as a Double.
@inline(__always)
private func rowDot<T: TensorScalar>(_ g: UnsafeMutablePointer<T>, _ x: UnsafeMutablePointer<T>, _ n: Int, _ mean: T) -> Double {
    if T.self == Float.self {
        let pg = UnsafeRawPointer(g), px = UnsafeRawPointer(x), m = SIMD8<Float>(repeating: mean as! Float)
        var acc = SIMD8<Float>(), j = 0
        while j + 8 <= n {
            acc += pg.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
                * (px.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) - m)
            j += 8
        }
        var total = Double(acc.sum())
        let fg = UnsafeRawPointer(g).assumingMemoryBound(to: Float.self)
        let fx = UnsafeRawPointer(x).assumingMemoryBound(to: Float.self)
        while j < n { total += Double(fg[j]) * (Double(fx[j]) - Double(mean as! Float)); j += 1 }
        return total
    }
    var total = 0.0
    for j in 0..<n { total += g[j].doubleValue * (x[j].doubleValue - mean.doubleValue) }
    return total
}

/// (Σ g′[j], Σ g′[j]·(x[j] − mean)) as Doubles, where g′[j] = g[j] if x[j]·scale + shift > 0
/// and 0 otherwise: the gradient that came through the ReLU after a batch norm, with the
/// pre-ReLU value recomputed exactly as the forward pass computed it.
@inline(__always)
private func maskedRowSums<T: TensorScalar>(_ g: UnsafeMutablePointer<T>, _ x: UnsafeMutablePointer<T>, _ n: Int,
                                            _ mean: T, scale: T, shift: T) -> (Double, Double) {
    if T.self == Float.self {
        let pg = UnsafeRawPointer(g), px = UnsafeRawPointer(x)
        let m = SIMD8<Float>(repeating: mean as! Float)
        let sc = SIMD8<Float>(repeating: scale as! Float), sh = SIMD8<Float>(repeating: shift as! Float)
        var accG = SIMD8<Float>(), accD = SIMD8<Float>(), j = 0
        while j + 8 <= n {
            let xv = px.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
            let gv = SIMD8<Float>().replacing(with: pg.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self),
                                              where: xv * sc + sh .> 0)
            accG += gv
            accD += gv * (xv - m)
            j += 8
        }
        var sumG = Double(accG.sum()), sumD = Double(accD.sum())
        let fg = UnsafeRawPointer(g).assumingMemoryBound(to: Float.self)
        let fx = UnsafeRawPointer(x).assumingMemoryBound(to: Float.self)
        let fm = mean as! Float, fsc = scale as! Float, fsh = shift as! Float
        while j < n {
            if fx[j] * fsc + fsh > 0 {
                sumG += Double(fg[j])
                sumD += Double(fg[j]) * (Double(fx[j]) - Double(fm))
            }
            j += 1
        }
        return (sumG, sumD)
    }
    var sumG = 0.0, sumD = 0.0
    for j in 0..<n where x[j] * scale + shift > 0 {
        sumG += g[j].doubleValue
        sumD += g[j].doubleValue * (x[j].doubleValue - mean.doubleValue)
    }
    return (sumG, sumD)
}

/// dx[j] = k·(g′[j] − a − (x[j] − mean)·invStd·b), with g′ as in `maskedRowSums`: the
/// second pass of the batch-norm backward after a ReLU (SIMD lanes for float32, where the
/// compiler kept the scalar loop with its branch).
@inline(__always)
private func maskedRowInputGradient<T: TensorScalar>(_ dx: UnsafeMutablePointer<T>, _ g: UnsafeMutablePointer<T>,
                                                     _ x: UnsafeMutablePointer<T>, _ n: Int, k: T, a: T, b: T,
                                                     mean: T, invStd: T, scale: T, shift: T) {
    var j = 0
    if T.self == Float.self {
        let pg = UnsafeRawPointer(g), px = UnsafeRawPointer(x), pd = UnsafeMutableRawPointer(dx)
        let vk = SIMD8<Float>(repeating: k as! Float), va = SIMD8<Float>(repeating: a as! Float)
        let vb = SIMD8<Float>(repeating: b as! Float), vm = SIMD8<Float>(repeating: mean as! Float)
        let vi = SIMD8<Float>(repeating: invStd as! Float)
        let sc = SIMD8<Float>(repeating: scale as! Float), sh = SIMD8<Float>(repeating: shift as! Float)
        while j + 8 <= n {
            let xv = px.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
            let gv = SIMD8<Float>().replacing(with: pg.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self),
                                              where: xv * sc + sh .> 0)
            pd.storeBytes(of: vk * (gv - va - (xv - vm) * vi * vb), toByteOffset: j * 4, as: SIMD8<Float>.self)
            j += 8
        }
    }
    while j < n {
        let gj = x[j] * scale + shift > 0 ? g[j] : 0
        dx[j] = k * (gj - a - (x[j] - mean) * invStd * b)
        j += 1
    }
}
