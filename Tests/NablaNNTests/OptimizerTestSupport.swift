import Testing
import Nabla
@testable import NablaNN

// Helpers for the optimizer, schedule and checkpoint tests. Names start with `opt` so they
// cannot clash with helpers other test files of this target define.

/// Asserts `actual` holds `expected` elementwise within atol + rtol·|expected|.
func optExpectClose(_ actual: [Double], _ expected: [Double], atol: Double = 1e-6, rtol: Double = 0,
                    _ label: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(label): \(actual.count) values, expected \(expected.count)",
            sourceLocation: sourceLocation)
    for (i, (a, e)) in zip(actual, expected).enumerated() where !(abs(a - e) <= atol + rtol * abs(e)) {
        Issue.record("\(label): element \(i) is \(a), expected \(e) (difference \(a - e))\nactual:   \(actual)\nexpected: \(expected)",
                     sourceLocation: sourceLocation)
        return
    }
}

/// The bit patterns of a tensor's elements, for exact comparisons (NaN payloads included).
func optBits(_ t: Tensor) -> [UInt64] {
    switch t.dtype {
    case .float32: t.scalars(as: Float.self).map { UInt64($0.bitPattern) }
    case .float64: t.scalars(as: Double.self).map(\.bitPattern)
    }
}

/// A dense layer written for these tests only (the real layers live in another file):
/// `weight` is [out, in] as in PyTorch, `bias` is [out].
final class OptTestDense: Module {
    let weight: Parameter
    let bias: Parameter
    init(_ inputs: Int, _ outputs: Int, seed: UInt64, dtype: DType = .float32) {
        weight = Parameter(Tensor.randomNormal([outputs, inputs], std: 0.5, dtype: dtype, seed: seed))
        bias = Parameter(Tensor.randomNormal([outputs], std: 0.1, dtype: dtype, seed: seed + 1000))
    }
    func callAsFunction(_ x: Tensor) -> Tensor { x.matmul(weight.value.transposed()) + bias.value }
}

/// Two dense layers: names `fc1.weight` [3, 2], `fc1.bias` [3], `fc2.weight` [1, 3],
/// `fc2.bias` [1], matching Fixtures/make_fixture.py.
final class OptTestNet: Module {
    let fc1: OptTestDense
    let fc2: OptTestDense
    init(seed: UInt64 = 1, dtype: DType = .float32) {
        fc1 = OptTestDense(2, 3, seed: seed, dtype: dtype)
        fc2 = OptTestDense(3, 1, seed: seed + 1, dtype: dtype)
    }
    func callAsFunction(_ x: Tensor) -> Tensor { fc2(fc1(x).tanh()) }
}

/// A module with a parameter, an array of sub-modules and a buffer (like BatchNorm's
/// running statistics), to exercise nested names.
final class OptTestNested: Module {
    let scale = Parameter(Tensor(shape: [2], scalars: [Float(1.5), -0.5]))
    let blocks = [OptTestDense(2, 2, seed: 7), OptTestDense(2, 2, seed: 8)]
    let running = Buffer(Tensor(shape: [2], scalars: [Float(0.25), 0.75]))
    func callAsFunction(_ x: Tensor) -> Tensor { blocks[1](blocks[0](x * scale.value)) }
}

/// The mean squared error of `model` on a fixed tiny batch, for training steps in tests.
func optTestLoss(_ model: any Module, dtype: DType = .float32) -> Tensor {
    let x = Tensor(shape: [4, 2], scalars: [0.5, -1, 1, 2, -0.5, 0.25, 2, -1.5], dtype: dtype)
    let y = Tensor(shape: [4, 1], scalars: [1, -1, 0.5, 0], dtype: dtype)
    let diff = model(x) - y
    return (diff * diff).mean()
}

/// One training step: zero the gradients, backward, step.
func optTrainStep(_ model: any Module, _ optimizer: any Optimizer, dtype: DType = .float32) {
    optimizer.zeroGrad()
    optTestLoss(model, dtype: dtype).backward()
    optimizer.step()
}
