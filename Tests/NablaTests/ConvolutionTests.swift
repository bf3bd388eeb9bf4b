import Testing
@testable import Nabla
import CNablaKernels

/// Direct convolution by its definition, the reference the im2col + GEMM path must match.
private func naiveConv2d(_ x: Tensor, _ w: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                         padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1)) -> Tensor {
    let xs = x.scalars(as: Double.self), ws = w.scalars(as: Double.self)
    let bs = bias?.scalars(as: Double.self)
    let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (cout, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
    let oh = (h + 2 * padding.0 - dilation.0 * (kh - 1) - 1) / stride.0 + 1
    let ow = (wd + 2 * padding.1 - dilation.1 * (kw - 1) - 1) / stride.1 + 1
    var out = [Double](repeating: 0, count: n * cout * oh * ow)
    for b in 0..<n {
        for co in 0..<cout {
            for oi in 0..<oh {
                for oj in 0..<ow {
                    var s = bs?[co] ?? 0
                    for ci in 0..<cin {
                        for ki in 0..<kh {
                            for kj in 0..<kw {
                                let i = oi * stride.0 - padding.0 + ki * dilation.0
                                let j = oj * stride.1 - padding.1 + kj * dilation.1
                                guard i >= 0, i < h, j >= 0, j < wd else { continue }
                                s += xs[((b * cin + ci) * h + i) * wd + j] * ws[((co * cin + ci) * kh + ki) * kw + kj]
                            }
                        }
                    }
                    out[((b * cout + co) * oh + oi) * ow + oj] = s
                }
            }
        }
    }
    return Tensor(shape: [n, cout, oh, ow], scalars: out, dtype: x.dtype)
}

/// Max pooling by its definition (padding is −∞).
private func naiveMaxPool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)) -> Tensor {
    let xs = x.scalars(as: Double.self)
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let oh = (h + 2 * padding.0 - kernel.0) / stride.0 + 1, ow = (w + 2 * padding.1 - kernel.1) / stride.1 + 1
    var out: [Double] = []
    for plane in 0..<(n * c) {
        for oi in 0..<oh {
            for oj in 0..<ow {
                var m = -Double.infinity
                for ki in 0..<kernel.0 {
                    for kj in 0..<kernel.1 {
                        let i = oi * stride.0 - padding.0 + ki, j = oj * stride.1 - padding.1 + kj
                        if i >= 0 && i < h && j >= 0 && j < w { m = max(m, xs[(plane * h + i) * w + j]) }
                    }
                }
                out.append(m)
            }
        }
    }
    return Tensor(shape: [n, c, oh, ow], scalars: out, dtype: x.dtype)
}

/// One convolution configuration: input shape, weight shape, stride, padding, dilation.
struct ConvCase: Sendable, CustomTestStringConvertible {
    let input: [Int], weight: [Int]
    let stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)

    init(_ input: [Int], _ weight: [Int], stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
         dilation: (Int, Int) = (1, 1)) {
        self.input = input; self.weight = weight
        self.stride = stride; self.padding = padding; self.dilation = dilation
    }

    var testDescription: String {
        "x\(input) w\(weight) s\(stride) p\(padding) d\(dilation)"
    }
}

private let forwardCases: [ConvCase] = [
    ConvCase([1, 1, 5, 5], [1, 1, 3, 3]),
    ConvCase([2, 3, 7, 6], [4, 3, 3, 3], stride: (2, 2)),
    ConvCase([2, 2, 5, 5], [3, 2, 3, 3], padding: (1, 1)),
    ConvCase([1, 2, 6, 5], [2, 2, 3, 2], padding: (2, 1)),
    ConvCase([3, 2, 9, 8], [2, 2, 3, 3], dilation: (2, 2)),
    ConvCase([2, 3, 6, 7], [5, 3, 2, 4], stride: (1, 2), padding: (1, 2), dilation: (2, 1)),
    ConvCase([3, 4, 5, 5], [6, 4, 1, 1]),                       // 1×1: the unfold is the identity
    ConvCase([2, 3, 6, 6], [2, 3, 1, 1], stride: (2, 2)),
    ConvCase([4, 1, 12, 12], [5, 1, 5, 5]),                     // MNIST-like, several images
]

/// Small enough for a full Jacobian in a debug build.
private let gradientCases: [ConvCase] = [
    ConvCase([2, 2, 4, 4], [3, 2, 2, 2]),
    ConvCase([1, 2, 5, 4], [2, 2, 3, 2], stride: (2, 1), padding: (1, 1)),
    ConvCase([2, 1, 5, 5], [2, 1, 2, 2], padding: (2, 1), dilation: (2, 2)),
    ConvCase([1, 3, 3, 3], [2, 3, 1, 1]),
]

@Suite struct ConvolutionTests {
    // MARK: conv2d forward

    @Test func tinyConvolutionMatchesHandValues() {
        // x = 1…9 in a 3×3 grid, w = [[1, 0], [0, -1]]: each output is x[i][j] − x[i+1][j+1].
        let x = Tensor(shape: [1, 1, 3, 3], scalars: (1...9).map(Float.init))
        let w = Tensor(shape: [1, 1, 2, 2], scalars: [1, 0, 0, -1] as [Float])
        expectClose(x.conv2d(w), [-4, -4, -4, -4], shape: [1, 1, 2, 2])
        // With a bias of 10 and padding 1 the border windows see zeros.
        let b = Tensor([10] as [Float])
        expectClose(x.conv2d(w, bias: b, padding: (1, 1)),
                    [9, 8, 7, 10,
                     6, 6, 6, 13,
                     3, 6, 6, 16,
                     10, 17, 18, 19], shape: [1, 1, 4, 4])
        // Stride 2 keeps the windows at (0,0) only for a 3×3 input and a 2×2 kernel.
        expectClose(x.conv2d(w, stride: 2), [-4], shape: [1, 1, 1, 1])
    }

    @Test(arguments: forwardCases)
    func forwardMatchesDirectConvolution(_ c: ConvCase) {
        let x = randn(c.input, seed: 11), w = randn(c.weight, seed: 12)
        let b = randn([c.weight[0]], seed: 13)
        let expected = naiveConv2d(x, w, bias: b, stride: c.stride, padding: c.padding, dilation: c.dilation)
        let y = x.conv2d(w, bias: b, stride: c.stride, padding: c.padding, dilation: c.dilation)
        expectClose(y, expected, rtol: 1e-10, atol: 1e-10)
        // float32 goes through the single-precision kernels.
        let y32 = x.cast(to: .float32).conv2d(w.cast(to: .float32), bias: b.cast(to: .float32),
                                               stride: c.stride, padding: c.padding, dilation: c.dilation)
        #expect(y32.dtype == .float32)
        expectClose(y32, expected.cast(to: .float32), rtol: 1e-4, atol: 1e-4)
        // Both backward kernels agree across dtypes (float64 is checked numerically elsewhere).
        let gy = randn(y.shape, seed: 14)
        let gx = Tensor.conv2dBackwardInput(gy, w, inputShape: x.shape, stride: c.stride, padding: c.padding, dilation: c.dilation)
        let gw = Tensor.conv2dBackwardWeight(x, gy, weightShape: w.shape, stride: c.stride, padding: c.padding, dilation: c.dilation)
        let gx32 = Tensor.conv2dBackwardInput(gy.cast(to: .float32), w.cast(to: .float32), inputShape: x.shape,
                                              stride: c.stride, padding: c.padding, dilation: c.dilation)
        let gw32 = Tensor.conv2dBackwardWeight(x.cast(to: .float32), gy.cast(to: .float32), weightShape: w.shape,
                                               stride: c.stride, padding: c.padding, dilation: c.dilation)
        expectClose(gx32, gx.cast(to: .float32), rtol: 1e-4, atol: 1e-4)
        expectClose(gw32, gw.cast(to: .float32), rtol: 1e-4, atol: 1e-3)
    }

    @Test func batchIsSplitAcrossThreadsWithTheSameResult() {
        // Large enough to cross the threading threshold; every image must match its own
        // single-image convolution, and the weight gradient must match the serial sum.
        let x = randn([6, 3, 16, 16], seed: 21), w = randn([8, 3, 5, 5], seed: 22)
        let y = x.conv2d(w, padding: (2, 2))
        for i in [0, 5] {
            let xi = Tensor(shape: [1, 3, 16, 16], scalars: Array(x.scalars(as: Double.self)[(i * 768)..<((i + 1) * 768)]), dtype: .float64)
            let yi = xi.conv2d(w, padding: (2, 2))
            let slice = Array(y.scalars(as: Double.self)[(i * 2048)..<((i + 1) * 2048)])
            expectClose(yi, slice, rtol: 1e-12, atol: 1e-12)
        }
        let gy = randn(y.shape, seed: 23)
        let g = Conv2dGeometry(input: x.shape, weight: w.shape, stride: (1, 1), padding: (2, 2),
                               dilation: (1, 1), op: "test")
        let gw = Tensor.conv2dBackwardWeight(x, gy, g)
        var serial = Tensor.zeros(w.shape, dtype: .float64)
        for i in 0..<6 {
            let xi = Tensor(shape: [1, 3, 16, 16], scalars: Array(x.scalars(as: Double.self)[(i * 768)..<((i + 1) * 768)]), dtype: .float64)
            let gyi = Tensor(shape: [1, 8, 16, 16], scalars: Array(gy.scalars(as: Double.self)[(i * 2048)..<((i + 1) * 2048)]), dtype: .float64)
            let gi = Conv2dGeometry(input: xi.shape, weight: w.shape, stride: (1, 1), padding: (2, 2),
                                    dilation: (1, 1), op: "test")
            serial = serial + Tensor.conv2dBackwardWeight(xi, gyi, gi)
        }
        expectClose(gw, serial, rtol: 1e-10, atol: 1e-10)
    }

    @Test func largeImagesSplitIntoRowBlocksAgree() {
        // Each image's GEMMs here are above the kernels' threading threshold, so with
        // several threads they are cut into row blocks: forward, and both backward ops
        // through the adjoint identity, must still be exact.
        let x = randn([2, 10, 16, 16], seed: 24), w = randn([48, 10, 3, 3], seed: 25)
        let y = x.conv2d(w, padding: (1, 1))
        expectClose(y, naiveConv2d(x, w, padding: (1, 1)), rtol: 1e-10, atol: 1e-10)
        let gy = randn(y.shape, seed: 26)
        let gx = Tensor.conv2dBackwardInput(gy, w, inputShape: x.shape, stride: (1, 1), padding: (1, 1), dilation: (1, 1))
        let gw = Tensor.conv2dBackwardWeight(x, gy, weightShape: w.shape, stride: (1, 1), padding: (1, 1), dilation: (1, 1))
        let lhs = (y * gy).sum().doubleScalar
        #expect(abs((x * gx).sum().doubleScalar - lhs) < 1e-9 * max(1, abs(lhs)))
        #expect(abs((w * gw).sum().doubleScalar - lhs) < 1e-9 * max(1, abs(lhs)))
        // Element by element against single images, whose GEMMs are never cut.
        let xs = x.scalars(as: Double.self), gys = gy.scalars(as: Double.self)
        let (xn, yn) = (10 * 256, 48 * 256)
        var gwSum = Tensor.zeros(w.shape, dtype: .float64)
        for i in 0..<2 {
            let xi = Tensor(shape: [1, 10, 16, 16], scalars: Array(xs[(i * xn)..<((i + 1) * xn)]), dtype: .float64)
            let gyi = Tensor(shape: [1, 48, 16, 16], scalars: Array(gys[(i * yn)..<((i + 1) * yn)]), dtype: .float64)
            let gxi = Tensor.conv2dBackwardInput(gyi, w, inputShape: xi.shape, stride: (1, 1), padding: (1, 1), dilation: (1, 1))
            expectClose(gxi, Array(gx.scalars(as: Double.self)[(i * xn)..<((i + 1) * xn)]), rtol: 1e-10, atol: 1e-10)
            gwSum = gwSum + Tensor.conv2dBackwardWeight(xi, gyi, weightShape: w.shape, stride: (1, 1), padding: (1, 1), dilation: (1, 1))
        }
        expectClose(gw, gwSum, rtol: 1e-10, atol: 1e-10)
    }

    @Test func rankThreeInputIsOneImage() {
        let x = randn([2, 5, 5], seed: 31), w = randn([3, 2, 3, 3], seed: 32)
        let y = x.conv2d(w, padding: (1, 1))
        #expect(y.shape == [3, 5, 5])
        expectClose(y, naiveConv2d(x.reshaped([1, 2, 5, 5]), w, padding: (1, 1)).reshaped([3, 5, 5]))
        #expect(x.maxPool2d(2).shape == [2, 2, 2])
        #expect(x.avgPool2d(kernelSize: (2, 1)).shape == [2, 2, 5])
    }

    // MARK: conv2d gradients

    @Test(arguments: gradientCases)
    func conv2dGradientsAreCorrect(_ c: ConvCase) {
        let x = randn(c.input, seed: 41), w = randn(c.weight, seed: 42), b = randn([c.weight[0]], seed: 43)
        expectGradientsCorrect([x, w, b]) { t in
            t[0].conv2d(t[1], bias: t[2], stride: c.stride, padding: c.padding, dilation: c.dilation)
        }
    }

    @Test func backwardOpsAreAdjointsOfTheForward() {
        // ⟨conv(x, w), gy⟩ = ⟨x, backwardInput(gy, w)⟩ = ⟨w, backwardWeight(x, gy)⟩.
        let c = ConvCase([2, 3, 7, 6], [4, 3, 3, 2], stride: (2, 1), padding: (1, 1), dilation: (1, 2))
        let x = randn(c.input, seed: 51), w = randn(c.weight, seed: 52)
        let y = x.conv2d(w, stride: c.stride, padding: c.padding, dilation: c.dilation)
        let gy = randn(y.shape, seed: 53)
        let gx = Tensor.conv2dBackwardInput(gy, w, inputShape: x.shape, stride: c.stride,
                                            padding: c.padding, dilation: c.dilation)
        let gw = Tensor.conv2dBackwardWeight(x, gy, weightShape: w.shape, stride: c.stride,
                                             padding: c.padding, dilation: c.dilation)
        let lhs = (y * gy).sum().doubleScalar
        #expect(abs((x * gx).sum().doubleScalar - lhs) < 1e-9 * max(1, abs(lhs)))
        #expect(abs((w * gw).sum().doubleScalar - lhs) < 1e-9 * max(1, abs(lhs)))
    }

    @Test func conv2dSecondOrderGradientsAreCorrect() {
        let x = randn([1, 2, 4, 4], seed: 61), w = randn([2, 2, 2, 2], seed: 62), b = randn([2], seed: 63)
        // tanh makes the second derivative depend on x and w together, not only bilinearly.
        expectSecondOrderCorrect([x, w, b]) { t in
            t[0].conv2d(t[1], bias: t[2], stride: (2, 1), padding: (1, 0)).tanh()
        }
        expectSecondOrderCorrect([x, w]) { t in
            t[0].conv2d(t[1], dilation: (2, 1)).square()
        }
    }

    @Test func thirdOrderThroughTheBackwardOps() {
        // Gradients of gradients of gradients stay finite and consistent: the backward ops of
        // the backward ops are themselves differentiable.
        let x = randn([1, 1, 3, 3], seed: 71), w = randn([1, 1, 2, 2], seed: 72)
        expectSecondOrderCorrect([x, w]) { t in
            let y = t[0].conv2d(t[1]).square().sum()
            return gradients(of: y, withRespectTo: [t[0]], createGraph: true)[0]
        }
    }

    // MARK: pooling forward

    @Test func maxPoolMatchesHandValues() {
        // 4×4 grid 1…16, 2×2 windows: each output is the bottom-right of its window.
        let x = Tensor(shape: [1, 1, 4, 4], scalars: (1...16).map(Float.init))
        expectClose(x.maxPool2d(2), [6, 8, 14, 16], shape: [1, 1, 2, 2])
        // Overlapping 3×3 windows with stride 1.
        expectClose(x.maxPool2d(kernelSize: (3, 3), stride: (1, 1)), [11, 12, 15, 16], shape: [1, 1, 2, 2])
        // Padding 1 adds −∞: the corner windows see only their real elements.
        expectClose(x.maxPool2d(kernelSize: (2, 2), padding: (1, 1)),
                    [1, 3, 4, 9, 11, 12, 13, 15, 16], shape: [1, 1, 3, 3])
        // Non-square window and stride: 1×4 rows.
        expectClose(x.maxPool2d(kernelSize: (1, 4), stride: (2, 1)), [4, 12], shape: [1, 1, 2, 1])
        // All-negative values with padding: −∞ padding must never win.
        expectClose((x * -1).maxPool2d(kernelSize: (2, 2), padding: (1, 1)),
                    [-1, -2, -4, -5, -6, -8, -13, -14, -16], shape: [1, 1, 3, 3])
    }

    @Test func maxPoolMatchesDirectLoopInEveryPath() {
        // 2×2 stride 2 unpadded has its own loop; odd sizes drop the last row and column.
        let x = randn([2, 3, 7, 6], seed: 77)
        for (k, s, p) in [((2, 2), (2, 2), (0, 0)), ((3, 2), (2, 1), (1, 1)), ((2, 3), (1, 3), (1, 0)), ((1, 1), (2, 2), (0, 0))] {
            expectClose(x.maxPool2d(kernelSize: k, stride: s, padding: p),
                        naiveMaxPool2d(x, kernel: k, stride: s, padding: p), rtol: 0, atol: 0)
        }
    }

    @Test func maxPoolPropagatesNaN() {
        let nan = Float.nan
        let x = Tensor(shape: [1, 1, 2, 4], scalars: [1, nan, 3, 4,
                                                      9, 2, 0, nan])
        let fast = x.maxPool2d(2).scalars
        #expect(fast[0].isNaN && fast[1].isNaN)
        let general = x.maxPool2d(kernelSize: (2, 2), stride: (2, 2), padding: (1, 1)).scalars
        #expect(general.count == 6)
        #expect(general[0] == 1 && general[1].isNaN && general[2] == 4)
    }

    @Test func maxPoolTiesSendTheGradientToTheFirstMaximum() {
        let x = Tensor(shape: [1, 1, 2, 4], scalars: [5, 5, 1, 2,
                                                      5, 0, 2, 2] as [Float]).requiringGrad()
        let y = x.maxPool2d(2)
        expectClose(y, [5, 2], shape: [1, 1, 1, 2])
        y.sum().backward()
        expectClose(x.grad!, [1, 0, 0, 1,
                              0, 0, 0, 0])
        // Overlapping windows that pick the same element add their gradients.
        let z = Tensor(shape: [1, 1, 1, 3], scalars: [1, 9, 1] as [Float]).requiringGrad()
        z.maxPool2d(kernelSize: (1, 2), stride: (1, 1)).sum().backward()
        expectClose(z.grad!, [0, 2, 0])
    }

    @Test func avgPoolMatchesHandValues() {
        let x = Tensor(shape: [1, 1, 4, 4], scalars: (1...16).map(Float.init))
        expectClose(x.avgPool2d(2), [3.5, 5.5, 11.5, 13.5], shape: [1, 1, 2, 2])
        expectClose(x.avgPool2d(kernelSize: (3, 3), stride: (1, 1)), [6, 7, 10, 11], shape: [1, 1, 2, 2])
        // Padded zeros count in the average (count_include_pad): corner = 1/4, edge = (2+3)/4.
        expectClose(x.avgPool2d(kernelSize: (2, 2), padding: (1, 1)),
                    [0.25, 1.25, 1, 3.5, 8.5, 5, 3.25, 7.25, 4], shape: [1, 1, 3, 3])
        // Stride that leaves the last row and column out, with two channels and two images.
        let y = Tensor.arange(0, 2 * 2 * 3 * 3).reshaped([2, 2, 3, 3]).avgPool2d(2)
        expectClose(y, [2, 11, 20, 29], shape: [2, 2, 1, 1])
    }

    // MARK: pooling gradients

    @Test func maxPoolGradientsAreCorrect() {
        // Distinct values keep every window's maximum away from ties during the check.
        let x = randn([2, 2, 5, 4], seed: 81)
        expectGradientsCorrect([x]) { t in t[0].maxPool2d(kernelSize: (2, 2)) }
        expectGradientsCorrect([x]) { t in t[0].maxPool2d(kernelSize: (3, 2), stride: (1, 2), padding: (1, 1)) }
    }

    /// `reluMaxPool2d` is `relu().maxPool2d` to the bit: values, first-order gradients
    /// (random upstream gradients, so each element's share is checked) and the gradient of a
    /// gradient, in float32 (the fused kernel) on sizes with uncovered rows and columns, with
    /// many ties at 0 and some NaNs; float64, rank 3 and other windows take the two-op path.
    @Test func reluMaxPoolIsReLUThenMaxPoolToTheBit() {
        for (index, (shape, dtype)) in [([2, 3, 8, 8], DType.float32), ([3, 2, 7, 11], .float32), ([1, 2, 24, 24], .float32),
                                         ([2, 2, 5, 6], .float64), ([3, 6, 9], .float32)].enumerated() {
            let seed = UInt64(300 + 10 * index)
            var scalars = Tensor.randomNormal(shape, dtype: .float64, seed: seed).scalars(as: Double.self)
            for k in stride(from: 0, to: scalars.count, by: 7) { scalars[k] = 0 }
            if dtype == .float32 { scalars[3] = .nan; scalars[scalars.count - 2] = .nan }
            let x0 = Tensor(shape: shape, scalars: scalars, dtype: dtype)
            let pooledShape = shape.dropLast(2) + [shape[shape.count - 2] / 2, shape[shape.count - 1] / 2]
            let r0 = Tensor.randomNormal(Array(pooledShape), dtype: dtype, seed: seed + 1)
            let s0 = Tensor.randomNormal(shape, dtype: dtype, seed: seed + 2)
            func run(fused: Bool) -> [[UInt64]] {
                let x = x0.requiringGrad(), r = r0.requiringGrad()
                let y = fused ? x.reluMaxPool2d(kernelSize: (2, 2)) : x.relu().maxPool2d(2)
                let gx = gradients(of: (y * r).sum(), withRespectTo: [x], createGraph: true)[0]
                let gr = gradients(of: (gx * s0).sum(), withRespectTo: [r])[0]
                return [y, gx, gr].map { t in t.scalars(as: Double.self).map(\.bitPattern) }
            }
            let fused = run(fused: true), plain = run(fused: false)
            for (name, (a, b)) in zip(["values", "gradient", "second order"], zip(fused, plain)) {
                #expect(a == b, "\(name), shape \(shape) \(dtype)")
            }
            #expect(Set(fused[1]).count > 2, "shape \(shape): gradients reach several elements")
        }
        let x = randn([1, 1, 5, 5], seed: 83)
        expectClose(x.reluMaxPool2d(kernelSize: (3, 3), stride: (1, 1), padding: (1, 1)),
                    x.relu().maxPool2d(kernelSize: (3, 3), stride: (1, 1), padding: (1, 1)))
    }

    @Test func maxPoolSecondOrderIsCorrect() {
        let x = randn([1, 2, 4, 4], seed: 82)
        expectSecondOrderCorrect([x]) { t in t[0].maxPool2d(kernelSize: (2, 2), stride: (1, 1)).square() }
    }

    @Test func avgPoolGradientsAreCorrect() {
        let x = randn([2, 2, 5, 4], seed: 91)
        expectGradientsCorrect([x]) { t in t[0].avgPool2d(kernelSize: (2, 2)) }
        expectGradientsCorrect([x]) { t in t[0].avgPool2d(kernelSize: (3, 2), stride: (1, 2), padding: (1, 1)) }
        expectSecondOrderCorrect([randn([1, 1, 4, 4], seed: 92)]) { t in
            t[0].avgPool2d(kernelSize: (2, 2), stride: (1, 1), padding: (1, 0)).square()
        }
    }

    @Test func convolutionalNetworkTrainsEndToEnd() {
        // conv → relu → max pool → avg pool: the loss falls under plain gradient descent.
        var w = randn([4, 1, 3, 3], seed: 101, std: 0.5).requiringGrad()
        let x = randn([2, 1, 8, 8], seed: 102)
        func loss() -> Tensor {
            x.conv2d(w, padding: (1, 1)).relu().maxPool2d(2).avgPool2d(2).square().mean()
        }
        let before = loss().doubleScalar
        for _ in 0..<5 {
            let l = loss()
            l.backward()
            let g = w.grad!
            w.zeroGrad()
            withoutGradients { w.assign(w - g * 0.5) }
        }
        #expect(loss().doubleScalar < before)
    }

    // MARK: bad arguments

    @Test func badShapesStopTheProgram() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([10, 3, 28, 28]).conv2d(Tensor.zeros([20, 1, 5, 5]))
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("conv2d: input [10, 3, 28, 28] has 3 channels but weight [20, 1, 5, 5] expects 1"))
        await #expect(processExitsWith: .failure) {
            _ = Tensor.zeros([1, 1, 3, 3]).conv2d(Tensor.zeros([1, 1, 5, 5]), padding: (0, 0))
        }
        await #expect(processExitsWith: .failure) {
            _ = Tensor.zeros([1, 1, 4, 4]).maxPool2d(kernelSize: (2, 2), stride: (0, 1))
        }
    }
}

struct ParallelTests {
    /// The one thread pool behind every parallel loop: each task runs exactly once, and a
    /// parallel loop inside a task (the pool is busy) runs on the calling thread and
    /// finishes.
    @Test func parallelForRunsEveryTaskOnceAndNests() {
        withThreads(2) {
            let n = 1000
            let counts = UnsafeMutablePointer<Int>.allocate(capacity: n * 3)
            counts.initialize(repeating: 0, count: n * 3)
            defer { counts.deallocate() }
            Threading.parallelFor(n) { i in
                counts[i] += 1
                Threading.parallelFor(2) { j in counts[n + 2 * i + j] += 1 }
            }
            #expect((0..<n).allSatisfy { counts[$0] == 1 })
            #expect((n..<3 * n).allSatisfy { counts[$0] == 1 })
        }
    }
}

// In the kernel suite, whose tests run one at a time: this one switches the ISA, the
// thread count and the Winograd setting, which other kernel tests also switch.
extension KernelTests {
    /// float32 5×5 convolutions with 8 or more channels run on the Winograd kernels: the
    /// forward pass and both gradients match the float64 direct sums to within 3e-5
    /// of the sum of the terms' magnitudes (float's own rounding over these sums is ~1e-7
    /// of it; the transforms add about ten times that), on every ISA, with results that
    /// do not depend on the thread count. The shapes have ragged edge tiles, padding, more
    /// tiles than one chunk of the kernels (the third), and none of those (the last).
    @Test(arguments: [ConvCase([2, 8, 11, 9], [8, 8, 5, 5]),
                      ConvCase([3, 9, 7, 13], [10, 9, 5, 5], padding: (2, 1)),
                      ConvCase([20, 8, 20, 18], [8, 8, 5, 5], padding: (1, 2)),
                      ConvCase([2, 8, 6, 7], [9, 8, 5, 5], padding: (4, 3)),
                      // every tile inside image and output: the vector load/store paths
                      ConvCase([4, 8, 12, 12], [8, 8, 5, 5])])
    func winogradMatchesDirectSums(_ c: ConvCase) {
        // on here even under NABLA_WINOGRAD=0 (this thread's setting: the cases run in parallel)
        withKernelSettings({ $0.winograd = 1 }) { winogradMatchesDirectSumsWhenOn(c) }
    }

    func winogradMatchesDirectSumsWhenOn(_ c: ConvCase) {
        let x = randn(c.input, seed: 31), w = randn(c.weight, seed: 32), b = randn([c.weight[0]], seed: 33)
        let g = Conv2dGeometry(input: c.input, weight: c.weight, stride: (1, 1), padding: c.padding,
                               dilation: (1, 1), op: "test")
        #expect(Conv2dKernels.usesWinograd(g, dtype: .float32))
        #expect(!Conv2dKernels.usesWinograd(g, dtype: .float64))
        let y = naiveConv2d(x, w, bias: b, padding: c.padding)
        let yBound = naiveConv2d(x.abs(), w.abs(), bias: b.abs(), padding: c.padding)
        let gy = randn(y.shape, seed: 34)
        let gw = Tensor.conv2dBackwardWeight(x, gy, g)   // float64: the direct path
        let gwBound = Tensor.conv2dBackwardWeight(x.abs(), gy.abs(), g)
        let gx = Tensor.conv2dBackwardInput(gy, w, g)
        let gxBound = Tensor.conv2dBackwardInput(gy.abs(), w.abs(), g)
        func within(_ got: Tensor, _ want: Tensor, _ bound: Tensor, _ what: String) {
            let a = got.scalars(as: Double.self), e = want.scalars(as: Double.self), m = bound.scalars(as: Double.self)
            let bad = a.indices.first { !(abs(a[$0] - e[$0]) <= 3e-5 * m[$0] + 1e-6) }
            #expect(bad == nil, "\(what) \(c): element \(bad ?? -1): \(bad.map { a[$0] } ?? 0) vs \(bad.map { e[$0] } ?? 0)")
        }
        let x32 = x.cast(to: .float32), w32 = w.cast(to: .float32), b32 = b.cast(to: .float32)
        let gy32 = gy.cast(to: .float32)
        forEachISA { isa in
            func all() -> [Tensor] {
                [x32.conv2d(w32, bias: b32, padding: c.padding), Tensor.conv2dBackwardWeight(x32, gy32, g),
                 Tensor.conv2dBackwardInput(gy32, w32, g)]
            }
            let one = withThreads(1) { all() }, two = withThreads(2) { all() }
            within(one[0], y, yBound, "forward isa \(isa)")
            within(one[1], gw, gwBound, "weight gradient isa \(isa)")
            within(one[2], gx, gxBound, "input gradient isa \(isa)")
            for (a, b) in zip(one, two) {
                #expect(a.scalars(as: Float.self) == b.scalars(as: Float.self), "threads isa \(isa)")
            }
        }
        // Turned off, the same op takes the direct path (and agrees).
        withKernelSettings({ $0.winograd = 0 }) {
            #expect(!Conv2dKernels.usesWinograd(g, dtype: .float32))
            let direct = x32.conv2d(w32, bias: b32, padding: c.padding)
            within(direct, y, yBound, "direct")
        }
    }
}
