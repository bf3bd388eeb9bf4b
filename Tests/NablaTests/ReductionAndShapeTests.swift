import Testing
@testable import Nabla

@Suite struct ReductionAndShapeTests {
    let m = Tensor([[1, 2, 3], [4, 5, 6]] as [[Double]])

    @Test func reductionsForward() {
        expectClose(m.sum(), [21], shape: [])
        expectClose(m.sum(axis: 0), [5, 7, 9])
        expectClose(m.sum(axis: 1, keepDims: true), [6, 15], shape: [2, 1])
        expectClose(m.sum(axis: -1), [6, 15])
        expectClose(m.mean(), [3.5], shape: [])
        expectClose(m.mean(axis: 0), [2.5, 3.5, 4.5])
        expectClose(m.max(axis: 1), [3, 6])
        expectClose(m.min(axis: 0), [1, 2, 3])
        expectClose(m.max(), [6], shape: [])
        expectClose(m.variance(axis: 1), [2.0 / 3, 2.0 / 3])
        expectClose(m.variance(axes: [1], unbiased: true), [1, 1])
        expectClose(m.logSumExp(axes: [1]), [3.40760596444438, 6.40760596444438])
        expectClose(m.argmax(axis: 1), [2, 2])
        expectClose(m.argmin(axis: 0), [0, 0, 0])
        let t = Tensor.arange(0, 24, dtype: .float64).reshaped(2, 3, 4)
        expectClose(t.sum(axes: [0, 2]), [60, 92, 124])
        expectClose(t.sum(axes: [1, 2], keepDims: true), [66, 210], shape: [2, 1, 1])
        expectClose(t.max(axes: [0, 1]), [20, 21, 22, 23])
    }

    @Test func reductionGradients() {
        let x = randn([2, 3, 4], seed: 31)
        expectGradientsCorrect([x]) { $0[0].sum() }
        expectGradientsCorrect([x]) { $0[0].sum(axes: [0, 2]) }
        expectGradientsCorrect([x]) { $0[0].sum(axis: 1, keepDims: true) * $0[0] }
        expectGradientsCorrect([x]) { $0[0].mean(axes: [1]) }
        expectGradientsCorrect([x]) { $0[0].max(axis: 2) }
        expectGradientsCorrect([x]) { $0[0].min(axes: [0, 1], keepDims: true) }
        expectGradientsCorrect([x]) { $0[0].max() }
        expectGradientsCorrect([x]) { $0[0].variance(axes: [0, 2]) }
        expectGradientsCorrect([x]) { $0[0].variance(axes: [1], unbiased: true) }
        expectGradientsCorrect([x]) { $0[0].logSumExp(axes: [2]) }
        expectGradientsCorrect([x]) { $0[0].logSumExp() }
    }

    @Test func maxSplitsTheGradientBetweenTies() {
        let x = Tensor([1, 3, 3] as [Float]).requiringGrad()
        x.max().backward()
        expectClose(x.grad!, [0, 0.5, 0.5])
    }

    @Test func softmaxIsStableAndCorrect() {
        let logits = Tensor([[1, 2, 3], [1000, 1000, 1000], [-1e4, 0, 1e4]] as [[Double]])
        let s = logits.softmax(axis: 1)
        expectClose(s, [0.09003057317038046, 0.24472847105479767, 0.6652409557748219,
                        1.0 / 3, 1.0 / 3, 1.0 / 3, 0, 0, 1])
        let ls = logits.logSoftmax(axis: 1)
        expectClose(ls, [-2.4076059644443806, -1.4076059644443806, -0.4076059644443806,
                         -1.0986122886681098, -1.0986122886681098, -1.0986122886681098, -2e4, -1e4, 0])
        #expect(logits.cast(to: .float32).logSoftmax().scalars.allSatisfy { $0.isFinite })
        let x = randn([3, 4], seed: 41)
        expectGradientsCorrect([x]) { $0[0].softmax(axis: 1) }
        expectGradientsCorrect([x]) { $0[0].softmax(axis: 0) }
        expectGradientsCorrect([x]) { $0[0].logSoftmax(axis: 1) }
        let big = (randn([2, 3], seed: 42, std: 1) * 1e4).requiringGrad()
        let g = gradients(of: (big.logSoftmax() * Tensor([1, 0, 2] as [Double])).sum(), withRespectTo: [big])
        #expect(g[0].scalars.allSatisfy { $0.isFinite })
    }

    @Test func uninitializedCreationKeepsWhatTheInitializerWrites() {
        let x = Tensor(unsafeUninitializedShape: [2, 3], of: Float.self) { buffer in
            #expect(buffer.count == 6)
            for i in buffer.indices { buffer[i] = Float(i) * 0.5 }
        }
        #expect(x.shape == [2, 3] && x.dtype == .float32)
        #expect(x.scalars == [0, 0.5, 1, 1.5, 2, 2.5])
        let y = Tensor(unsafeUninitializedShape: [2], of: Double.self) { $0[0] = 1e-300; $0[1] = -2 }
        #expect(y.dtype == .float64 && y.scalars(as: Double.self) == [1e-300, -2])
        var sawEmpty = false
        let empty = Tensor(unsafeUninitializedShape: [0, 4], of: Float.self) { sawEmpty = $0.isEmpty }
        #expect(empty.shape == [0, 4] && sawEmpty)
    }

    @Test func reshapeFamily() {
        let t = Tensor.arange(0, 6, dtype: .float64)
        let r = t.reshaped(2, -1)
        #expect(r.shape == [2, 3])
        #expect(r.sharesStorage(with: t))
        #expect(r.flattened().shape == [6])
        #expect(Tensor.zeros([2, 1, 3, 1]).squeezed().shape == [2, 3])
        #expect(Tensor.zeros([2, 1, 3, 1]).squeezed(axes: [1]).shape == [2, 3, 1])
        #expect(r.unsqueezed(axis: 0).shape == [1, 2, 3])
        #expect(r.unsqueezed(axis: -1).shape == [2, 3, 1])
        #expect(Tensor.zeros([2, 3, 4, 5]).flattened(from: 1).shape == [2, 60])
        let x = randn([2, 3], seed: 51)
        expectGradientsCorrect([x]) { ($0[0].reshaped(3, 2) * Tensor.arange(0, 6, dtype: .float64).reshaped(3, 2)).flattened() }
        expectGradientsCorrect([x]) { $0[0].unsqueezed(axis: 1).squeezed() * 2 }
    }

    @Test func broadcastAndPermute() {
        let v = Tensor([1, 2, 3] as [Double])
        expectClose(v.broadcast(to: [2, 3]), [1, 2, 3, 1, 2, 3])
        expectClose(v.reshaped(3, 1).broadcast(to: [3, 2]), [1, 1, 2, 2, 3, 3])
        let t = Tensor.arange(0, 24, dtype: .float64).reshaped(2, 3, 4)
        let p = t.permuted(2, 0, 1)
        #expect(p.shape == [4, 2, 3])
        #expect(p.element(at: 1, 1, 2) == t.element(at: 1, 2, 1))
        expectClose(m.transposed(), [1, 4, 2, 5, 3, 6], shape: [3, 2])
        #expect(t.transposed(0, 2).shape == [4, 3, 2])
        let x = randn([3, 1], seed: 61)
        expectGradientsCorrect([x]) { $0[0].broadcast(to: [2, 3, 4]) }
        let y = randn([2, 3, 4], seed: 62)
        expectGradientsCorrect([y]) { $0[0].permuted(1, 2, 0) }
        expectGradientsCorrect([y]) { $0[0].sumToShape([3, 1]) }
    }
}

@Suite struct BatchNormOpTests {
    @Test func normalizesEachChannelOverBatchAndSpace() {
        let x = Tensor(shape: [2, 2, 2], scalars: [1, 2, 10, 20, 3, 4, 30, 40] as [Double])
        let (y, mean, variance) = x.batchNormalized(weight: nil, bias: nil, epsilon: 0)
        expectClose(mean, [2.5, 25])
        expectClose(variance, [1.25, 125])
        let s = 1 / 1.25.squareRoot()
        expectClose(y, [-1.5 * s, -0.5 * s, -1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s, 0.5 * s, 1.5 * s])
        let (z, _, _) = x.batchNormalized(weight: Tensor([2, 3] as [Double]), bias: Tensor([1, -1] as [Double]), epsilon: 0)
        expectClose(z, [1 - 3 * s, 1 - s, -1 - 4.5 * s, -1 - 1.5 * s, 1 + s, 1 + 3 * s, -1 + 1.5 * s, -1 + 4.5 * s])
    }

    @Test func fusedBackwardMatchesNumericalGradients() {
        let x = randn([3, 2, 4], seed: 91), w = randn([2], seed: 92), b = randn([2], seed: 93)
        expectGradientsCorrect([x, w, b]) { $0[0].batchNormalized(weight: $0[1], bias: $0[2]).output * Tensor.arange(0, 24, dtype: .float64).reshaped(3, 2, 4) }
        expectGradientsCorrect([randn([5, 3], seed: 94)]) { $0[0].batchNormalized(weight: nil, bias: nil).output.square() }
    }

    @Test func secondOrderThroughTheComposedBackward() {
        let x = randn([3, 2, 2], seed: 95), w = randn([2], seed: 96)
        expectSecondOrderCorrect([x, w]) { $0[0].batchNormalized(weight: $0[1], bias: nil).output.tanh() }
    }

    /// `thenReLU` gives exactly relu(batch norm) forward, and the gradients of the two
    /// within float rounding (the fused backward masks the gradient while summing), for
    /// float32 rows longer and shorter than a SIMD vector, and a rank-2 input (one value
    /// per row).
    @Test func withReLUMatchesReLUOfTheOutput() {
        for (index, shape) in [[4, 3, 5, 5], [3, 2, 11], [2, 3, 4, 4], [6, 4]].enumerated() {
            let seed = UInt64(100 + 10 * index), c = shape[1]
            let x0 = Tensor.randomNormal(shape, dtype: .float32, seed: seed)
            let w0 = Tensor.randomNormal([c], dtype: .float32, seed: seed + 1)
            let b0 = Tensor.randomNormal([c], std: 0.5, dtype: .float32, seed: seed + 2)
            let r = Tensor.randomNormal(shape, dtype: .float32, seed: seed + 3)
            func run(fused: Bool) -> (y: [Float], grads: [[Float]]) {
                let x = x0.requiringGrad(), w = w0.requiringGrad(), b = b0.requiringGrad()
                let y = fused ? x.batchNormalized(weight: w, bias: b, thenReLU: true).output
                              : x.batchNormalized(weight: w, bias: b).output.relu()
                let g = gradients(of: (y * r).sum(), withRespectTo: [x, w, b])
                return (y.scalars, g.map(\.scalars))
            }
            let fused = run(fused: true), plain = run(fused: false)
            #expect(fused.y == plain.y, "shape \(shape)")
            #expect(fused.y.contains(0) && fused.y.contains { $0 > 0 }, "shape \(shape): the ReLU cuts some values")
            for (name, (a, b)) in zip(["x", "weight", "bias"], zip(fused.grads, plain.grads)) {
                let scale = b.map { abs($0) }.max()! + 1
                let worst = zip(a, b).map { abs($0 - $1) }.max()!
                #expect(worst <= 1e-5 * scale, "shape \(shape) d\(name): differs by \(worst)")
            }
        }
    }

    @Test func withReLUMatchesNumericalGradients() {
        let x = randn([3, 2, 4], seed: 97), w = randn([2], seed: 98), b = randn([2], seed: 99)
        expectGradientsCorrect([x, w, b]) {
            $0[0].batchNormalized(weight: $0[1], bias: $0[2], thenReLU: true).output
                * Tensor.arange(0, 24, dtype: .float64).reshaped(3, 2, 4)
        }
        expectSecondOrderCorrect([randn([3, 2, 2], seed: 87), randn([2], seed: 88)]) {
            $0[0].batchNormalized(weight: $0[1], bias: nil, thenReLU: true).output.tanh()
        }
    }
}
