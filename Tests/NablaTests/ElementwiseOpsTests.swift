import Testing
@testable import Nabla

@Suite struct ElementwiseOpsTests {
    @Test func arithmeticForwardWithBroadcasting() {
        let a = Tensor([[1, 2, 3], [4, 5, 6]] as [[Float]])
        let row = Tensor([10, 20, 30] as [Float])
        let col = Tensor(shape: [2, 1], scalars: [100, 200] as [Float])
        expectClose(a + row, [11, 22, 33, 14, 25, 36])
        expectClose(a - col, [-99, -98, -97, -196, -195, -194])
        expectClose(a * row, [10, 40, 90, 40, 100, 180])
        expectClose(row / a, [10, 10, 10, 2.5, 4, 5])
        expectClose(a * 2, [2, 4, 6, 8, 10, 12])
        expectClose(1 - a, [0, -1, -2, -3, -4, -5])
        expectClose(12 / a, [12, 6, 4, 3, 2.4, 2])
        expectClose(-a, [-1, -2, -3, -4, -5, -6])
        // [2,1] with [1,3] broadcasts both ways to [2,3].
        expectClose(col + row.reshaped(1, 3), [110, 120, 130, 210, 220, 230])
        #expect(Tensor.broadcastShape([5, 1, 4], [3, 1]) == [5, 3, 4])
    }

    @Test func broadcastGradientsSumBackToInputShapes() {
        let a = randn([2, 3, 4], seed: 1), b = randn([3, 1], seed: 2), c = randn([4], seed: 3)
        expectGradientsCorrect([a, b, c]) { x in x[0] * x[1] + x[2] / (x[1] * x[1] + 1) - x[2] }
        expectGradientsCorrect([a, b]) { x in x[0] / (x[1].exp() + 1) }
        expectGradientsCorrect([a]) { x in 3 * x[0] - 2 + 1 / (x[0] * x[0] + 1) }
    }

    @Test func unaryForwardValues() {
        let x = Tensor([-2, -0.5, 0, 0.5, 2] as [Double])
        expectClose(x.exp(), [0.1353352832366127, 0.6065306597126334, 1, 1.6487212707001282, 7.38905609893065])
        expectClose(x.abs(), [2, 0.5, 0, 0.5, 2])
        expectClose(x.sigmoid(), [0.11920292202211755, 0.3775406687981454, 0.5, 0.6224593312018546, 0.8807970779778823])
        expectClose(x.tanh(), [-0.9640275800758169, -0.46211715726000974, 0, 0.46211715726000974, 0.9640275800758169])
        expectClose(x.relu(), [0, 0, 0, 0.5, 2])
        expectClose(x.leakyRelu(negativeSlope: 0.1), [-0.2, -0.05, 0, 0.5, 2])
        expectClose(x.elu(alpha: 1), [-0.8646647167633873, -0.3934693402873666, 0, 0.5, 2])
        expectClose(x.softplus(), [0.12692801104297252, 0.4740769841801067, 0.6931471805599453, 0.9740769841801067, 2.1269280110429727])
        expectClose(x.gelu(), [-0.04550026389635842, -0.15426876936299347, 0, 0.34573123063700656, 1.9544997361036416])
        expectClose(x.clamp(min: -1, max: 1), [-1, -0.5, 0, 0.5, 1])
        expectClose(x.square(), [4, 0.25, 0, 0.25, 4])
        expectClose(x.sign(), [-1, -1, 0, 1, 1])
        let p = Tensor([0.25, 1, 4] as [Double])
        expectClose(p.log(), [-1.3862943611198906, 0, 1.3862943611198906])
        expectClose(p.sqrt(), [0.5, 1, 2])
        expectClose(p.pow(1.5), [0.125, 1, 8])
        expectClose(p.pow(Tensor([2, 3, 0.5] as [Double])), [0.0625, 1, 2])
    }

    @Test func float32KernelsMatchFloat64() {
        // The float32 path goes through the vectorized C kernels; compare with libm in float64.
        let x64 = randn([1000], seed: 7, std: 6)
        let x32 = x64.cast(to: .float32)
        expectClose(x32.exp().cast(to: .float64), x64.cast(to: .float32).cast(to: .float64).exp(), rtol: 2e-6, atol: 1e-30)
        expectClose(x32.sigmoid().cast(to: .float64), x32.cast(to: .float64).sigmoid(), rtol: 1e-6, atol: 1e-7)
        expectClose(x32.tanh().cast(to: .float64), x32.cast(to: .float64).tanh(), rtol: 1e-6, atol: 1e-7)
        let pos = x32.abs() + 1e-3
        expectClose(pos.log().cast(to: .float64), pos.cast(to: .float64).log(), rtol: 1e-6, atol: 1e-7)
    }

    @Test func unaryGradients() {
        let x = randn([3, 4], seed: 11)
        let positive = randn([3, 4], seed: 12).abs() + 0.5
        expectGradientsCorrect([x]) { $0[0].exp() }
        expectGradientsCorrect([positive]) { $0[0].log() }
        expectGradientsCorrect([positive]) { $0[0].sqrt() }
        expectGradientsCorrect([x]) { $0[0].abs() }
        expectGradientsCorrect([x]) { $0[0].sigmoid() }
        expectGradientsCorrect([x]) { $0[0].tanh() }
        expectGradientsCorrect([x]) { $0[0].relu() }
        expectGradientsCorrect([x]) { $0[0].leakyRelu(negativeSlope: 0.2) }
        expectGradientsCorrect([x]) { $0[0].elu(alpha: 0.7) }
        expectGradientsCorrect([x]) { $0[0].softplus() }
        expectGradientsCorrect([x]) { $0[0].gelu() }
        expectGradientsCorrect([x]) { $0[0].erf() }
        expectGradientsCorrect([x]) { $0[0].square() }
        expectGradientsCorrect([x]) { -$0[0] }
        expectGradientsCorrect([x]) { $0[0].clamp(min: -0.5, max: 0.7) }
        expectGradientsCorrect([positive]) { $0[0].pow(2.5) }
        expectGradientsCorrect([positive, x]) { $0[0].pow($0[1]) }
    }

    @Test func maximumMinimumWhereAndMasks() {
        let a = Tensor([1, 5, 3] as [Float]), b = Tensor([2, 5, 1] as [Float])
        expectClose(Tensor.maximum(a, b), [2, 5, 3])
        expectClose(Tensor.minimum(a, b), [1, 5, 1])
        expectClose(a .> b, [0, 0, 1])
        expectClose(a .>= b, [0, 1, 1])
        expectClose(a .== b, [0, 1, 0])
        expectClose(a .!= b, [1, 0, 1])
        expectClose(a .< 3, [1, 0, 0])
        expectClose(a .<= 3, [1, 0, 1])
        expectClose(Tensor.where(a .> b, a, b * 10), [20, 50, 3])
        // where never mixes in the unselected value, even an infinite one.
        let inf = Tensor([Float.infinity, 1, 2])
        expectClose(Tensor.where(Tensor([0, 1, 1] as [Float]), inf, Tensor([7, 7, 7] as [Float])), [7, 1, 2])

        let x = randn([2, 3], seed: 21), y = randn([3], seed: 22)
        expectGradientsCorrect([x, y]) { Tensor.maximum($0[0], $0[1]) }
        expectGradientsCorrect([x, y]) { Tensor.minimum($0[0], $0[1]) }
        let mask = x .> 0
        expectGradientsCorrect([x, y]) { Tensor.where(mask, $0[0], $0[1]) }

        // Ties split the gradient evenly, as PyTorch does.
        let t = Tensor([2, 2] as [Float]).requiringGrad()
        Tensor.maximum(t, Tensor([2, 1] as [Float])).sum().backward()
        expectClose(t.grad!, [0.5, 1])
    }

    @Test func castKeepsValuesAndGradients() {
        let x = Tensor([1.5, -2.25] as [Float]).requiringGrad()
        let y = x.cast(to: .float64)
        #expect(y.dtype == .float64)
        expectClose(y, [1.5, -2.25])
        (y * y).sum().backward()
        #expect(x.grad!.dtype == .float32)
        expectClose(x.grad!, [3, -4.5])
    }

    @Test func largeTensorsTakeTheThreadedPath() {
        // Above the parallel grain: the split across threads must give the same values.
        let n = 300_000
        let x = Tensor.arange(0, Double(n), dtype: .float64)
        let y = x * 2 + 1
        let v = y.scalars(as: Double.self)
        #expect(v[0] == 1 && v[n - 1] == Double(2 * n - 1) && v[n / 2] == Double(n + 1))
        #expect(y.sum().doubleScalar == Double(n) * Double(n))
    }
}
