/// One element where the reverse-mode gradient and the central difference disagree.
public struct GradientMismatch: Sendable, CustomStringConvertible {
    /// Which input (position in the list passed to the checker).
    public let input: Int
    /// The element of that input, one index per dimension.
    public let inputElement: [Int]
    /// The element of the output whose derivative was compared (flat index).
    public let outputElement: Int
    /// ∂output/∂input from the backward pass.
    public let analytic: Double
    /// The same derivative from central differences.
    public let numeric: Double

    /// |analytic − numeric|.
    public var absoluteError: Double { Swift.abs(analytic - numeric) }

    public var description: String {
        "input \(input) element \(describe(inputElement)), output element \(outputElement): analytic \(analytic), numeric \(numeric), error \(absoluteError)"
    }
}

/// The outcome of `checkGradients` or `checkSecondOrderGradients`.
public struct GradientCheckResult: Sendable, CustomStringConvertible {
    /// Every compared derivative satisfies |analytic − numeric| ≤ atol + rtol·|numeric|.
    public var passed: Bool { mismatches.isEmpty }
    /// The largest |analytic − numeric| over all compared derivatives.
    public var maxAbsoluteError: Double
    /// The largest |analytic − numeric| / |numeric| over the derivatives with |numeric| > atol.
    public var maxRelativeError: Double
    /// How many derivatives were compared.
    public var comparedCount: Int
    /// The derivatives that failed, in input order (at most the first 20 are kept).
    public var mismatches: [GradientMismatch]

    public var description: String {
        let head = "\(passed ? "passed" : "FAILED"): \(comparedCount) derivatives, max abs error \(maxAbsoluteError), max rel error \(maxRelativeError)"
        return ([head] + mismatches.map { "  " + $0.description }).joined(separator: "\n")
    }
}

/// Compares the reverse-mode gradients of `function` with central differences, element by
/// element, in float64 (inputs of any dtype are converted for the check), with the defaults
/// of PyTorch's `gradcheck`.
///
/// Every element of the full Jacobian is compared: the check is meant for small inputs.
/// A failure names the input, the element, both values and the error.
///
/// ```swift
/// let result = checkGradients(at: [Tensor.randomNormal([3, 4], dtype: .float64, seed: 1)]) { x in
///     (x[0] * x[0]).sigmoid()
/// }
/// assert(result.passed, result.description)
/// ```
public func checkGradients(at inputs: [Tensor], eps: Double = 1e-6, atol: Double = 1e-5,
                           rtol: Double = 1e-3,
                           _ function: ([Tensor]) -> Tensor) -> GradientCheckResult {
    let leaves = inputs.map { $0.detached().cast(to: .float64).requiringGrad() }
    let output = withGradients { function(leaves) }
    guard output.dtype == .float64 else {
        opFailure("checkGradients", "the function returned \(output.dtype); build every constant inside it with the inputs' dtype (float64 during the check)")
    }
    // Analytic Jacobian: one backward pass per output element.
    var analytic = leaves.map { [Double](repeating: 0, count: $0.count * output.count) }
    if output.node != nil {
        for j in 0..<output.count {
            var seed = Tensor.zeros(output.shape, dtype: .float64)
            seed.withUnsafeMutableBufferPointer(as: Double.self) { $0[j] = 1 }
            let grads = gradients(of: output, withRespectTo: leaves, seed: seed, retainGraph: true)
            for (i, g) in grads.enumerated() {
                let values = g.scalars(as: Double.self)
                for e in 0..<values.count { analytic[i][e * output.count + j] = values[e] }
            }
        }
    }
    // Numeric Jacobian: central differences, one input element at a time.
    var result = GradientCheckResult(maxAbsoluteError: 0, maxRelativeError: 0, comparedCount: 0, mismatches: [])
    for (i, leaf) in leaves.enumerated() {
        for e in 0..<leaf.count {
            let plus = evaluate(function, leaves, input: i, element: e, delta: eps)
            let minus = evaluate(function, leaves, input: i, element: e, delta: -eps)
            for j in 0..<output.count {
                let numeric = (plus[j] - minus[j]) / (2 * eps)
                let a = analytic[i][e * output.count + j]
                let err = Swift.abs(a - numeric)
                result.comparedCount += 1
                result.maxAbsoluteError = Swift.max(result.maxAbsoluteError, err.isNaN ? .infinity : err)
                // Relative error only means something where the derivative is not ~0.
                if Swift.abs(numeric) > atol {
                    result.maxRelativeError = Swift.max(result.maxRelativeError, err / Swift.abs(numeric))
                }
                if !(err <= atol + rtol * Swift.abs(numeric)) && result.mismatches.count < 20 {
                    result.mismatches.append(GradientMismatch(
                        input: i, inputElement: multiIndex(e, leaf.shape), outputElement: j,
                        analytic: a, numeric: numeric))
                }
            }
        }
    }
    return result
}

/// Checks second derivatives: for each input, the gradient of ⟨output, v⟩ (v random but
/// fixed) with respect to that input is computed with `createGraph` and is itself checked
/// against central differences, as PyTorch's `gradgradcheck` does.
public func checkSecondOrderGradients(at inputs: [Tensor], eps: Double = 1e-6, atol: Double = 1e-5,
                                      rtol: Double = 1e-3,
                                      _ function: @escaping ([Tensor]) -> Tensor) -> GradientCheckResult {
    let probeOutput = withGradients {
        function(inputs.map { $0.detached().cast(to: .float64).requiringGrad() })
    }
    let v = Tensor.randomNormal(probeOutput.shape, dtype: .float64, seed: 0x9AD)
    var combined = GradientCheckResult(maxAbsoluteError: 0, maxRelativeError: 0, comparedCount: 0, mismatches: [])
    for k in inputs.indices {
        let r = checkGradients(at: inputs, eps: eps, atol: atol, rtol: rtol) { xs in
            let y = function(xs)
            return gradients(of: (y * v).sum(), withRespectTo: [xs[k]], createGraph: true)[0]
        }
        combined.comparedCount += r.comparedCount
        combined.maxAbsoluteError = Swift.max(combined.maxAbsoluteError, r.maxAbsoluteError)
        combined.maxRelativeError = Swift.max(combined.maxRelativeError, r.maxRelativeError)
        combined.mismatches += r.mismatches.prefix(20 - combined.mismatches.count)
    }
    return combined
}

private func evaluate(_ function: ([Tensor]) -> Tensor, _ leaves: [Tensor], input: Int, element: Int,
                      delta: Double) -> [Double] {
    // The inputs stay differentiable: a function that itself takes gradients (the
    // second-order check) needs them even while it is being perturbed.
    var shifted = leaves.map { $0.detached() }
    shifted[input].withUnsafeMutableBufferPointer(as: Double.self) { $0[element] += delta }
    return withGradients { function(shifted.map { $0.requiringGrad() }) }.scalars(as: Double.self)
}

private func multiIndex(_ flat: Int, _ shape: [Int]) -> [Int] {
    var rem = flat
    var index = [Int](repeating: 0, count: shape.count)
    for d in stride(from: shape.count - 1, through: 0, by: -1) {
        index[d] = rem % shape[d]
        rem /= shape[d]
    }
    return index
}
