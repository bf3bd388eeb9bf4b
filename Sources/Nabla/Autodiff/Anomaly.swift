import Synchronization

/// A debugging switch: when on, every op that records a node checks its output and stops at
/// the first one that produces NaN or infinity, naming the op and its inputs' shapes; the
/// backward pass likewise stops at the first op whose backward produces a non-finite
/// gradient (sqrt at 0, log at 0 with a finite forward elsewhere). Off by default, since the
/// check reads every element.
public enum AnomalyMode {
    private static let flag = Atomic<Bool>(false)

    /// Whether anomaly detection is on (for all threads).
    public static var isEnabled: Bool {
        get { flag.load(ordering: .relaxed) }
        set { flag.store(newValue, ordering: .relaxed) }
    }

    static func check(_ output: Tensor, of node: Node) {
        guard let bad = output.firstNonFiniteIndex() else { return }
        let op = node.op, shapes = node.inputs.shapeDescriptions
        let value = output.element(atFlatIndex: bad)
        fatalError("anomaly: \(op) produced \(value) at element \(bad) of its output \(describe(output.shape)); inputs: \(shapes)")
    }

    /// Stops at the first non-finite element of the gradients a node's backward returned.
    static func checkGradients(_ gradients: TensorList, of node: Node, incoming: Tensor) {
        for (k, g) in gradients.enumerated() {
            guard let g, let bad = g.firstNonFiniteIndex() else { continue }
            let shapes = node.inputs.shapeDescriptions
            let value = g.element(atFlatIndex: bad)
            fatalError("anomaly: the backward of \(node.op) produced \(value) at element \(bad) of the gradient \(describe(g.shape)) for input \(k); incoming gradient \(describe(incoming.shape)); inputs: \(shapes)")
        }
    }
}

extension Tensor {
    /// The flat index of the first NaN or infinite element, if any.
    public func firstNonFiniteIndex() -> Int? {
        for i in 0..<count where !element(atFlatIndex: i).isFinite { return i }
        return nil
    }
}
