import Nabla

/// Inverted dropout: while training, each element is zeroed with probability `probability`
/// and the kept ones are scaled by 1/(1 − probability), so that inference (where the layer
/// passes values through unchanged) needs no rescaling.
///
/// The layer owns its random generator, seeded when it is built, so that a run is
/// reproducible; its state can be saved and restored with `generatorState` (checkpoints).
///
/// ```swift
/// let drop = Dropout(probability: 0.5, seed: 7)
/// let y = drop(x)        // about half the elements zero, the rest doubled
/// drop.eval()
/// let z = drop(x)        // z == x
/// ```
public final class Dropout: Module, TrainingModeSensitive, CustomStringConvertible {
    /// The probability of zeroing each element.
    public let probability: Double
    /// True while training (elements dropped), false at inference (identity).
    public var isTraining = true
    /// The generator the masks are drawn from.
    public var generator: RandomGenerator

    /// A dropout layer; without a seed its generator is seeded from `GlobalRandom`.
    public init(probability: Double = 0.5, seed: UInt64? = nil) {
        guard probability >= 0, probability <= 1 else {
            layerFailure("Dropout(probability: \(probability))", "the probability must be in [0, 1]")
        }
        self.probability = probability
        generator = layerGenerator(seed: seed)
    }

    /// How the layer names itself in printouts and error messages.
    public var description: String { "Dropout(probability: \(probability))" }

    /// The generator's state, to save in a checkpoint and restore to resume the same masks.
    public var generatorState: [UInt64] {
        get { generator.state }
        set { generator.state = newValue }
    }

    /// A mask of zeros and ones (one with probability 1 − `probability`) like `input`.
    private func mask(like input: Tensor) -> Tensor {
        var mask = Tensor.zeros(input.shape, dtype: input.dtype)
        let keep = 1 - probability
        // A local copy of the generator, written back once: no class access per element.
        var g = generator
        defer { generator = g }
        func fill<T: TensorScalar>(_: T.Type) {
            mask.withUnsafeMutableBufferPointer(as: T.self) { m in
                for i in 0..<m.count { m[i] = g.nextUniform() < keep ? 1 : 0 }
            }
        }
        switch input.dtype {
        case .float32: fill(Float.self)
        case .float64: fill(Double.self)
        }
        return mask
    }

    /// The input with elements dropped (training) or unchanged (inference).
    public func callAsFunction(_ input: Tensor) -> Tensor {
        guard isTraining, probability > 0 else { return input }
        if probability == 1 { return input * 0 }
        return input.dropout(mask: mask(like: input), keepProbability: 1 - probability)
    }
}
