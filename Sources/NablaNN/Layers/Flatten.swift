import Nabla

/// Merges every dimension after the batch dimension into one: `[N, C, H, W]` → `[N, C·H·W]`,
/// the step between convolutional and dense layers.
public final class Flatten: Module, CustomStringConvertible {
    /// The first dimension merged (1 keeps the batch dimension).
    public let startAxis: Int
    /// The last dimension merged (-1 is the last one).
    public let endAxis: Int

    /// A flatten layer merging dimensions `startAxis` through `endAxis`.
    public init(startAxis: Int = 1, endAxis: Int = -1) {
        self.startAxis = startAxis
        self.endAxis = endAxis
    }

    /// How the layer names itself in printouts and error messages.
    public var description: String { "Flatten(startAxis: \(startAxis), endAxis: \(endAxis))" }

    /// The input with the dimensions merged (a reshape: no copy).
    public func callAsFunction(_ input: Tensor) -> Tensor {
        let s = startAxis < 0 ? startAxis + input.rank : startAxis
        let e = endAxis < 0 ? endAxis + input.rank : endAxis
        guard s >= 0, e < input.rank, s <= e else {
            layerFailure(description,
                         "input \(describeShape(input.shape)) does not have those dimensions")
        }
        return input.flattened(from: s, through: e)
    }
}
