import Nabla

/// A 2-D convolution over NCHW images (PyTorch's `Conv2d`, without groups).
///
/// The weight is stored `[outChannels, inChannels, kernelHeight, kernelWidth]` as in PyTorch.
/// Its gradient comes from the core's `conv2d` op.
///
/// ```swift
/// let conv = Conv2D(1, 20, kernelSize: 5, seed: 1)   // [N, 1, 28, 28] → [N, 20, 24, 24]
/// ```
public final class Conv2D: Module, CustomStringConvertible {
    /// The filters, `[outChannels, inChannels, kernelHeight, kernelWidth]`.
    public let weight: Parameter
    /// One bias per output channel, or nil when built with `bias: false`.
    public let bias: Parameter?
    /// Channels each input image has.
    public let inChannels: Int
    /// Channels (filters) each output image has.
    public let outChannels: Int
    /// Kernel (height, width).
    public let kernelSize: (Int, Int)
    /// Step between windows (vertical, horizontal).
    public let stride: (Int, Int)
    /// Zeros added on each side (vertical, horizontal).
    public let padding: (Int, Int)
    /// Spacing between kernel taps (vertical, horizontal); 1 is a plain convolution.
    public let dilation: (Int, Int)

    /// A convolution whose filters are drawn from `generator` (weight first, then bias).
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), bias: Bool = true,
                weightInitializer: Initializer = .pytorchDefault, biasInitializer: Initializer = .pytorchDefault,
                dtype: DType = .float32, using generator: inout RandomGenerator) {
        let description = "Conv2D(\(inChannels) → \(outChannels), kernel \(kernelSize.0)×\(kernelSize.1))"
        guard inChannels > 0, outChannels > 0, kernelSize.0 > 0, kernelSize.1 > 0 else {
            layerFailure(description, "channel counts and kernel size must be positive")
        }
        guard stride.0 > 0, stride.1 > 0, dilation.0 > 0, dilation.1 > 0, padding.0 >= 0, padding.1 >= 0 else {
            layerFailure(description, "stride \(stride) and dilation \(dilation) must be positive, padding \(padding) non-negative")
        }
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        let shape = [outChannels, inChannels, kernelSize.0, kernelSize.1]
        let fans = Initializer.Fans(weightShape: shape)
        weight = Parameter(weightInitializer.make(shape, fans: fans, dtype: dtype, using: &generator))
        self.bias = bias ? Parameter(biasInitializer.make([outChannels], fans: fans, dtype: dtype, using: &generator)) : nil
    }

    /// A convolution seeded with `seed` (reproducible), or drawing from `GlobalRandom` when nil.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
                            padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), bias: Bool = true,
                            weightInitializer: Initializer = .pytorchDefault, biasInitializer: Initializer = .pytorchDefault,
                            dtype: DType = .float32, seed: UInt64? = nil) {
        var g = layerGenerator(seed: seed)
        self.init(inChannels, outChannels, kernelSize: kernelSize, stride: stride, padding: padding,
                  dilation: dilation, bias: bias, weightInitializer: weightInitializer,
                  biasInitializer: biasInitializer, dtype: dtype, using: &g)
    }

    /// A square-kernel convolution (the same size, stride, padding and dilation both ways).
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1,
                            padding: Int = 0, dilation: Int = 1, bias: Bool = true,
                            weightInitializer: Initializer = .pytorchDefault, biasInitializer: Initializer = .pytorchDefault,
                            dtype: DType = .float32, seed: UInt64? = nil) {
        self.init(inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: (stride, stride),
                  padding: (padding, padding), dilation: (dilation, dilation), bias: bias,
                  weightInitializer: weightInitializer, biasInitializer: biasInitializer, dtype: dtype, seed: seed)
    }

    /// A square-kernel convolution whose filters are drawn from `generator`.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1,
                            padding: Int = 0, dilation: Int = 1, bias: Bool = true,
                            weightInitializer: Initializer = .pytorchDefault, biasInitializer: Initializer = .pytorchDefault,
                            dtype: DType = .float32, using generator: inout RandomGenerator) {
        self.init(inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: (stride, stride),
                  padding: (padding, padding), dilation: (dilation, dilation), bias: bias,
                  weightInitializer: weightInitializer, biasInitializer: biasInitializer, dtype: dtype,
                  using: &generator)
    }

    /// How the layer names itself in printouts and error messages.
    public var description: String { "Conv2D(\(inChannels) → \(outChannels), kernel \(kernelSize.0)×\(kernelSize.1))" }

    /// The convolution of an `[N, inChannels, H, W]` batch: `[N, outChannels, H′, W′]`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        guard input.rank == 4, input.shape[1] == inChannels else {
            layerFailure(description, "input \(describeShape(input.shape)) is not [N, \(inChannels), H, W]")
        }
        requireDType(input, weight.value.dtype, layer: description)
        let extentH = dilation.0 * (kernelSize.0 - 1) + 1, extentW = dilation.1 * (kernelSize.1 - 1) + 1
        guard input.shape[2] + 2 * padding.0 >= extentH, input.shape[3] + 2 * padding.1 >= extentW else {
            layerFailure(description, "input \(describeShape(input.shape)) with padding \(padding) is smaller than the kernel's extent \(extentH)×\(extentW)")
        }
        return input.conv2d(weight.value, bias: bias?.value, stride: stride, padding: padding, dilation: dilation)
    }
}
