import Testing
@testable import Nabla

/// A linear layer's weight gradient is handed to its leaf as the two factors of gᵀ·x and
/// formed only when read; plain gradient descent adds the product to the weights directly.
/// Whatever path it takes, every value must have the bits of the gradient formed at once.
@Suite struct DeferredGradientTests {
    /// Same shape, dtype and bits.
    func expectSameBits(_ a: Tensor, _ b: Tensor, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.shape == b.shape && a.dtype == b.dtype, "\(what): \(a.dtype) \(a.shape) against \(b.dtype) \(b.shape)",
                sourceLocation: sourceLocation)
        let x = a.scalars(as: Double.self), y = b.scalars(as: Double.self)
        #expect(x.count == y.count && zip(x, y).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(what): values differ",
                sourceLocation: sourceLocation)
    }

    func f32(_ shape: [Int], seed: UInt64) -> Tensor { Tensor.randomNormal(shape, dtype: .float32, seed: seed) }

    @Test func linearWeightGradientIsDeferredAndFormsToTheSameBits() {
        for dtype in [DType.float32, .float64] {
            for (rows, inputs, outputs) in [(10, 784, 30), (10, 30, 10), (1, 7, 3), (300, 20, 5)] {
                let x = Tensor.randomNormal([rows, inputs], dtype: dtype, seed: 1)
                let w = Tensor.randomNormal([outputs, inputs], dtype: dtype, seed: 2).requiringGrad()
                let b = Tensor.randomNormal([outputs], dtype: dtype, seed: 3).requiringGrad()
                let loss = Tensor.linear(x, weight: w, bias: b).sigmoid().square().sum()
                // gradients(of:) returns gradients, so it never defers: the reference.
                let want = gradients(of: loss, withRespectTo: [w, b], retainGraph: true)
                loss.backward()
                let at = "\(dtype) \(rows)x\(inputs)x\(outputs)"
                #expect(w.node!.deferredGrad != nil, "\(at): the weight's gradient is held as a product")
                #expect(b.node!.deferredGrad == nil, "\(at): the bias's gradient is a sum, formed as usual")
                expectSameBits(w.grad!, want[0], "\(at) weight")
                #expect(w.node!.deferredGrad == nil, "\(at): reading grad forms it once")
                expectSameBits(w.grad!, want[0], "\(at) weight read again")
                expectSameBits(b.grad!, want[1], "\(at) bias")
            }
        }
    }

    /// matmul hands over either operand's gradient when that operand is a leaf, for every
    /// transpose case; a batched product's gradients are formed as before.
    @Test func matmulGradientsAreDeferredForLeavesOfAnyTranspose() {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = f32(ta ? [7, 4] : [4, 7], seed: 30).requiringGrad()
            let b = f32(tb ? [5, 7] : [7, 5], seed: 31).requiringGrad()
            let loss = Tensor.matmul(a, b, transposeA: ta, transposeB: tb).tanh().sum()
            let want = gradients(of: loss, withRespectTo: [a, b], retainGraph: true)
            loss.backward()
            #expect(a.node!.deferredGrad != nil && b.node!.deferredGrad != nil, "tA \(ta) tB \(tb)")
            expectSameBits(a.grad!, want[0], "tA \(ta) tB \(tb): left operand")
            expectSameBits(b.grad!, want[1], "tA \(ta) tB \(tb): right operand")
        }
        let batched = f32([3, 4, 7], seed: 32).requiringGrad(), w = f32([7, 5], seed: 33).requiringGrad()
        let loss = Tensor.matmul(batched, w, transposeA: false, transposeB: false).sum()
        let want = gradients(of: loss, withRespectTo: [batched, w], retainGraph: true)
        loss.backward()
        #expect(batched.node!.deferredGrad == nil && w.node!.deferredGrad == nil)
        expectSameBits(batched.grad!, want[0], "batched left operand")
        expectSameBits(w.grad!, want[1], "matrix right operand of a batch")
    }

    /// A weight used by several ops gets the sum of their gradients added in the order the
    /// engine meets them, deferred or not: the first (deferred) one is formed before the
    /// second is added to it.
    @Test func sharedWeightSumsInTheSameOrder() {
        let x1 = f32([4, 6], seed: 4), x2 = f32([4, 6], seed: 5), x3 = f32([2, 6], seed: 6)
        let w = f32([3, 6], seed: 7).requiringGrad()
        func loss() -> Tensor {
            let a = Tensor.linear(x1, weight: w, bias: nil).tanh().sum()
            let b = Tensor.linear(x2, weight: w, bias: nil).sigmoid().sum()
            let c = Tensor.linear(x3, weight: w, bias: nil).square().sum()
            return a + b * 0.5 + c + (w * w).sum() * 0.25
        }
        let want = gradients(of: loss(), withRespectTo: [w])[0]
        loss().backward()
        #expect(w.node!.deferredGrad == nil, "a gradient summed from several ops is formed")
        expectSameBits(w.grad!, want, "shared weight")
    }

    /// Gradients add up over backward calls: a deferred one is formed before the next is added.
    @Test func accumulationOverTwoPassesFormsTheFirst() {
        let x = f32([5, 8], seed: 8), y = f32([5, 8], seed: 9)
        let w = f32([4, 8], seed: 10).requiringGrad()
        let first = Tensor.linear(x, weight: w, bias: nil).sigmoid().sum()
        let second = Tensor.linear(y, weight: w, bias: nil).tanh().sum()
        let g1 = gradients(of: first, withRespectTo: [w], retainGraph: true)[0]
        let g2 = gradients(of: second, withRespectTo: [w], retainGraph: true)[0]
        first.backward()
        #expect(w.node!.deferredGrad != nil)
        second.backward()
        expectSameBits(w.grad!, g1 + g2, "two passes")
    }

    /// With createGraph the gradient must carry a graph, so nothing is deferred.
    @Test func createGraphFormsTheGradient() {
        let x = f32([3, 4], seed: 11)
        let w = f32([2, 4], seed: 12).requiringGrad()
        Tensor.linear(x, weight: w, bias: nil).square().sum().backward(createGraph: true)
        #expect(w.node!.deferredGrad == nil)
        #expect(w.grad!.requiresGrad, "the gradient is differentiable")
        // d/dw of sum(grad²) is finite and has w's shape.
        (w.grad! * w.grad!).sum().backward()
        #expect(w.grad!.shape == [2, 4])
    }

    @Test func zeroGradAndAssignmentDropTheProduct() {
        let x = f32([3, 4], seed: 13)
        let w = f32([2, 4], seed: 14).requiringGrad()
        Tensor.linear(x, weight: w, bias: nil).sum().backward()
        #expect(w.node!.deferredGrad != nil)
        w.zeroGrad()
        #expect(w.node!.deferredGrad == nil && w.grad == nil)
        var v = w
        let descended = v.descendGradient(rate: 1)
        #expect(!descended, "no gradient: nothing to descend")
        expectSameBits(v, w, "unchanged without a gradient")

        Tensor.linear(x, weight: w, bias: nil).sum().backward()
        w.grad = Tensor.ones([2, 4], dtype: .float32)
        #expect(w.node!.deferredGrad == nil)
        expectSameBits(w.grad!, Tensor.ones([2, 4], dtype: .float32), "assigned gradient")
    }

    /// descendGradient gives w − rate·g with g formed or not, leaves the gradient readable,
    /// and leaves copies of the old values alone.
    @Test func descendGradientMatchesTheFormedUpdate() {
        for dtype in [DType.float32, .float64] {
            for (rows, rate) in [(10, 3.0), (300, 0.1), (4, 0.0)] {
                let x = Tensor.randomNormal([rows, 12], dtype: dtype, seed: 15)
                var direct = Tensor.randomNormal([5, 12], dtype: dtype, seed: 16).requiringGrad()
                var formed = direct.detached().requiringGrad()
                let before = direct.detached()
                Tensor.linear(x, weight: direct, bias: nil).sigmoid().sum().backward()
                Tensor.linear(x, weight: formed, bias: nil).sigmoid().sum().backward()
                let g = formed.grad!  // forms it
                #expect(direct.node!.deferredGrad != nil && formed.node!.deferredGrad == nil)
                let stepped = (direct.descendGradient(rate: rate), formed.descendGradient(rate: rate))
                #expect(stepped == (true, true))
                let at = "\(dtype) rows \(rows) rate \(rate)"
                expectSameBits(direct, formed, "\(at): values")
                let want: [Double] = zip(before.scalars(as: Double.self), g.scalars(as: Double.self)).map { w, g in
                    dtype == .float32 ? Double(Float(w) - Float(rate) * Float(g)) : w - rate * g
                }
                #expect(direct.scalars(as: Double.self) == want, "\(at): w − rate·g")
                expectSameBits(direct.grad!, g, "\(at): gradient after the step")
                #expect(before.scalars(as: Double.self) != direct.scalars(as: Double.self) || rate == 0)
            }
        }
    }

    /// The factors are the values at backward time: updating the input the gradient was
    /// computed from (here another leaf, stepped first) does not change the product.
    @Test func factorsKeepTheirValuesWhenTheirSourceIsUpdated() {
        var x = f32([6, 5], seed: 17).requiringGrad()
        var w = f32([3, 5], seed: 18).requiringGrad()
        var w2 = w.detached().requiringGrad()
        let x0 = x.detached()
        Tensor.linear(x, weight: w, bias: nil).tanh().sum().backward()
        Tensor.linear(x0, weight: w2, bias: nil).tanh().sum().backward()
        x.descendGradient(rate: 0.5)  // x's own gradient was formed (it is the input)
        #expect(x.scalars(as: Double.self) != x0.scalars(as: Double.self))
        w.descendGradient(rate: 0.5)
        w2.descendGradient(rate: 0.5)
        expectSameBits(w, w2, "weight stepped after its input changed")
    }

    /// The factors are held as values, without their graphs, so the step's graph is freed
    /// as usual.
    @Test func factorsHoldNoGraphNodes() {
        let x = f32([4, 6], seed: 19)
        let w1 = f32([5, 6], seed: 20).requiringGrad()
        let w2 = f32([2, 5], seed: 21).requiringGrad()
        let hidden = Tensor.linear(x, weight: w1, bias: nil).sigmoid()
        Tensor.linear(hidden, weight: w2, bias: nil).sum().backward()
        let product = w2.node!.deferredGrad!
        #expect(product.a.node == nil && product.b.node == nil)
        #expect(product.b.sharesStorage(with: hidden), "the activation's values, not a copy")
    }
}
