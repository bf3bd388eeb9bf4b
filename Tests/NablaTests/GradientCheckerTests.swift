import Testing
@testable import Nabla

@Suite struct GradientCheckerTests {
    /// x³ with a deliberately wrong derivative (2x² instead of 3x²).
    func brokenCube(_ x: Tensor) -> Tensor {
        Tensor.customOp("brokenCube", inputs: [x], forward: { $0[0] * $0[0] * $0[0] },
                        backward: { g, xs, _ in [g * 2 * xs[0] * xs[0]] })
    }

    func cube(_ x: Tensor) -> Tensor {
        Tensor.customOp("cube", inputs: [x], forward: { $0[0] * $0[0] * $0[0] },
                        backward: { g, xs, _ in [g * 3 * xs[0] * xs[0]] })
    }

    @Test func reportsTheFailingElement() {
        let x = Tensor([[1.0, 2.0]])
        let r = checkGradients(at: [x]) { brokenCube($0[0]) }
        #expect(!r.passed)
        let first = try! #require(r.mismatches.first)
        #expect(first.input == 0)
        #expect(first.inputElement == [0, 0])
        #expect(abs(first.analytic - 2) < 1e-9)
        #expect(abs(first.numeric - 3) < 1e-4)
        #expect(r.description.contains("analytic 2.0"))
    }

    @Test func customOpJoinsTheGraphAndPassesBothOrders() {
        let x = randn([3], seed: 81)
        expectGradientsCorrect([x]) { cube($0[0]).sin2() }
        expectSecondOrderCorrect([x]) { cube($0[0]) }
        let t = Tensor([2] as [Float]).requiringGrad()
        (cube(t) + t).sum().backward()
        #expect(t.grad!.scalar == 13)
    }

    @Test func float32InputsAreCheckedInFloat64() {
        let x = Tensor([0.3, -1.2] as [Float])
        let r = checkGradients(at: [x]) { $0[0].tanh() }
        #expect(r.passed, "\(r)")
    }
}

extension Tensor {
    /// A composite used above: sin² via exp-free ops is not built in, so use tanh².
    fileprivate func sin2() -> Tensor { tanh().square() }
}
