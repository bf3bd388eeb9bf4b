import Nabla

/// One gradient check: an op applied to random float64 inputs.
struct GradientCase {
    let op: String
    let shapes: String
    let inputs: [Tensor]
    let secondOrder: Bool
    /// Step of the central difference (larger where the op rounds through float32).
    let eps: Double
    let function: ([Tensor]) -> Tensor

    init(_ op: String, _ inputs: [Tensor], secondOrder: Bool = false, eps: Double = 1e-6,
         _ function: @escaping ([Tensor]) -> Tensor) {
        self.op = op
        self.inputs = inputs
        self.shapes = inputs.map { "[" + $0.shape.map(String.init).joined(separator: ",") + "]" }.joined(separator: " ")
        self.secondOrder = secondOrder
        self.eps = eps
        self.function = function
    }
}

/// Random inputs: a fixed seed per call site keeps the run reproducible.
nonisolated(unsafe) private var seedCounter: UInt64 = 1000
func rand(_ shape: [Int], positive: Bool = false, scale: Double = 1) -> Tensor {
    seedCounter += 1
    let t = Tensor.randomNormal(shape, std: scale, dtype: .float64, seed: seedCounter)
    return positive ? t.abs() + 0.5 : t
}

func allCases() -> [GradientCase] {
    var cases: [GradientCase] = []
    func add(_ op: String, _ inputs: [Tensor], secondOrder: Bool = false, eps: Double = 1e-6,
             _ f: @escaping ([Tensor]) -> Tensor) {
        cases.append(GradientCase(op, inputs, secondOrder: secondOrder, eps: eps, f))
    }
    // Arithmetic with broadcasting and scalars on either side.
    add("add", [rand([3, 4]), rand([4])]) { $0[0] + $0[1] }
    add("add", [rand([2, 1, 3]), rand([4, 1])]) { $0[0] + $0[1] }
    add("sub", [rand([3, 1]), rand([1, 4])]) { $0[0] - $0[1] }
    add("mul", [rand([2, 3, 4]), rand([3, 1])]) { $0[0] * $0[1] }
    add("div", [rand([3, 4]), rand([4], positive: true)]) { $0[0] / $0[1] }
    add("scalar ops", [rand([3, 4])]) { 2 * $0[0] - 1 + 3 / ($0[0] * $0[0] + 1) }
    add("neg", [rand([5])]) { -$0[0] }
    // Fan-out: a value used by several consumers gets the sum of their gradients.
    add("fan-out", [rand([3, 3])]) { x in let b = x[0] + x[0]; return b * b + x[0].exp() + x[0] }
    add("abs", [rand([3, 4])]) { $0[0].abs() }
    add("exp", [rand([3, 4])]) { $0[0].exp() }
    add("log", [rand([3, 4], positive: true)]) { $0[0].log() }
    add("sqrt", [rand([3, 4], positive: true)]) { $0[0].sqrt() }
    add("pow", [rand([3, 4], positive: true), rand([4])]) { $0[0].pow($0[1]) }
    add("pow scalar", [rand([3, 4], positive: true)]) { $0[0].pow(1.7) }
    add("square", [rand([3, 4])]) { $0[0].square() }
    add("clamp", [rand([3, 4])]) { $0[0].clamp(min: -0.5, max: 0.5) }
    add("maximum", [rand([3, 4]), rand([4])]) { Tensor.maximum($0[0], $0[1]) }
    add("minimum", [rand([3, 1]), rand([3, 4])]) { Tensor.minimum($0[0], $0[1]) }
    add("sigmoid", [rand([3, 4], scale: 3)]) { $0[0].sigmoid() }
    add("tanh", [rand([3, 4])]) { $0[0].tanh() }
    add("relu", [rand([3, 4])]) { $0[0].relu() }
    add("leakyRelu", [rand([3, 4])]) { $0[0].leakyRelu(negativeSlope: 0.1) }
    add("elu", [rand([3, 4])]) { $0[0].elu(alpha: 1.0) }
    add("softplus", [rand([3, 4], scale: 3)]) { $0[0].softplus() }
    add("gelu", [rand([3, 4])]) { $0[0].gelu() }
    add("erf", [rand([3, 4])]) { $0[0].erf() }
    add("softmax", [rand([3, 5])]) { $0[0].softmax(axis: 1) }
    add("softmax", [rand([2, 3, 4])]) { $0[0].softmax(axis: 0) }
    add("logSoftmax", [rand([4, 5], scale: 10)]) { $0[0].logSoftmax(axis: -1) }
    // Reductions.
    add("sum", [rand([2, 3, 4])]) { $0[0].sum(axes: [0, 2]) }
    add("sum keepDims", [rand([2, 3, 4])]) { $0[0].sum(axis: 1, keepDims: true) * $0[0] }
    add("mean", [rand([2, 3, 4])]) { $0[0].mean(axes: [1]) }
    add("max", [rand([3, 5])]) { $0[0].max(axis: 1) }
    add("min", [rand([3, 5])]) { $0[0].min(axes: [0], keepDims: true) }
    add("variance", [rand([3, 5])]) { $0[0].variance(axis: 1) }
    add("logSumExp", [rand([3, 5], scale: 5)]) { $0[0].logSumExp(axes: [1]) }
    // Products and shapes.
    add("matmul", [rand([3, 4]), rand([4, 5])]) { $0[0].matmul($0[1]) }
    add("matmul batched", [rand([2, 3, 4]), rand([4, 2])]) { $0[0].matmul($0[1]) }
    add("matmul broadcast", [rand([2, 1, 3, 4]), rand([3, 4, 2])]) { $0[0].matmul($0[1]) }
    add("matmul vector", [rand([4]), rand([4, 3])]) { $0[0].matmul($0[1]) }
    add("matmul transposed", [rand([4, 3]), rand([5, 4])]) { Tensor.matmul($0[0], $0[1], transposeA: true, transposeB: true) }
    add("linear", [rand([3, 4]), rand([5, 4]), rand([5])]) { Tensor.linear($0[0], weight: $0[1], bias: $0[2]).tanh() }
    add("linear batched, no bias", [rand([2, 3, 4]), rand([2, 4])]) { Tensor.linear($0[0], weight: $0[1], bias: nil).exp() }
    add("linear+sigmoid", [rand([3, 4]), rand([5, 4]), rand([5])]) { Tensor.linear($0[0], weight: $0[1], bias: $0[2], activation: .sigmoid) }
    add("linear+tanh batched", [rand([2, 3, 4]), rand([2, 4]), rand([2])]) { Tensor.linear($0[0], weight: $0[1], bias: $0[2], activation: .tanh) }
    add("linear+relu, no bias", [rand([3, 4]), rand([5, 4])]) { Tensor.linear($0[0], weight: $0[1], bias: nil, activation: .relu) }
    add("squaredDistance", [rand([3, 4]), rand([3, 4])]) { Tensor.squaredDistance($0[0], $0[1], scale: 0.25) }
    add("transpose", [rand([3, 4])]) { $0[0].transposed() * Tensor.arange(0, 12, dtype: .float64).reshaped(4, 3) }
    add("permute", [rand([2, 3, 4])]) { $0[0].permuted(2, 0, 1) }
    add("reshape", [rand([2, 6])]) { $0[0].reshaped(3, 4).sigmoid() }
    add("flatten", [rand([2, 3, 2])]) { $0[0].flattened(from: 1).exp() }
    add("squeeze/unsqueeze", [rand([3, 1])]) { $0[0].squeezed().unsqueezed(axis: 0).exp() }
    add("broadcast", [rand([3, 1])]) { $0[0].broadcast(to: [2, 3, 4]).exp() }
    add("where", [rand([3, 4]), rand([4])]) { x in Tensor.where(x[0] .> 0, x[0], x[1]) }
    // Through float32 and back: the difference step must dwarf float32 rounding.
    add("cast", [rand([3])], eps: 1e-2) { $0[0].cast(to: .float32).cast(to: .float64) * 2 }
    // Slicing, joining, padding and indexing.
    add("slice", [rand([4, 6])]) { $0[0].slice(axis: 1, start: 1, end: -1, step: 2).exp() }
    add("subscript", [rand([3, 4, 5])]) { $0[0][1..., 0..<3, 2].sigmoid() }
    add("concat", [rand([2, 3]), rand([2, 2])]) { Tensor.concat([$0[0], $0[1], $0[0]], axis: 1).square() }
    add("stack", [rand([2, 3]), rand([2, 3])]) { Tensor.stack([$0[0], $0[1]], axis: 1).tanh() }
    add("split", [rand([6, 2])]) { x in let p = x[0].split(sizes: [1, 2, 3], axis: 0); return p[0].sum() * p[2].sum() + p[1].square().sum() }
    add("pad", [rand([2, 3])]) { $0[0].padded([(1, 0), (2, 1)], value: 0.5).exp() }
    add("gather", [rand([3, 4])]) { $0[0].gathered(indices: Tensor(shape: [3, 2], scalars: [0, 3, 1, 1, 2, 0] as [Double]), axis: 1).exp() }
    add("indexSelect", [rand([4, 3])]) { $0[0].indexSelect(indices: [3, 0, 3], axis: 0).sigmoid() }
    add("dropout", [rand([3, 4])]) { x in
        var g = RandomGenerator(seed: 5)
        return x[0].dropout(mask: Tensor.dropoutMask(shape: [3, 4], keepProbability: 0.5, dtype: .float64, using: &g),
                            keepProbability: 0.5)
    }
    // Convolution, pooling and batch normalization (NCHW).
    add("conv2d", [rand([2, 2, 5, 5]), rand([3, 2, 3, 3]), rand([3])]) { $0[0].conv2d($0[1], bias: $0[2]) }
    add("conv2d stride/pad", [rand([1, 2, 6, 5]), rand([2, 2, 3, 2])]) { $0[0].conv2d($0[1], stride: (2, 1), padding: (1, 1)) }
    add("conv2d dilation", [rand([1, 1, 7, 7]), rand([2, 1, 3, 3])]) { $0[0].conv2d($0[1], dilation: (2, 2)) }
    add("maxPool2d", [rand([2, 2, 4, 4])]) { $0[0].maxPool2d(kernelSize: (2, 2)) }
    add("maxPool2d overlap/pad", [rand([1, 2, 5, 5])]) { $0[0].maxPool2d(kernelSize: (3, 3), stride: (2, 2), padding: (1, 1)) }
    add("avgPool2d", [rand([2, 2, 4, 6])]) { $0[0].avgPool2d(kernelSize: (2, 3), padding: (1, 1)) }
    add("batchNorm", [rand([3, 2, 2, 2]), rand([2]), rand([2])]) { x in
        x[0].batchNormalized(weight: x[1], bias: x[2]).output * Tensor.arange(0, 24, dtype: .float64).reshaped(3, 2, 2, 2)
    }
    add("batchNorm + ReLU", [rand([3, 2, 2, 2]), rand([2]), rand([2])]) { x in
        x[0].batchNormalized(weight: x[1], bias: x[2], thenReLU: true).output * Tensor.arange(0, 24, dtype: .float64).reshaped(3, 2, 2, 2)
    }
    // Second order: gradients of gradients.
    for (name, f) in [("sigmoid", { (x: [Tensor]) in x[0].sigmoid() }),
                      ("tanh", { (x: [Tensor]) in x[0].tanh() }),
                      ("exp", { (x: [Tensor]) in x[0].exp() }),
                      ("softmax", { (x: [Tensor]) in x[0].softmax(axis: 1) }),
                      ("logSoftmax", { (x: [Tensor]) in x[0].logSoftmax(axis: 1) })] {
        add(name, [rand([2, 3])], secondOrder: true, f)
    }
    add("mul", [rand([2, 3]), rand([2, 3])], secondOrder: true) { $0[0] * $0[1] }
    add("matmul", [rand([2, 3]), rand([3, 2])], secondOrder: true) { $0[0].matmul($0[1]) }
    add("linear", [rand([2, 3]), rand([2, 3]), rand([2])], secondOrder: true) { Tensor.linear($0[0], weight: $0[1], bias: $0[2]).tanh() }
    add("linear+sigmoid", [rand([2, 3]), rand([2, 3]), rand([2])], secondOrder: true) { Tensor.linear($0[0], weight: $0[1], bias: $0[2], activation: .sigmoid) }
    add("squaredDistance", [rand([2, 3]), rand([2, 3])], secondOrder: true) { Tensor.squaredDistance($0[0].tanh(), $0[1], scale: 0.5) }
    add("conv2d", [rand([1, 1, 4, 4]), rand([2, 1, 2, 2])], secondOrder: true) { $0[0].conv2d($0[1]).tanh() }
    add("batchNorm", [rand([3, 2, 2]), rand([2])], secondOrder: true) { $0[0].batchNormalized(weight: $0[1], bias: nil).output.tanh() }
    add("batchNorm + ReLU", [rand([3, 2, 2]), rand([2])], secondOrder: true) {
        $0[0].batchNormalized(weight: $0[1], bias: nil, thenReLU: true).output.tanh()
    }
    return cases
}
