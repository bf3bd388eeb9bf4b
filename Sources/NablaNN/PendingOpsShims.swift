// TEMPORARY: replaced when ops-conv/ops-index land
//
// Naive stand-ins for core ops that other branches are adding to `Nabla`, with the exact
// signatures those branches publish, so that the layers build and can be tested now.
// Everything here is slow (index lists built element by element) and meant for tiny shapes;
// the lead deletes this file when the real ops are merged.
//
// All of them rest on one differentiable primitive, a gather by flat index (with a fill
// value for padding), whose backward is a scatter-add whose backward is the gather again,
// so first and second derivatives both work.
import Nabla

// TEMPORARY: replaced when ops-conv/ops-index land
private func shimGatherValues(_ x: Tensor, _ sources: [Int], _ shape: [Int], fill: Double) -> Tensor {
    var out = Tensor.zeros(shape, dtype: x.dtype)
    func run<T: TensorScalar>(_: T.Type) {
        x.withUnsafeBufferPointer(as: T.self) { src in
            out.withUnsafeMutableBufferPointer(as: T.self) { dst in
                let f = T(fill)
                for i in 0..<sources.count { dst[i] = sources[i] >= 0 ? src[sources[i]] : f }
            }
        }
    }
    switch x.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    }
    return out
}

// TEMPORARY: replaced when ops-conv/ops-index land
private func shimScatterAddValues(_ g: Tensor, _ sources: [Int], _ shape: [Int]) -> Tensor {
    var out = Tensor.zeros(shape, dtype: g.dtype)
    func run<T: TensorScalar>(_: T.Type) {
        g.withUnsafeBufferPointer(as: T.self) { src in
            out.withUnsafeMutableBufferPointer(as: T.self) { dst in
                for i in 0..<sources.count where sources[i] >= 0 { dst[sources[i]] += src[i] }
            }
        }
    }
    switch g.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    }
    return out
}

// TEMPORARY: replaced when ops-conv/ops-index land
/// out[i] = x.flat[sources[i]], or `fill` where sources[i] < 0.
private func shimGather(_ x: Tensor, _ sources: [Int], shape: [Int], fill: Double = 0) -> Tensor {
    let inputShape = x.shape
    return Tensor.customOp("gather", inputs: [x],
                           forward: { shimGatherValues($0[0], sources, shape, fill: fill) },
                           backward: { g, _, _ in [shimScatterAdd(g, sources, shape: inputShape)] })
}

// TEMPORARY: replaced when ops-conv/ops-index land
private func shimScatterAdd(_ g: Tensor, _ sources: [Int], shape: [Int]) -> Tensor {
    let gShape = g.shape
    return Tensor.customOp("scatterAdd", inputs: [g],
                           forward: { shimScatterAddValues($0[0], sources, shape) },
                           backward: { gg, _, _ in [shimGather(gg, sources, shape: gShape)] })
}

// TEMPORARY: replaced when ops-conv/ops-index land
/// Flat input indices of every (n, c, oh, ow, kh, kw) window element, -1 for padding.
private func shimWindowSources(_ shape: [Int], kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int),
                               dilation: (Int, Int), channelsLast: Bool) -> (sources: [Int], oh: Int, ow: Int) {
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    let oh = (h + 2 * padding.0 - dilation.0 * (kernel.0 - 1) - 1) / stride.0 + 1
    let ow = (w + 2 * padding.1 - dilation.1 * (kernel.1 - 1) - 1) / stride.1 + 1
    var sources: [Int] = []
    sources.reserveCapacity(n * c * oh * ow * kernel.0 * kernel.1)
    func source(_ b: Int, _ ch: Int, _ y: Int, _ x: Int, _ ky: Int, _ kx: Int) -> Int {
        let iy = y * stride.0 - padding.0 + ky * dilation.0
        let ix = x * stride.1 - padding.1 + kx * dilation.1
        return iy < 0 || iy >= h || ix < 0 || ix >= w ? -1 : ((b * c + ch) * h + iy) * w + ix
    }
    if channelsLast {
        // [N, OH·OW, C·KH·KW]: the im2col layout a matrix product wants.
        for b in 0..<n { for y in 0..<max(oh, 0) { for x in 0..<max(ow, 0) {
            for ch in 0..<c { for ky in 0..<kernel.0 { for kx in 0..<kernel.1 {
                sources.append(source(b, ch, y, x, ky, kx))
            } } }
        } } }
    } else {
        // [N, C, OH, OW, KH·KW]: one window per output element, for pooling.
        for b in 0..<n { for ch in 0..<c { for y in 0..<max(oh, 0) { for x in 0..<max(ow, 0) {
            for ky in 0..<kernel.0 { for kx in 0..<kernel.1 { sources.append(source(b, ch, y, x, ky, kx)) } }
        } } } }
    }
    return (sources, oh, ow)
}

extension Tensor {
    // TEMPORARY: replaced when ops-conv/ops-index land
    /// 2-D convolution (cross-correlation, as PyTorch) of an NCHW input with a weight
    /// [Cout, Cin, KH, KW] and an optional bias [Cout].
    public func conv2d(_ weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                       padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1)) -> Tensor {
        guard rank == 4, weight.rank == 4, shape[1] == weight.shape[1] else {
            fatalError("conv2d: input \(shape) and weight \(weight.shape) do not fit (expected [N, C, H, W] and [Cout, C, KH, KW])")
        }
        let (n, cout, cin) = (shape[0], weight.shape[0], weight.shape[1])
        let k = (weight.shape[2], weight.shape[3])
        let (sources, oh, ow) = shimWindowSources(shape, kernel: k, stride: stride, padding: padding,
                                                  dilation: dilation, channelsLast: true)
        guard oh > 0, ow > 0 else { fatalError("conv2d: input \(shape) is smaller than the kernel \(weight.shape)") }
        let columns = shimGather(self, sources, shape: [n, oh * ow, cin * k.0 * k.1])
        let product = Tensor.matmul(columns, weight.reshaped([cout, cin * k.0 * k.1]),
                                    transposeA: false, transposeB: true)        // [N, OH·OW, Cout]
        var out = product.permuted([0, 2, 1]).reshaped([n, cout, oh, ow])
        if let bias { out = out + bias.reshaped([1, cout, 1, 1]) }
        return out
    }

    // TEMPORARY: replaced when ops-conv/ops-index land
    /// Max pooling over NCHW windows (padding counts as −∞). Stride defaults to the kernel size.
    public func maxPool2d(kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) -> Tensor {
        guard rank == 4 else { fatalError("maxPool2d: input \(shape) is not [N, C, H, W]") }
        let (sources, oh, ow) = shimWindowSources(shape, kernel: kernelSize, stride: stride ?? kernelSize,
                                                  padding: padding, dilation: (1, 1), channelsLast: false)
        let windows = shimGather(self, sources, shape: [shape[0], shape[1], oh, ow, kernelSize.0 * kernelSize.1],
                                 fill: -.infinity)
        return windows.max(axis: -1)
    }

    // TEMPORARY: replaced when ops-conv/ops-index land
    /// Average pooling over NCHW windows (padding counts as zeros in the average, as
    /// PyTorch's default). Stride defaults to the kernel size.
    public func avgPool2d(kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) -> Tensor {
        guard rank == 4 else { fatalError("avgPool2d: input \(shape) is not [N, C, H, W]") }
        let (sources, oh, ow) = shimWindowSources(shape, kernel: kernelSize, stride: stride ?? kernelSize,
                                                  padding: padding, dilation: (1, 1), channelsLast: false)
        let windows = shimGather(self, sources, shape: [shape[0], shape[1], oh, ow, kernelSize.0 * kernelSize.1])
        return windows.mean(axis: -1)
    }

}
