import Nabla

/// A lookup table of `count` learned vectors of `dimension` values (PyTorch's `Embedding`):
/// index i becomes row i of the weight. Gradients flow to the rows that were used.
///
/// ```swift
/// let embed = Embedding(1000, 64, seed: 1)
/// let v = embed([3, 14, 15])          // [3, 64]
/// let w = embed(tokenIDs)             // a tensor of indices [B, T] → [B, T, 64]
/// ```
public final class Embedding: Module, CustomStringConvertible {
    /// The table, `[count, dimension]`.
    public let weight: Parameter
    /// The number of rows (valid indices are 0..<count).
    public let count: Int
    /// The length of each vector.
    public let dimension: Int

    /// A table drawn from `generator`; N(0, 1) by default, as PyTorch.
    public init(_ count: Int, _ dimension: Int, weightInitializer: Initializer = .standardNormal,
                dtype: DType = .float32, using generator: inout RandomGenerator) {
        guard count > 0, dimension > 0 else {
            layerFailure("Embedding(\(count), \(dimension))", "count and dimension must be positive")
        }
        self.count = count
        self.dimension = dimension
        let shape = [count, dimension]
        weight = Parameter(weightInitializer.make(shape, fans: .init(weightShape: shape), dtype: dtype, using: &generator))
    }

    /// A table seeded with `seed` (reproducible), or drawing from `GlobalRandom` when nil.
    public convenience init(_ count: Int, _ dimension: Int, weightInitializer: Initializer = .standardNormal,
                            dtype: DType = .float32, seed: UInt64? = nil) {
        var g = layerGenerator(seed: seed)
        self.init(count, dimension, weightInitializer: weightInitializer, dtype: dtype, using: &g)
    }

    /// How the layer names itself in printouts and error messages.
    public var description: String { "Embedding(\(count), \(dimension))" }

    /// The vectors of `indices`, `[indices.count, dimension]`.
    public func callAsFunction(_ indices: [Int]) -> Tensor {
        for (position, i) in indices.enumerated() where i < 0 || i >= count {
            layerFailure(description, "index \(i) at position \(position) is out of range 0..<\(count)")
        }
        return weight.value.indexSelect(indices: indices, axis: 0)
    }

    /// The vectors of a tensor of (whole-number) indices of any shape: that shape + `[dimension]`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        let values = input.scalars(as: Double.self)
        var indices: [Int] = []
        indices.reserveCapacity(values.count)
        for (position, v) in values.enumerated() {
            guard v.rounded() == v, v.isFinite else {
                layerFailure(description, "input value \(v) at flat position \(position) is not a whole-number index")
            }
            indices.append(Int(v))
        }
        return self(indices).reshaped(input.shape + [dimension])
    }
}
