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
