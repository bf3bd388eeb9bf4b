import Testing
@testable import Nabla

@Suite struct AutodiffTests {
    @Test func fanOutSumsGradients() {
        // micrograd's reuse cases: exact gradients where a value feeds several consumers.
        let a = Tensor(3).requiringGrad()
        let b = a + a
        let c = b + b
        c.backward()
        #expect(a.grad!.scalar == 4)

        let x = Tensor(3).requiringGrad()
        let y = x * x + x
        y.backward()
        #expect(x.grad!.scalar == 7)          // 2x + 1

        let v = Tensor(2).requiringGrad()
        let branches = v * 3 + v.square() + v.exp()
        branches.backward()
        #expect(abs(Double(v.grad!.scalar) - (3 + 4 + 7.38905609893065)) < 1e-5)
    }

    @Test func opsWithMoreThanTwoInputsReachEveryInput() {
        // Nodes hold two inputs inline and the rest in an array: the third and fourth
        // inputs of a concat must get their gradients too, and a constant among them none.
        let parts = (0..<4).map { Tensor([Float($0), Float($0) + 0.5]).requiringGrad() }
        let constant = Tensor([9, 9] as [Float])
        let joined = Tensor.concat([parts[0], parts[1], constant, parts[2], parts[3]], axis: 0)
        let weights = Tensor((1...10).map { Float($0) })
        (joined * weights).sum().backward()
        expectClose(parts[0].grad!, [1, 2])
        expectClose(parts[1].grad!, [3, 4])
        expectClose(parts[2].grad!, [7, 8])
        expectClose(parts[3].grad!, [9, 10])

        let list: TensorList = [parts[0], nil, parts[2]]
        #expect(list.count == 3 && list[1] == nil && list.anyRequiresGradient)
        var moved = list
        #expect(moved.take(2)?.sharesStorage(with: parts[2]) == true && moved[2] == nil)
        #expect(list[2] != nil)                    // a copy's take leaves the original alone
        #expect(!TensorList([constant]).anyRequiresGradient)
    }

    @Test func gradientsAccumulateAcrossBackwardCalls() {
        let w = Tensor([1, 2, 3] as [Float]).requiringGrad()
        (w * w).sum().backward()
        expectClose(w.grad!, [2, 4, 6])
        (w * w).sum().backward()
        expectClose(w.grad!, [4, 8, 12])       // added, not replaced
        w.zeroGrad()
        #expect(w.grad == nil)
        (w * 5).sum().backward()
        expectClose(w.grad!, [5, 5, 5])
    }

    @Test func functionalGradientsLeaveGradUntouched() {
        let x = Tensor([1, 2] as [Float]).requiringGrad()
        let g = gradients(of: (x * x * x).sum(), withRespectTo: [x])[0]
        expectClose(g, [3, 12])
        #expect(x.grad == nil)
    }

    @Test func unusedInputGetsZeroGradient() {
        let x = Tensor([1, 2] as [Float]).requiringGrad()
        let z = Tensor([5] as [Float]).requiringGrad()
        let g = gradients(of: x.sum(), withRespectTo: [x, z])
        expectClose(g[1], [0])
    }

    @Test func deepChainDoesNotOverflowTheStack() {
        let x = Tensor(1).requiringGrad()
        var y = x
        for _ in 0..<100_000 { y = y + 1e-5 }
        y.backward()
        #expect(x.grad!.scalar == 1)
        #expect(abs(y.scalar - 2) < 1e-2)
    }

    @Test func noGradientModeRecordsNothing() {
        let x = Tensor([1, 2] as [Float]).requiringGrad()
        let y = withoutGradients { x * 2 }
        #expect(!y.requiresGrad)
        #expect((x * 2).requiresGrad)
        #expect(!(x.detached() * 2).requiresGrad)
    }

    @Test func secondDerivativesThroughCreateGraph() {
        let x = Tensor([1.0, 2.0]).requiringGrad()
        let dx = gradients(of: (x * x * x).sum(), withRespectTo: [x], createGraph: true)[0]
        expectClose(dx, [3, 12])
        let d2x = gradients(of: dx.sum(), withRespectTo: [x])[0]
        expectClose(d2x, [6, 12])
    }

    @Test func retainGraphAllowsASecondPass() {
        let x = Tensor(2).requiringGrad()
        let y = x.sigmoid() * x
        y.backward(retainGraph: true)
        let first = x.grad!.scalar
        y.backward()
        #expect(abs(x.grad!.scalar - 2 * first) < 1e-6)
    }

    @Test func explicitUpstreamGradient() {
        let x = Tensor([1, 2, 3] as [Float]).requiringGrad()
        let y = x * 2
        y.backward(Tensor([1, 0, -1] as [Float]))
        expectClose(x.grad!, [2, 0, -2])
    }
}
