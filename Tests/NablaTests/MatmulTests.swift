import Testing
@testable import Nabla

@Suite struct MatmulTests {
    /// A plain triple loop in float64.
    func reference(_ a: Tensor, _ b: Tensor) -> [Double] {
        let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
        let x = a.scalars(as: Double.self), y = b.scalars(as: Double.self)
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for p in 0..<k { out[i * n + j] += x[i * k + p] * y[p * n + j] } } }
        return out
    }

    @Test func matrixProductMatchesReference() {
        let a = Tensor([[1, 2, 3], [4, 5, 6]] as [[Float]])
        let b = Tensor([[7, 8], [9, 10], [11, 12]] as [[Float]])
        expectClose(a.matmul(b), [58, 64, 139, 154], shape: [2, 2])
        for (m, k, n) in [(1, 1, 1), (7, 33, 5), (17, 4, 65), (33, 65, 17)] {
            let x = randn([m, k], seed: UInt64(m * 100 + k)), y = randn([k, n], seed: UInt64(n))
            expectClose(x.matmul(y), reference(x, y), shape: [m, n], rtol: 1e-10, atol: 1e-10)
            let xf = x.cast(to: .float32), yf = y.cast(to: .float32)
            expectClose(xf.matmul(yf).cast(to: .float64), reference(x, y), shape: [m, n], rtol: 1e-4, atol: 1e-4)
        }
    }

    @Test func transposedOperandsWithoutCopies() {
        let a = randn([5, 3], seed: 1), b = randn([4, 5], seed: 2)
        expectClose(Tensor.matmul(a, b, transposeA: true, transposeB: true), reference(a.transposed(), b.transposed()), shape: [3, 4])
        let c = randn([5, 4], seed: 3)
        expectClose(Tensor.matmul(a, c, transposeA: true, transposeB: false), reference(a.transposed(), c), shape: [3, 4])
        let d = randn([6, 3], seed: 4)
        expectClose(Tensor.matmul(a, d, transposeA: false, transposeB: true), reference(a, d.transposed()), shape: [5, 6])
    }

    @Test func vectorAndBatchedCases() {
        let v = Tensor([1, 2, 3] as [Double])
        let m = Tensor([[1, 0], [0, 1], [1, 1]] as [[Double]])
        expectClose(v.matmul(v), [14], shape: [])
        expectClose(v.matmul(m), [4, 5], shape: [2])
        expectClose(m.transposed().matmul(v), [4, 5], shape: [2])
        let a = randn([2, 3, 4, 5], seed: 5), b = randn([3, 5, 2], seed: 6)
        let c = a.matmul(b)
        #expect(c.shape == [2, 3, 4, 2])
        for i in 0..<2 { for j in 0..<3 {
            let ai = a.scalars(as: Double.self)[((i * 3 + j) * 20)..<((i * 3 + j + 1) * 20)]
            let bj = b.scalars(as: Double.self)[(j * 10)..<((j + 1) * 10)]
            let got = c.scalars(as: Double.self)[((i * 3 + j) * 8)..<((i * 3 + j + 1) * 8)]
            let want = reference(Tensor(shape: [4, 5], scalars: Array(ai)), Tensor(shape: [5, 2], scalars: Array(bj)))
            #expect(zip(got, want).allSatisfy { abs($0 - $1) < 1e-10 })
        } }
    }

    @Test func matmulGradients() {
        let a = randn([3, 4], seed: 7), b = randn([4, 2], seed: 8)
        expectGradientsCorrect([a, b]) { $0[0].matmul($0[1]) }
        expectGradientsCorrect([a, b]) { x in Tensor.matmul(x[0], x[1].transposed(), transposeA: false, transposeB: true) }
        expectGradientsCorrect([a, b]) { x in Tensor.matmul(x[0].transposed(), x[1], transposeA: true, transposeB: false) }
        expectGradientsCorrect([a, b]) { x in Tensor.matmul(x[1], x[0], transposeA: true, transposeB: true) }
        let batched = randn([2, 3, 4], seed: 9), shared = randn([4, 5], seed: 10)
        expectGradientsCorrect([batched, shared]) { $0[0].matmul($0[1]) }
        let left = randn([4], seed: 11)
        expectGradientsCorrect([left, b]) { $0[0].matmul($0[1]) }
        expectGradientsCorrect([a, left]) { $0[0].matmul($0[1]) }
        let bb = randn([1, 4, 3], seed: 12), cc = randn([2, 3, 2], seed: 13)
        expectGradientsCorrect([bb, cc]) { $0[0].matmul($0[1]) }   // broadcast batch
    }

    @Test func linearIsMatmulPlusBiasBitForBit() {
        // One op, the same values as the two it replaces, on every kernel path the shapes
        // pick (dot products, register tiles, the transposed product, narrow tiles).
        for dtype in [DType.float32, .float64] {
            for (rows, inputs, outputs) in [(1, 1, 1), (10, 784, 30), (10, 30, 10), (7, 33, 65), (65, 7, 17), (2, 300, 1000)] {
                let seed = UInt64(rows * 10_000 + inputs * 10 + outputs)
                let x = randn([rows, inputs], seed: seed).cast(to: dtype)
                let w = randn([outputs, inputs], seed: seed + 1).cast(to: dtype)
                let b = randn([outputs], seed: seed + 2).cast(to: dtype)
                let product = Tensor.matmul(x, w, transposeA: false, transposeB: true)
                let y = Tensor.linear(x, weight: w, bias: b)
                #expect(y.shape == [rows, outputs])
                #expect(y.scalars(as: Double.self) == (product + b).scalars(as: Double.self), "\(dtype) \(rows)x\(inputs)x\(outputs)")
                #expect(Tensor.linear(x, weight: w, bias: nil).scalars(as: Double.self) == product.scalars(as: Double.self))
            }
        }
        // Leading dimensions are batch dimensions.
        let x = randn([2, 3, 5], seed: 1), w = randn([4, 5], seed: 2), b = randn([4], seed: 3)
        let y = Tensor.linear(x, weight: w, bias: b)
        #expect(y.shape == [2, 3, 4])
        expectClose(y, x.matmul(w.transposed()) + b, rtol: 1e-12, atol: 1e-12)
        // A vector is one example, as in PyTorch.
        let v = randn([5], seed: 4)
        let yv = Tensor.linear(v, weight: w, bias: b)
        #expect(yv.shape == [4])
        expectClose(yv, w.matmul(v) + b, rtol: 1e-12, atol: 1e-12)
    }

    @Test func linearGradients() {
        let x = randn([3, 4], seed: 21), w = randn([2, 4], seed: 22), b = randn([2], seed: 23)
        expectGradientsCorrect([x, w, b]) { Tensor.linear($0[0], weight: $0[1], bias: $0[2]) }
        expectGradientsCorrect([x, w]) { Tensor.linear($0[0], weight: $0[1], bias: nil) }
        expectGradientsCorrect([randn([2, 3, 4], seed: 24), w, b]) { Tensor.linear($0[0], weight: $0[1], bias: $0[2]) }
        expectGradientsCorrect([randn([4], seed: 25), w, b]) { Tensor.linear($0[0], weight: $0[1], bias: $0[2]) }
        expectSecondOrderCorrect([x, w, b]) { Tensor.linear($0[0], weight: $0[1], bias: $0[2]).sigmoid() }
        // A constant input gets no gradient; the weight's and bias's are gᵀ·x and Σ rows of g.
        let wl = w.requiringGrad(), bl = b.requiringGrad()
        Tensor.linear(x, weight: wl, bias: bl).sum().backward()
        expectClose(wl.grad!, Tensor.ones([2, 3], dtype: .float64).matmul(x), rtol: 1e-12, atol: 1e-12)
        expectClose(bl.grad!, [3, 3], shape: [2])
    }

    /// linear with an activation is linear followed by the activation's op, bit for bit:
    /// values, and the gradients of input, weight and bias (float and double, with and
    /// without a bias, a batch of rank 3 and a vector); its own gradients and second
    /// derivatives check numerically; it is one node.
    @Test func linearWithActivationIsLinearThenTheActivationBitForBit() {
        let activations: [(Tensor.Activation, (Tensor) -> Tensor)] = [
            (.relu, { $0.relu() }), (.sigmoid, { $0.sigmoid() }), (.tanh, { $0.tanh() })]
        for dtype in [DType.float32, .float64] {
            for (inputShape, outputs) in [([10, 784], 30), ([10, 30], 10), ([2, 3, 5], 4), ([5], 3), ([33, 7], 65)] {
                let inputs = inputShape.last!
                for withBias in [true, false] {
                    for (activation, separate) in activations {
                        let at = "\(activation) \(dtype) \(inputShape)→\(outputs) bias \(withBias)"
                        let seed = UInt64(inputShape.reduce(1, *) * 100 + outputs)
                        func leaves() -> [Tensor] {
                            [randn(inputShape, seed: seed).cast(to: dtype).requiringGrad(),
                             randn([outputs, inputs], seed: seed + 1).cast(to: dtype).requiringGrad(),
                             randn([outputs], seed: seed + 2).cast(to: dtype).requiringGrad()]
                        }
                        let f = leaves(), p = leaves()
                        let fused = Tensor.linear(f[0], weight: f[1], bias: withBias ? f[2] : nil, activation: activation)
                        let plain = separate(Tensor.linear(p[0], weight: p[1], bias: withBias ? p[2] : nil))
                        #expect(fused.shape == plain.shape, "\(at): shape")
                        #expect(fused.scalars(as: Double.self) == plain.scalars(as: Double.self), "\(at): values")
                        if inputShape.count > 1 {   // a vector's result is reshaped back
                            #expect(fused.gradientOp == "linear+\(activation)", "\(at): one node")
                        }
                        // A weighting that is not all ones, so every output's gradient differs.
                        let weights = randn(fused.shape, seed: seed + 3).cast(to: dtype)
                        (fused * weights).sum().backward()
                        (plain * weights).sum().backward()
                        for k in 0..<(withBias ? 3 : 2) {
                            #expect(f[k].grad!.scalars(as: Double.self) == p[k].grad!.scalars(as: Double.self), "\(at): gradient \(k)")
                        }
                    }
                }
            }
        }
        let x = randn([3, 4], seed: 41), w = randn([2, 4], seed: 42), b = randn([2], seed: 43)
        for activation in [Tensor.Activation.sigmoid, .tanh, .relu] {
            expectGradientsCorrect([x, w, b]) { Tensor.linear($0[0], weight: $0[1], bias: $0[2], activation: activation) }
            expectGradientsCorrect([randn([2, 3, 4], seed: 44), w]) {
                Tensor.linear($0[0], weight: $0[1], bias: nil, activation: activation)
            }
        }
        expectSecondOrderCorrect([x, w, b]) { Tensor.linear($0[0], weight: $0[1], bias: $0[2], activation: .sigmoid) }
        expectSecondOrderCorrect([x, w, b]) { Tensor.linear($0[0], weight: $0[1], bias: $0[2], activation: .tanh) }
    }

    @Test func squaredDistanceValuesAndGradients() {
        let a = randn([4, 3], seed: 31), b = randn([4, 3], seed: 32)
        let diff = zip(a.scalars(as: Double.self), b.scalars(as: Double.self)).map { $0 - $1 }
        expectClose(Tensor.squaredDistance(a, b, scale: 0.25), [0.25 * diff.map { $0 * $0 }.reduce(0, +)], shape: [])
        expectGradientsCorrect([a, b]) { Tensor.squaredDistance($0[0], $0[1], scale: 0.5) }
        expectSecondOrderCorrect([a, b]) { Tensor.squaredDistance($0[0].sigmoid(), $0[1], scale: 0.5) }
        // The direct backward loop and the recorded ops give the same bits.
        let p = Tensor([[0.3, -1.7, 2.2], [0.01, 5, -0.4]] as [[Float]]).requiringGrad()
        let y = Tensor([[1, 0, 0], [0, 1, 0]] as [[Float]]).requiringGrad()
        let loss = Tensor.squaredDistance(p, y, scale: 0.05)
        let direct = gradients(of: loss, withRespectTo: [p, y], retainGraph: true)
        let recorded = gradients(of: loss, withRespectTo: [p, y], createGraph: true)
        for i in 0..<2 { #expect(direct[i].scalars(as: Float.self) == recorded[i].scalars(as: Float.self)) }
        expectClose(direct[1], direct[0] * -1, rtol: 0, atol: 0)
    }
}
