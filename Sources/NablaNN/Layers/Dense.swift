import Nabla

/// A fully connected layer, y = x·Wᵀ + b (PyTorch's `Linear`).
///
/// The weight is stored `[outputSize, inputSize]`, as PyTorch stores it, so that weights from
/// a PyTorch safetensors file load unchanged; the product reads it transposed in place.
/// Inputs are `[batch, inputSize]` (or any leading dimensions, or a single `[inputSize]` vector).
///
/// ```swift
/// let layer = Dense(784, 30, seed: 1)
/// let y = layer(x)            // x: [10, 784] → y: [10, 30]
/// ```
public final class Dense: Module, CustomStringConvertible {
    /// The weights, `[outputSize, inputSize]`.
    public let weight: Parameter
    /// The biases, `[outputSize]`, or nil for a layer built with `bias: false`.
    public let bias: Parameter?
    /// The number of features each input row has.
    public let inputSize: Int
    /// The number of features each output row has.
    public let outputSize: Int

    /// A layer whose weights are drawn from `generator` (weight first, then bias).
    public init(_ inputSize: Int, _ outputSize: Int, bias: Bool = true,
                weightInitializer: Initializer = .pytorchDefault,
                biasInitializer: Initializer = .pytorchDefault,
                dtype: DType = .float32, using generator: inout RandomGenerator) {
        guard inputSize > 0, outputSize > 0 else {
            layerFailure("Dense(\(inputSize) → \(outputSize))", "sizes must be positive")
        }
        self.inputSize = inputSize
        self.outputSize = outputSize
        let fans = Initializer.Fans(fanIn: inputSize, fanOut: outputSize)
        weight = Parameter(weightInitializer.make([outputSize, inputSize], fans: fans, dtype: dtype, using: &generator))
        self.bias = bias ? Parameter(biasInitializer.make([outputSize], fans: fans, dtype: dtype, using: &generator)) : nil
    }

    /// A layer whose weights are drawn from a generator seeded with `seed` (reproducible), or
    /// from `GlobalRandom` when `seed` is nil. Defaults to PyTorch's initialization.
    public convenience init(_ inputSize: Int, _ outputSize: Int, bias: Bool = true,
                            weightInitializer: Initializer = .pytorchDefault,
                            biasInitializer: Initializer = .pytorchDefault,
                            dtype: DType = .float32, seed: UInt64? = nil) {
        var g = layerGenerator(seed: seed)
        self.init(inputSize, outputSize, bias: bias, weightInitializer: weightInitializer,
                  biasInitializer: biasInitializer, dtype: dtype, using: &g)
    }

    /// How the layer names itself in printouts and error messages.
    public var description: String { "Dense(\(inputSize) → \(outputSize))" }

    /// x·Wᵀ + b over the last dimension of `input`, as one `Tensor.linear` op.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        check(input)
        return Tensor.linear(input, weight: weight.value, bias: bias?.value)
    }

    /// activation(x·Wᵀ + b), as one op (`Tensor.linear(_:weight:bias:activation:)`): the
    /// same values and gradients as the layer followed by the activation's layer, with one
    /// graph node instead of two. `Sequential` calls it for a `Dense` followed by a `ReLU`,
    /// `Sigmoid` or `Tanh`.
    public func callAsFunction(_ input: Tensor, activation: Tensor.Activation) -> Tensor {
        check(input)
        return Tensor.linear(input, weight: weight.value, bias: bias?.value, activation: activation)
    }

    /// Stops with the layer's name when `input` does not fit it.
    private func check(_ input: Tensor) {
        guard input.rank >= 1, input.shape[input.rank - 1] == inputSize else {
            let features = input.rank == 0 ? "no feature dimension" : "\(input.shape[input.rank - 1]) features"
            layerFailure(description, "input \(describeShape(input.shape)) has \(features), expected \(inputSize)")
        }
        requireDType(input, weight.value.dtype, layer: description)
    }
}

/// PyTorch's name for `Dense`, for readers coming from `torch.nn.Linear`.
public typealias Linear = Dense
