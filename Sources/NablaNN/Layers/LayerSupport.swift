import Nabla

/// Stops with a message naming the layer (as it describes itself) and the rule broken.
/// Bad shapes are programming errors, as in PyTorch, where they raise.
func layerFailure(_ layer: String, _ message: String) -> Never {
    fatalError("\(layer): \(message)")
}

/// Formats a shape as `[2, 3]`.
func describeShape(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}

/// The generator a layer built with `seed` draws from: seeded by `seed`, or, without one,
/// seeded by the next number of the shared `GlobalRandom` (so `GlobalRandom.seed(_:)` makes
/// seed-less model creation reproducible, and the shared lock is not held while building).
func layerGenerator(seed: UInt64?) -> RandomGenerator {
    RandomGenerator(seed: seed ?? GlobalRandom.withGenerator { $0.next() })
}

/// Fails unless `input` has the parameters' dtype (matmul and friends need both the same).
func requireDType(_ input: Tensor, _ dtype: DType, layer: @autoclosure () -> String) {
    if input.dtype != dtype {
        layerFailure(layer(), "input is \(input.dtype) but the parameters are \(dtype); convert one with cast(to:)")
    }
}
