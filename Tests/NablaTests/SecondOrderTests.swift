import Foundation
import Testing
@testable import Nabla

@Suite struct SecondOrderTests {
    let x = randn([2, 3], seed: 71)
    let y = randn([2, 3], seed: 72)

    @Test func elementwise() {
        expectSecondOrderCorrect([x]) { $0[0].sigmoid() }
        expectSecondOrderCorrect([x]) { $0[0].tanh() }
        expectSecondOrderCorrect([x]) { $0[0].exp() }
        expectSecondOrderCorrect([x, y]) { $0[0] * $0[1] }
        expectSecondOrderCorrect([x, y]) { $0[0] / ($0[1] * $0[1] + 1) }
        expectSecondOrderCorrect([x]) { $0[0].softplus() }
        expectSecondOrderCorrect([x]) { $0[0].gelu() }
    }

    @Test func matmulAndSoftmax() {
        let w = randn([3, 4], seed: 73)
        expectSecondOrderCorrect([x, w]) { $0[0].matmul($0[1]).tanh() }
        expectSecondOrderCorrect([x]) { $0[0].softmax(axis: 1) }
        expectSecondOrderCorrect([x]) { $0[0].logSoftmax(axis: 1) }
        expectSecondOrderCorrect([x]) { $0[0].logSumExp(axes: [1]) }
        expectSecondOrderCorrect([x]) { $0[0].variance(axes: [1]) }
    }
}

@Suite struct SecondDerivativeValues {
    @Test func sigmoidAndTanhMatchClosedForms() {
        let x = Tensor([1.0, -0.5]).requiringGrad()
        let d1 = gradients(of: x.sigmoid().sum(), withRespectTo: [x], createGraph: true)[0]
        let d2 = gradients(of: d1.sum(), withRespectTo: [x])[0].scalars(as: Double.self)
        for (i, v) in [1.0, -0.5].enumerated() {
            let s = 1 / (1 + Foundation.exp(-v))
            #expect(abs(d2[i] - s * (1 - s) * (1 - 2 * s)) < 1e-12)
        }
        let t1 = gradients(of: x.tanh().sum(), withRespectTo: [x], createGraph: true)[0]
        let t2 = gradients(of: t1.sum(), withRespectTo: [x])[0].scalars(as: Double.self)
        for (i, v) in [1.0, -0.5].enumerated() {
            let t = Foundation.tanh(v)
            #expect(abs(t2[i] - (-2 * t * (1 - t * t))) < 1e-12)
        }
    }
}
