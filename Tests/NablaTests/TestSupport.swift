import Synchronization
import Testing
@testable import Nabla

/// Asserts that two tensors have the same shape and close values
/// (|a − b| ≤ atol + rtol·|b| elementwise); on failure prints both tensors.
func expectClose(_ actual: Tensor, _ expected: Tensor, rtol: Double = 1e-5, atol: Double = 1e-6,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.shape == expected.shape, "shapes differ: \(actual.shape) vs \(expected.shape)",
            sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    let a = actual.scalars(as: Double.self), b = expected.scalars(as: Double.self)
    let bad = zip(a, b).enumerated().first { _, p in
        !(abs(p.0 - p.1) <= atol + rtol * abs(p.1)) && !(p.0.isNaN && p.1.isNaN) && p.0 != p.1
    }
    #expect(bad == nil, "element \(bad?.offset ?? -1) differs: \(bad?.element.0 ?? 0) vs \(bad?.element.1 ?? 0)\nactual:   \(actual)\nexpected: \(expected)",
            sourceLocation: sourceLocation)
}

/// Asserts close to a flat list of values (shape checked separately when given).
func expectClose(_ actual: Tensor, _ expected: [Double], shape: [Int]? = nil, rtol: Double = 1e-5,
                 atol: Double = 1e-6, sourceLocation: SourceLocation = #_sourceLocation) {
    expectClose(actual, Tensor(shape: shape ?? actual.shape, scalars: expected, dtype: actual.dtype),
                rtol: rtol, atol: atol, sourceLocation: sourceLocation)
}

/// Runs the gradient checker and records its report on failure.
func expectGradientsCorrect(_ inputs: [Tensor], atol: Double = 1e-5, rtol: Double = 1e-3,
                            sourceLocation: SourceLocation = #_sourceLocation,
                            _ f: @escaping ([Tensor]) -> Tensor) {
    let r = checkGradients(at: inputs, atol: atol, rtol: rtol, f)
    #expect(r.passed, "\(r)", sourceLocation: sourceLocation)
    #expect(r.comparedCount > 0, sourceLocation: sourceLocation)
}

/// Runs the second-order checker and records its report on failure.
func expectSecondOrderCorrect(_ inputs: [Tensor], sourceLocation: SourceLocation = #_sourceLocation,
                              _ f: @escaping ([Tensor]) -> Tensor) {
    let r = checkSecondOrderGradients(at: inputs, f)
    #expect(r.passed, "\(r)", sourceLocation: sourceLocation)
    #expect(r.comparedCount > 0, sourceLocation: sourceLocation)
}

/// A float64 tensor of normal samples (the usual input of gradient checks).
func randn(_ shape: [Int], seed: UInt64, mean: Double = 0, std: Double = 1) -> Tensor {
    Tensor.randomNormal(shape, mean: mean, std: std, dtype: .float64, seed: seed)
}

/// A value shared between threads behind a lock (a class, so closures can capture it).
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func update<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
    var value: Value { mutex.withLock { $0 } }
}
