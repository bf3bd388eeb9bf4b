import Nabla

// Activation functions as layers, for `Sequential`. Each forwards to the core's op of the
// same name; as plain functions, call the op directly (`x.relu()`).

/// max(x, 0).
public final class ReLU: Module {
    /// A ReLU layer.
    public init() {}
    /// max(x, 0) elementwise.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.relu() }
}

/// 1/(1 + e^−x), the activation of Nielsen's networks.
public final class Sigmoid: Module {
    /// A sigmoid layer.
    public init() {}
    /// The logistic function elementwise.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.sigmoid() }
}

/// The hyperbolic tangent.
public final class Tanh: Module {
    /// A tanh layer.
    public init() {}
    /// tanh elementwise.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.tanh() }
}

/// x for x > 0, negativeSlope·x otherwise: a ReLU whose negative side still learns.
public final class LeakyReLU: Module {
    /// The slope for negative inputs.
    public let negativeSlope: Double
    /// A leaky ReLU with slope `negativeSlope` (PyTorch's default 0.01) below zero.
    public init(negativeSlope: Double = 0.01) { self.negativeSlope = negativeSlope }
    /// The leaky ReLU elementwise.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.leakyRelu(negativeSlope: negativeSlope) }
}

/// x for x > 0, α(eˣ − 1) otherwise: smooth, with negative outputs that center activations.
public final class ELU: Module {
    /// The value approached for very negative inputs is −alpha.
    public let alpha: Double
    /// An ELU layer.
    public init(alpha: Double = 1) { self.alpha = alpha }
    /// ELU elementwise.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.elu(alpha: alpha) }
}

/// x·Φ(x) (exact GELU, PyTorch's default form).
public final class GELU: Module {
    /// A GELU layer.
    public init() {}
    /// GELU elementwise.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.gelu() }
}

/// log(1 + eˣ), a smooth ReLU.
public final class Softplus: Module {
    /// A softplus layer.
    public init() {}
    /// Softplus elementwise, computed stably.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.softplus() }
}

/// Softmax along an axis: turns logits into probabilities. For training, prefer feeding
/// logits to `softmaxCrossEntropy`, which is stabler than softmax followed by a log.
public final class Softmax: Module {
    /// The axis whose values sum to 1.
    public let axis: Int
    /// A softmax over `axis` (the last by default).
    public init(axis: Int = -1) { self.axis = axis }
    /// The probabilities.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.softmax(axis: axis) }
}

/// log(softmax(x)) along an axis, computed stably; pairs with `negativeLogLikelihood`.
public final class LogSoftmax: Module {
    /// The axis normalized.
    public let axis: Int
    /// A log-softmax over `axis` (the last by default).
    public init(axis: Int = -1) { self.axis = axis }
    /// The log-probabilities.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.logSoftmax(axis: axis) }
}

/// Passes the input through unchanged (a placeholder in a `Sequential`, or a residual's skip).
public final class Identity: Module {
    /// An identity layer.
    public init() {}
    /// The input.
    public func callAsFunction(_ input: Tensor) -> Tensor { input }
}

/// Activation layers print as their PyTorch counterparts do, with their settings.
extension ReLU: CustomStringConvertible {
    /// `ReLU()`.
    public var description: String { "ReLU()" }
}
extension Sigmoid: CustomStringConvertible {
    /// `Sigmoid()`.
    public var description: String { "Sigmoid()" }
}
extension Tanh: CustomStringConvertible {
    /// `Tanh()`.
    public var description: String { "Tanh()" }
}
extension LeakyReLU: CustomStringConvertible {
    /// `LeakyReLU(negativeSlope: …)`.
    public var description: String { "LeakyReLU(negativeSlope: \(negativeSlope))" }
}
extension ELU: CustomStringConvertible {
    /// `ELU(alpha: …)`.
    public var description: String { "ELU(alpha: \(alpha))" }
}
extension GELU: CustomStringConvertible {
    /// `GELU()`.
    public var description: String { "GELU()" }
}
extension Softplus: CustomStringConvertible {
    /// `Softplus()`.
    public var description: String { "Softplus()" }
}
extension Softmax: CustomStringConvertible {
    /// `Softmax(axis: …)`.
    public var description: String { "Softmax(axis: \(axis))" }
}
extension LogSoftmax: CustomStringConvertible {
    /// `LogSoftmax(axis: …)`.
    public var description: String { "LogSoftmax(axis: \(axis))" }
}
extension Identity: CustomStringConvertible {
    /// `Identity()`.
    public var description: String { "Identity()" }
}
