import Nabla

/// Modules applied one after another, the output of each feeding the next.
///
/// A plain list of modules, not a nest of generic types, so it type-checks quickly and can
/// be built or changed at run time. Its parameters are named `layers.0.weight`, `layers.1.bias`…
///
/// ```swift
/// let model = Sequential([Dense(2, 3), ReLU(), Dense(3, 1)])
/// let same = Sequential {
///     Dense(2, 3)
///     ReLU()
///     Dense(3, 1)
/// }
/// ```
public final class Sequential: Module, CustomStringConvertible {
    /// The modules, in the order they run.
    public var layers: [any Module]

    /// A sequence of the given modules.
    public init(_ layers: [any Module]) { self.layers = layers }

    /// A sequence written as a block of modules, one per line.
    public convenience init(@SequentialBuilder _ build: () -> [any Module]) { self.init(build()) }

    /// The number of modules.
    public var count: Int { layers.count }

    /// The module at `index`.
    public subscript(index: Int) -> any Module { layers[index] }

    /// Adds a module at the end.
    public func append(_ module: any Module) { layers.append(module) }

    /// The modules, one per line, indexed as in parameter names.
    public var description: String {
        let lines = layers.enumerated().map { i, layer in
            "  (\(i)) " + String(describing: layer).split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n  ")
        }
        return (["Sequential("] + lines + [")"]).joined(separator: "\n")
    }

    /// The input passed through every module in turn.
    ///
    /// Some pairs of layers run as one fused op each, with fewer passes over memory or
    /// fewer graph nodes: a `BatchNorm` directly followed by a `ReLU`
    /// (`BatchNorm.normalizedThenReLU`: the same values, gradients within float rounding), a
    /// `ReLU` directly followed by a `MaxPool2D` (`MaxPool2D.ofReLU`), and a `Dense` directly
    /// followed by a `ReLU`, `Sigmoid` or `Tanh` (`Dense.callAsFunction(_:activation:)`);
    /// these two give the same values and gradients, bit for bit. The layers, their
    /// parameters and their names do not change.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        var x = input, i = 0
        while i < layers.count {
            if let dense = layers[i] as? Dense, i + 1 < layers.count, let activation = fusable(layers[i + 1]) {
                x = dense(x, activation: activation)
                i += 2
            } else if let norm = layers[i] as? BatchNorm, i + 1 < layers.count, layers[i + 1] is ReLU {
                x = norm.normalizedThenReLU(x)
                i += 2
            } else if layers[i] is ReLU, i + 1 < layers.count, let pool = layers[i + 1] as? MaxPool2D {
                x = pool.ofReLU(x)
                i += 2
            } else {
                x = layers[i](x)
                i += 1
            }
        }
        return x
    }
}

/// The activation of a layer that a `Dense` before it can apply in its own op, if any.
private func fusable(_ layer: any Module) -> Tensor.Activation? {
    switch layer {
    case is Sigmoid: return .sigmoid
    case is ReLU: return .relu
    case is Tanh: return .tanh
    default: return nil
    }
}

/// Builds the list of modules of `Sequential { … }`; `if`, `if/else` and `for` work inside.
@resultBuilder
public enum SequentialBuilder {
    /// One module.
    public static func buildExpression(_ module: any Module) -> [any Module] { [module] }
    /// A list of modules spliced in place.
    public static func buildExpression(_ modules: [any Module]) -> [any Module] { modules }
    /// The lines of a block, in order.
    public static func buildBlock(_ parts: [any Module]...) -> [any Module] { parts.flatMap { $0 } }
    /// An `if` without `else`.
    public static func buildOptional(_ part: [any Module]?) -> [any Module] { part ?? [] }
    /// The `if` branch of an `if/else`.
    public static func buildEither(first part: [any Module]) -> [any Module] { part }
    /// The `else` branch of an `if/else`.
    public static func buildEither(second part: [any Module]) -> [any Module] { part }
    /// A `for` loop's iterations.
    public static func buildArray(_ parts: [[any Module]]) -> [any Module] { parts.flatMap { $0 } }
}
