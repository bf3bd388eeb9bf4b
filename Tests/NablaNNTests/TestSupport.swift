import Testing
import Nabla
import NablaNN

/// Asserts that two tensors have the same shape and close values
/// (|a − b| ≤ atol + rtol·|b| elementwise); on failure prints both tensors.
func expectClose(_ actual: Tensor, _ expected: Tensor, rtol: Double = 1e-5, atol: Double = 1e-6,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.shape == expected.shape, "shapes differ: \(actual.shape) vs \(expected.shape)",
            sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    let a = actual.scalars(as: Double.self), b = expected.scalars(as: Double.self)
    let bad = zip(a, b).enumerated().first { _, p in
        !(abs(p.0 - p.1) <= atol + rtol * abs(p.1)) && p.0 != p.1
    }
    #expect(bad == nil, "element \(bad?.offset ?? -1) differs: \(bad?.element.0 ?? 0) vs \(bad?.element.1 ?? 0)\nactual:   \(actual)\nexpected: \(expected)",
            sourceLocation: sourceLocation)
}

/// Asserts close to a flat list of values, with the shape checked when given.
func expectClose(_ actual: Tensor, _ expected: [Double], shape: [Int]? = nil, rtol: Double = 1e-5,
                 atol: Double = 1e-6, sourceLocation: SourceLocation = #_sourceLocation) {
    expectClose(actual, Tensor(shape: shape ?? actual.shape, scalars: expected, dtype: actual.dtype),
                rtol: rtol, atol: atol, sourceLocation: sourceLocation)
}

/// A float64 tensor of normal samples (the usual input of gradient checks).
func randn(_ shape: [Int], seed: UInt64, mean: Double = 0, std: Double = 1) -> Tensor {
    Tensor.randomNormal(shape, mean: mean, std: std, dtype: .float64, seed: seed)
}

/// Checks a whole layer's gradients numerically in float64: with respect to its input (when
/// `differentiateInput`) and every parameter. The module is cast to float64 first; `prepare`
/// runs before every evaluation (for example to replay a dropout mask).
func expectModuleGradientsCorrect(_ module: any Module, input: Tensor, differentiateInput: Bool = true,
                                  prepare: (() -> Void)? = nil,
                                  sourceLocation: SourceLocation = #_sourceLocation) {
    module.cast(to: .float64)
    let parameters = module.parameters()
    let originals = parameters.map(\.value)
    let x = input.cast(to: .float64)
    let offset = differentiateInput ? 1 : 0
    let result = checkGradients(at: (differentiateInput ? [x] : []) + originals) { xs in
        for (p, v) in zip(parameters, xs.dropFirst(offset)) { p.value = v }
        prepare?()
        return module(differentiateInput ? xs[0] : x)
    }
    for (p, v) in zip(parameters, originals) { p.value = v }
    #expect(result.passed, "\(result)", sourceLocation: sourceLocation)
    #expect(result.comparedCount > 0, sourceLocation: sourceLocation)
}

/// The values of a tensor, as Double.
func values(_ t: Tensor) -> [Double] { t.scalars(as: Double.self) }

/// A float32 vector (literals alone would pick the float64 initializer).
func t32(_ scalars: [Float]) -> Tensor { Tensor(scalars) }

/// A float32 matrix.
func t32(_ rows: [[Float]]) -> Tensor { Tensor(rows) }
