extension Tensor {
    /// x·Wᵀ + b, PyTorch's `F.linear`, as one op: the affine map of a fully connected layer.
    ///
    /// - Parameters:
    ///   - input: `[…, inFeatures]`; every leading dimension is a batch dimension, and a
    ///     vector `[inFeatures]` is one example.
    ///   - weight: `[outFeatures, inFeatures]` (PyTorch's layout), read transposed in place.
    ///   - bias: `[outFeatures]`, added to every row, or nil.
    /// - Returns: `[…, outFeatures]`.
    ///
    /// The values are exactly those of `matmul(input, weight, transposeB: true) + bias`: the
    /// output rows start as copies of the bias and the product is added to them with one
    /// rounding, as the separate add would round. One node instead of two saves the second
    /// output buffer and, in the backward pass, the add's step and its reduction back to
    /// the bias's shape through the engine (10 × 30 × 10 with a bias, recorded: 0.66 µs
    /// against 0.85 for the two ops).
    ///
    /// ```swift
    /// let y = Tensor.linear(x, weight: w, bias: b)   // x [10, 784], w [30, 784], b [30] → [10, 30]
    /// ```
    public static func linear(_ input: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        if input.rank == 1 {
            return linear(input.unsqueezed(axis: 0), weight: weight, bias: bias).squeezed(axes: [0])
        }
        // The backward reads the sizes from the inputs rather than capturing them: a closure
        // that captures nothing needs no allocated context.
        return linearValues(input, weight: weight, bias: bias).recorded("linear", input, weight, bias) { g, c in
            linearGradients(g, c)
        }
    }

    /// The activation functions `linear(_:weight:bias:activation:)` can apply in the same op.
    public enum Activation: Sendable {
        /// max(z, 0), as `relu()`.
        case relu
        /// 1 / (1 + e^−z), as `sigmoid()`.
        case sigmoid
        /// tanh(z), as `tanh()`.
        case tanh
    }

    /// activation(x·Wᵀ + b) as one op: a dense layer and the activation after it.
    ///
    /// The values and the gradients are those of `linear(input, weight:, bias:)` followed by
    /// `relu()`, `sigmoid()` or `tanh()`, bit for bit: the activation runs in place on the
    /// affine output with the same kernel, and the backward applies the activation's own
    /// backward formula before the linear one. One node instead of two saves an output
    /// buffer and a graph node forward, and a step of the engine backward. `Sequential`
    /// runs a `Dense` followed by a `ReLU`, `Sigmoid` or `Tanh` layer through it.
    ///
    /// ```swift
    /// let h = Tensor.linear(x, weight: w, bias: b, activation: .sigmoid)   // σ(x·Wᵀ + b)
    /// ```
    public static func linear(_ input: Tensor, weight: Tensor, bias: Tensor?, activation: Activation) -> Tensor {
        if input.rank == 1 {
            return linear(input.unsqueezed(axis: 0), weight: weight, bias: bias, activation: activation)
                .squeezed(axes: [0])
        }
        var z = linearValues(input, weight: weight, bias: bias)
        // One closure per activation, so that none captures the choice (see above).
        switch activation {
        case .relu:
            z.applyInPlace(ReluKernel.self)
            return z.recorded("linear+relu", input, weight, bias, savingOutput: true) { g, c in
                linearGradients(reluBackward(g, c.output), c)
            }
        case .sigmoid:
            z.applyInPlace(SigmoidKernel.self)
            return z.recorded("linear+sigmoid", input, weight, bias, savingOutput: true) { g, c in
                linearGradients(sigmoidBackward(g, c.output), c)
            }
        case .tanh:
            z.applyInPlace(TanhKernel.self)
            return z.recorded("linear+tanh", input, weight, bias, savingOutput: true) { g, c in
                linearGradients(tanhBackward(g, c.output), c)
            }
        }
    }

    /// x·Wᵀ + b, checked, with no graph node. The public ops turn a vector input into one
    /// row before calling it; a scalar input stops here with the rank rule.
    private static func linearValues(_ input: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        guard input.rank >= 1, weight.rank == 2 else {
            opFailure("linear", "input \(describe(input.shape)) needs rank ≥ 1 and weight \(describe(weight.shape)) rank 2 ([outFeatures, inFeatures])")
        }
        let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
        guard input.shape[input.rank - 1] == inFeatures else {
            opFailure("linear", "input \(describe(input.shape)) has \(input.shape[input.rank - 1]) features, weight \(describe(weight.shape)) expects \(inFeatures) (its second dimension)")
        }
        guard input.dtype == weight.dtype else {
            opFailure("linear", "input is \(input.dtype) but weight is \(weight.dtype); convert one with cast(to:)")
        }
        if let bias {
            guard bias.rank == 1 && bias.shape[0] == outFeatures else {
                opFailure("linear", "bias \(describe(bias.shape)) must have shape [\(outFeatures)] (one value per row of weight \(describe(weight.shape)))")
            }
            guard bias.dtype == input.dtype else {
                opFailure("linear", "bias is \(bias.dtype) but input is \(input.dtype)")
            }
        }
        let batchRows = inFeatures > 0 ? input.count / inFeatures : Array(input.shape.dropLast()).elementCount
        var outShape = input.shape
        outShape[outShape.count - 1] = outFeatures
        let out = TensorStorage.make(count: batchRows * outFeatures, dtype: input.dtype)
        let size = input.dtype.byteCount
        if let bias {
            let rowBytes = outFeatures * size
            for r in 0..<batchRows { (out.base + r * rowBytes).copyMemory(from: bias.storage.base, byteCount: rowBytes) }
        }
        if batchRows > 0 && outFeatures > 0 {
            gemm(input.storage.base, weight.storage.base, out.base, dtype: input.dtype, m: batchRows, n: outFeatures,
                 k: inFeatures, transposeA: false, transposeB: true, lda: inFeatures, ldb: inFeatures,
                 accumulate: bias != nil)
        }
        return Tensor(storage: out, shape: outShape)
    }

    /// The gradients of x·Wᵀ + b (input, weight, bias of the node `c`) for the output
    /// gradient `g`: matmul's products, with the batch folded into rows, and the bias's sum
    /// over them.
    private static func linearGradients(_ g: Tensor, _ c: BackwardContext) -> TensorList {
        let x = c.input(0), w = c.input(1)
        let (outFeatures, inFeatures) = (w.shape[0], w.shape[1])
        let batchRows = x.rank == 2 ? x.shape[0] : Array(x.shape.dropLast()).elementCount
        let g2 = g.rank == 2 ? g : g.reshaped([batchRows, outFeatures])
        var gx: Tensor? = nil, gw: Tensor? = nil, gb: Tensor? = nil
        if c.needsGradient(0) {
            let product = matmul(g2, w, transposeA: false, transposeB: false)
            gx = x.rank == 2 ? product : product.reshaped(x.shape)
        }
        if c.needsGradient(1) {
            // gᵀ·x, handed to the engine unformed when the weight is a leaf that only
            // stores it (plain SGD then adds it to the weights in one GEMM).
            let x2 = x.rank == 2 ? x : x.reshaped([batchRows, inFeatures])
            if !c.deferProduct(toInput: 1, g2, x2, transposeA: true, transposeB: false) {
                gw = matmul(g2, x2, transposeA: true, transposeB: false)
            }
        }
        if c.inputCount == 3 && c.needsGradient(2) { gb = g2.sum(axes: [0]) }
        return TensorList(gx, gw, gb)
    }
}
