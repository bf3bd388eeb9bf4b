import Nabla

/// Batch normalization (PyTorch's `BatchNorm1d` and `BatchNorm2d` in one layer): each
/// channel is normalized by the batch's mean and variance while training, and by running
/// estimates of them at inference, then scaled and shifted by learned parameters.
///
/// Works on `[N, C]`, `[N, C, L]` and `[N, C, H, W]` inputs (channels on axis 1). While
/// training, the running statistics follow PyTorch exactly:
/// running = (1 − momentum)·running + momentum·batch, where the batch variance put into the
/// running variance is the unbiased one (divided by n − 1) and the one used to normalize is
/// the biased one (divided by n).
///
/// ```swift
/// let bn = BatchNorm(16)
/// let y = bn(x)          // training: batch statistics, running ones updated
/// bn.eval()
/// let z = bn(x)          // inference: running statistics
/// ```
public final class BatchNorm: Module, CustomStringConvertible, TrainingModeSensitive {
    /// Per-channel scale γ, `[featureCount]`, or nil when built with `affine: false`.
    public let weight: Parameter?
    /// Per-channel shift β, `[featureCount]`, or nil when built with `affine: false`.
    public let bias: Parameter?
    /// The running mean of each channel (PyTorch's `running_mean`), used at inference.
    public let runningMean: Buffer
    /// The running unbiased variance of each channel (PyTorch's `running_var`).
    public let runningVariance: Buffer
    /// The number of channels.
    public let featureCount: Int
    /// Added to the variance before the square root, so that constant channels do not divide by zero.
    public let epsilon: Double
    /// The weight of the newest batch in the running statistics.
    public let momentum: Double
    /// True while training (batch statistics), false at inference (running statistics).
    public var isTraining = true

    /// A batch-norm layer for `featureCount` channels; γ starts at ones and β at zeros unless
    /// other initializers are given. The running mean starts at 0 and the variance at 1.
    public init(_ featureCount: Int, epsilon: Double = 1e-5, momentum: Double = 0.1, affine: Bool = true,
                weightInitializer: Initializer = .ones, biasInitializer: Initializer = .zeros,
                dtype: DType = .float32, seed: UInt64? = nil) {
        guard featureCount > 0, epsilon >= 0, momentum >= 0, momentum <= 1 else {
            layerFailure("BatchNorm(\(featureCount))", "needs a positive feature count, epsilon ≥ 0 and momentum in [0, 1] (got \(epsilon), \(momentum))")
        }
        self.featureCount = featureCount
        self.epsilon = epsilon
        self.momentum = momentum
        var g = layerGenerator(seed: seed)
        let fans = Initializer.Fans(fanIn: featureCount, fanOut: featureCount)
        weight = affine ? Parameter(weightInitializer.make([featureCount], fans: fans, dtype: dtype, using: &g)) : nil
        bias = affine ? Parameter(biasInitializer.make([featureCount], fans: fans, dtype: dtype, using: &g)) : nil
        runningMean = Buffer(Tensor.zeros([featureCount], dtype: dtype))
        runningVariance = Buffer(Tensor.ones([featureCount], dtype: dtype))
    }

    /// How the layer names itself in printouts and error messages.
    public var description: String { "BatchNorm(\(featureCount))" }

    /// The normalized, scaled and shifted input.
    public func callAsFunction(_ input: Tensor) -> Tensor { normalized(input, thenReLU: false) }

    /// `relu(self(input))`, with the ReLU folded into the batch norm's own passes over memory
    /// while training (`Sequential` calls this for a BatchNorm followed by a ReLU).
    public func normalizedThenReLU(_ input: Tensor) -> Tensor { normalized(input, thenReLU: true) }

    private func normalized(_ input: Tensor, thenReLU: Bool) -> Tensor {
        guard input.rank >= 2, input.shape[1] == featureCount else {
            layerFailure(description, "input \(describeShape(input.shape)) does not have \(featureCount) channels on axis 1 (expected [N, \(featureCount)] or [N, \(featureCount), …])")
        }
        requireDType(input, runningMean.value.dtype, layer: description)
        var statShape = [Int](repeating: 1, count: input.rank)
        statShape[1] = featureCount
        if isTraining {
            let n = input.count / featureCount
            guard n > 1 else {
                layerFailure(description, "input \(describeShape(input.shape)) has one value per channel; training needs more than one (use a larger batch or eval())")
            }
            // One fused op: normalization, scale and shift, with the batch statistics.
            let (output, batchMean, batchVariance) = input.batchNormalized(
                weight: weight?.value, bias: bias?.value, epsilon: epsilon, thenReLU: thenReLU)
            withoutGradients {
                let m = momentum
                let unbiased = batchVariance * (Double(n) / Double(n - 1))
                runningMean.value = runningMean.value * (1 - m) + batchMean * m
                runningVariance.value = runningVariance.value * (1 - m) + unbiased * m
            }
            return output
        }
        // Inference: one scale and one shift per channel, folded from the running statistics
        // and the affine parameters (so only two passes over the input).
        var scale = 1 / (runningVariance.value + epsilon).sqrt()
        if let weight { scale = scale * weight.value }
        var shift = -runningMean.value * scale
        if let bias { shift = shift + bias.value }
        let output = input * scale.reshaped(statShape) + shift.reshaped(statShape)
        return thenReLU ? output.relu() : output
    }
}

/// Layer normalization: each sample is normalized over its last dimensions (the
/// `normalizedShape`), then scaled and shifted elementwise. It behaves the same in training
/// and inference, and does not depend on the batch.
///
/// ```swift
/// let ln = LayerNorm(64)            // normalizes over a last dimension of 64
/// let y = ln(x)                     // x: [batch, tokens, 64]
/// ```
public final class LayerNorm: Module, CustomStringConvertible {
    /// Elementwise scale, of `normalizedShape`, or nil without `elementwiseAffine`.
    public let weight: Parameter?
    /// Elementwise shift, of `normalizedShape`, or nil without `elementwiseAffine`.
    public let bias: Parameter?
    /// The trailing dimensions that are normalized together.
    public let normalizedShape: [Int]
    /// Added to the variance before the square root.
    public let epsilon: Double

    /// A layer normalizing over trailing dimensions `normalizedShape`.
    public init(normalizedShape: [Int], epsilon: Double = 1e-5, elementwiseAffine: Bool = true,
                weightInitializer: Initializer = .ones, biasInitializer: Initializer = .zeros,
                dtype: DType = .float32, seed: UInt64? = nil) {
        guard !normalizedShape.isEmpty, normalizedShape.allSatisfy({ $0 > 0 }) else {
            layerFailure("LayerNorm(\(describeShape(normalizedShape)))", "the normalized shape must be non-empty with positive sizes")
        }
        self.normalizedShape = normalizedShape
        self.epsilon = epsilon
        var g = layerGenerator(seed: seed)
        let size = normalizedShape.reduce(1, *)
        let fans = Initializer.Fans(fanIn: size, fanOut: size)
        weight = elementwiseAffine ? Parameter(weightInitializer.make(normalizedShape, fans: fans, dtype: dtype, using: &g)) : nil
        bias = elementwiseAffine ? Parameter(biasInitializer.make(normalizedShape, fans: fans, dtype: dtype, using: &g)) : nil
    }

    /// A layer normalizing over a last dimension of `size`.
    public convenience init(_ size: Int, epsilon: Double = 1e-5, elementwiseAffine: Bool = true,
                            dtype: DType = .float32) {
        self.init(normalizedShape: [size], epsilon: epsilon, elementwiseAffine: elementwiseAffine, dtype: dtype)
    }

    /// How the layer names itself in printouts and error messages.
    public var description: String { "LayerNorm(\(describeShape(normalizedShape)))" }

    /// The input normalized over its trailing `normalizedShape` dimensions.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        let k = normalizedShape.count
        guard input.rank >= k, Array(input.shape.suffix(k)) == normalizedShape else {
            layerFailure(description, "input \(describeShape(input.shape)) does not end with \(describeShape(normalizedShape))")
        }
        let axes = Array((input.rank - k)..<input.rank)
        let centered = input - input.mean(axes: axes, keepDims: true)
        let variance = centered.square().mean(axes: axes, keepDims: true)
        let normalized = centered / (variance + epsilon).sqrt()
        guard let weight, let bias else { return normalized }
        requireDType(input, weight.value.dtype, layer: description)
        return normalized * weight.value + bias.value
    }
}
