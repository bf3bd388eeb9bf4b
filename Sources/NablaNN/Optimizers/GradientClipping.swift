import Nabla

/// Scales the gradients of `parameters` down so that their global norm is at most `maxNorm`,
/// as PyTorch's `clip_grad_norm_`: the norm is taken over all gradients together (as if they
/// were one vector), and every gradient is multiplied by `maxNorm / (norm + 1e-6)` when that
/// is below 1. Parameters without a gradient are ignored.
///
/// - Parameter normType: the p of the p-norm (2 by default; `.infinity` for the largest |g|).
/// - Returns: the total norm before clipping (useful to log; `.nan`/`.infinity` when a
///   gradient has one, in which case the gradients are scaled by a non-finite factor exactly
///   as PyTorch does without `error_if_nonfinite`).
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maxNorm: Double, normType: Double = 2) -> Double {
    guard maxNorm >= 0 else { optimizerFailure("clipGradientNorm", "maxNorm must be ≥ 0, got \(maxNorm)") }
    guard normType > 0 else { optimizerFailure("clipGradientNorm", "normType must be > 0, got \(normType)") }
    let grads = parameters.compactMap(\.grad)
    guard !grads.isEmpty else { return 0 }
    var total = 0.0
    for g in grads {
        switch g.dtype {
        case .float32: total = accumulate(g, Float.self, normType, total)
        case .float64: total = accumulate(g, Double.self, normType, total)
        }
    }
    if normType != .infinity && normType != 2 { total = Double.pow(total, 1 / normType) }
    if normType == 2 { total = total.squareRoot() }
    let coefficient = maxNorm / (total + 1e-6)
    if coefficient < 1 || coefficient.isNaN { scaleGradients(parameters, by: coefficient) }
    return total
}

/// Adds |g|^p (or takes the maximum |g| for p = ∞) over `g` into `total`, in double precision.
/// One loop per norm type, and four partial sums for p = 2 so the additions do not wait on
/// each other (clipping runs every step).
private func accumulate<T: TensorScalar>(_ g: Tensor, _: T.Type, _ p: Double, _ total: Double) -> Double {
    g.withUnsafeBufferPointer(as: T.self) { g in
        let n = g.count
        if p == 2 {
            var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
            var j = 0
            while j + 4 <= n {
                let a = g[j].doubleValue, b = g[j + 1].doubleValue, c = g[j + 2].doubleValue, d = g[j + 3].doubleValue
                s0 += a * a; s1 += b * b; s2 += c * c; s3 += d * d
                j += 4
            }
            while j < n { let a = g[j].doubleValue; s0 += a * a; j += 1 }
            return total + ((s0 + s1) + (s2 + s3))
        }
        var total = total
        if p == .infinity {
            for x in g {
                let a = abs(x.doubleValue)
                total = a.isNaN || total.isNaN ? .nan : max(total, a)
            }
        } else if p == 1 {
            for x in g { total += abs(x.doubleValue) }
        } else {
            for x in g { total += Double.pow(abs(x.doubleValue), p) }
        }
        return total
    }
}

/// Multiplies every gradient by `factor`, replacing each gradient tensor.
private func scaleGradients(_ parameters: [Parameter], by factor: Double) {
    withoutGradients {
        for p in parameters {
            guard let g = p.grad else { continue }
            p.value.grad = g * factor
        }
    }
}

/// Clamps every gradient element of `parameters` to [−maxValue, maxValue], as PyTorch's
/// `clip_grad_value_`. NaN elements stay NaN.
public func clipGradientValue(_ parameters: [Parameter], maxValue: Double) {
    guard maxValue >= 0 else { optimizerFailure("clipGradientValue", "maxValue must be ≥ 0, got \(maxValue)") }
    withoutGradients {
        for p in parameters {
            guard var g = p.grad else { continue }
            switch g.dtype {
            case .float32: clampInPlace(&g, Float(maxValue))
            case .float64: clampInPlace(&g, maxValue)
            }
            p.value.grad = g
        }
    }
}

private func clampInPlace<T: TensorScalar>(_ g: inout Tensor, _ limit: T) {
    g.withUnsafeMutableBufferPointer(as: T.self) { g in
        for j in 0..<g.count where g[j] > limit || g[j] < -limit {
            g[j] = g[j] > limit ? limit : -limit
        }
    }
}
