import Nabla

/// How a layer fills a new weight or bias tensor.
///
/// An initializer is a function of the tensor's shape, its fans (the number of inputs and
/// outputs each unit sees, which set the scale of the good schemes), the dtype and a random
/// generator. Layers pass the fans of their *weight* to both the weight and the bias
/// initializer, so that `.pytorchDefault` gives PyTorch's U(±1/√fan_in) bias.
///
/// ```swift
/// let layer = Dense(784, 30, weightInitializer: .scaledNormal, biasInitializer: .standardNormal)
/// let custom = Initializer { shape, fans, dtype, generator in
///     Tensor.randomUniform(shape, low: -0.1, high: 0.1, dtype: dtype, using: &generator)
/// }
/// ```
public struct Initializer: Sendable {
    /// The number of inputs and outputs that feed one unit of a layer.
    public struct Fans: Sendable, Equatable {
        /// Inputs per output unit (in · kh · kw for a convolution).
        public var fanIn: Int
        /// Outputs per input unit (out · kh · kw for a convolution).
        public var fanOut: Int

        /// Fans given directly.
        public init(fanIn: Int, fanOut: Int) {
            self.fanIn = fanIn
            self.fanOut = fanOut
        }

        /// The fans of a weight stored PyTorch's way, `[out, in, kernel…]`: the kernel's
        /// size multiplies both. A 1-D shape counts its length as both fans.
        public init(weightShape shape: [Int]) {
            switch shape.count {
            case 0: self.init(fanIn: 1, fanOut: 1)
            case 1: self.init(fanIn: shape[0], fanOut: shape[0])
            default:
                let receptive = shape.dropFirst(2).reduce(1, *)
                self.init(fanIn: shape[1] * receptive, fanOut: shape[0] * receptive)
            }
        }
    }

    /// The function behind an initializer.
    public typealias Fill = @Sendable (_ shape: [Int], _ fans: Fans, _ dtype: DType,
                                       _ generator: inout RandomGenerator) -> Tensor

    private let fill: Fill

    /// An initializer made from any function (a custom scheme).
    public init(_ fill: @escaping Fill) { self.fill = fill }

    /// A new tensor of `shape`, scaled for `fans`, drawn from `generator`.
    public func make(_ shape: [Int], fans: Fans, dtype: DType = .float32,
                     using generator: inout RandomGenerator) -> Tensor {
        let t = fill(shape, fans, dtype, &generator)
        precondition(t.shape == shape && t.dtype == dtype,
                     "Initializer: asked for \(dtype) \(shape), the fill function returned \(t.dtype) \(t.shape)")
        return t
    }

    /// A new tensor of `shape` with fans read from the shape (as a weight), drawn from a
    /// generator seeded with `seed`, or from `GlobalRandom` when `seed` is nil.
    public func make(_ shape: [Int], dtype: DType = .float32, seed: UInt64? = nil) -> Tensor {
        let fans = Fans(weightShape: shape)
        if let seed {
            var g = RandomGenerator(seed: seed)
            return make(shape, fans: fans, dtype: dtype, using: &g)
        }
        return GlobalRandom.withGenerator { make(shape, fans: fans, dtype: dtype, using: &$0) }
    }
}

extension Initializer {
    /// Samples from N(mean, std²), whatever the fans.
    public static func normal(mean: Double = 0, std: Double) -> Initializer {
        Initializer { shape, _, dtype, g in Tensor.randomNormal(shape, mean: mean, std: std, dtype: dtype, using: &g) }
    }

    /// Samples from U[low, high), whatever the fans.
    public static func uniform(low: Double, high: Double) -> Initializer {
        Initializer { shape, _, dtype, g in Tensor.randomUniform(shape, low: low, high: high, dtype: dtype, using: &g) }
    }

    /// N(0, 1): the initialization of Nielsen's chapter 1, which saturates large layers.
    public static var standardNormal: Initializer { normal(std: 1) }

    /// N(0, 1/n_in) (standard deviation 1/√fan_in): Nielsen's chapter 3 fix for saturation.
    public static var scaledNormal: Initializer {
        Initializer { shape, fans, dtype, g in
            Tensor.randomNormal(shape, std: 1 / Double(Swift.max(fans.fanIn, 1)).squareRoot(), dtype: dtype, using: &g)
        }
    }

    /// Glorot/Xavier uniform, U(±√(6/(fan_in + fan_out))): keeps variance through tanh layers.
    public static var glorotUniform: Initializer {
        Initializer { shape, fans, dtype, g in
            let bound = (6 / Double(Swift.max(fans.fanIn + fans.fanOut, 1))).squareRoot()
            return Tensor.randomUniform(shape, low: -bound, high: bound, dtype: dtype, using: &g)
        }
    }

    /// Glorot/Xavier normal, N(0, 2/(fan_in + fan_out)).
    public static var glorotNormal: Initializer {
        Initializer { shape, fans, dtype, g in
            let std = (2 / Double(Swift.max(fans.fanIn + fans.fanOut, 1))).squareRoot()
            return Tensor.randomNormal(shape, std: std, dtype: dtype, using: &g)
        }
    }

    /// He/Kaiming normal, N(0, 2/fan_in): keeps variance through ReLU layers.
    public static var heNormal: Initializer {
        Initializer { shape, fans, dtype, g in
            Tensor.randomNormal(shape, std: (2 / Double(Swift.max(fans.fanIn, 1))).squareRoot(), dtype: dtype, using: &g)
        }
    }

    /// He/Kaiming uniform, U(±√(6/fan_in)).
    public static var heUniform: Initializer {
        Initializer { shape, fans, dtype, g in
            let bound = (6 / Double(Swift.max(fans.fanIn, 1))).squareRoot()
            return Tensor.randomUniform(shape, low: -bound, high: bound, dtype: dtype, using: &g)
        }
    }

    /// PyTorch's default for Linear and Conv weights and biases, U(±1/√fan_in). For weights
    /// this is what `kaiming_uniform_(a: √5)` works out to, so models start as in PyTorch.
    public static var pytorchDefault: Initializer {
        Initializer { shape, fans, dtype, g in
            let bound = 1 / Double(Swift.max(fans.fanIn, 1)).squareRoot()
            return Tensor.randomUniform(shape, low: -bound, high: bound, dtype: dtype, using: &g)
        }
    }

    /// Every element `value` (draws nothing from the generator).
    public static func constant(_ value: Double) -> Initializer {
        Initializer { shape, _, dtype, _ in Tensor.full(shape, value: value, dtype: dtype) }
    }

    /// All zeros: the usual bias start, and BatchNorm's shift.
    public static var zeros: Initializer { constant(0) }

    /// All ones: BatchNorm's and LayerNorm's scale start.
    public static var ones: Initializer { constant(1) }
}
