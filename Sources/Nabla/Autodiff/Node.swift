import Synchronization

/// A vertex of the graph of operations: one per tensor that requires gradients.
///
/// A leaf node belongs to a tensor the user created (a weight, an input) and holds its
/// accumulated gradient. Any other node belongs to the output of an op: it points to the
/// nodes of the op's inputs and holds the closure that turns the output's gradient into
/// gradients for those inputs (a vector–Jacobian product), written with tensor ops.
///
/// Identity is object identity. A node holds its input tensors (and through them their
/// nodes), never its own output tensor, so graphs are acyclic webs of strong references,
/// freed as soon as the last tensor that reaches them goes away. Keeping the inputs here
/// lets most backward closures capture nothing (`context.input(i)`), which saves an
/// allocation per op.

final class Node {
    /// How many nodes exist right now (see `GraphDiagnostics.liveNodeCount`).
    static let live = Atomic<Int>(0)

    /// The closure type of a vector–Jacobian product: given the gradient of the output, the
    /// gradient of each input (nil where none is needed or the input is constant).
    typealias Backward = (_ gradient: Tensor, _ context: BackwardContext) -> [Tensor?]

    /// The op's name, as error messages and the anomaly report show it.
    let op: String
    /// The op's inputs; those that do not require gradients have no node.
    private(set) var inputs: [Tensor]
    /// Shape and dtype of the output (the gradient arriving here has them).
    let shape: [Int]
    let dtype: DType
    let isLeaf: Bool
    /// The vector–Jacobian product; nil for leaves and after the graph has been freed.
    var backward: Backward?
    /// The output values, kept only for ops whose backward needs them (sigmoid, exp, …).
    var savedOutput: TensorStorage?
    /// The accumulated gradient of a leaf.
    var grad: Tensor?

    init(leafShape: [Int], dtype: DType) {
        op = "leaf"
        inputs = []
        shape = leafShape
        self.dtype = dtype
        isLeaf = true
        Node.live.add(1, ordering: .relaxed)
    }

    init(op: String, inputs: [Tensor], shape: [Int], dtype: DType,
         savedOutput: TensorStorage?, backward: @escaping Backward) {
        self.op = op
        self.inputs = inputs
        self.shape = shape
        self.dtype = dtype
        self.savedOutput = savedOutput
        self.backward = backward
        isLeaf = false
        Node.live.add(1, ordering: .relaxed)
    }

    /// Frees a long chain of nodes without recursion: each node's inputs are moved onto a
    /// local stack before it goes, so a graph 100,000 ops deep cannot overflow the stack.
    deinit {
        Node.live.subtract(1, ordering: .relaxed)
        guard !inputs.isEmpty else { return }
        var stack = inputs.compactMap(\.node)
        inputs = []
        backward = nil
        while var n = stack.popLast() {
            if isKnownUniquelyReferenced(&n) {
                stack.append(contentsOf: n.inputs.compactMap(\.node))
                n.inputs = []
                n.backward = nil
            }
        }
    }

    /// Drops what the backward pass needed, so that memory is returned right away.
    func release() {
        backward = nil
        savedOutput = nil
        // A later backward that reaches this node stops here with the "already freed"
        // message, so the edges are no longer needed either.
        inputs = []
    }

    /// Marks used by the topological sort (see `GradientEngine`): the pass that last
    /// visited this node, and the node's position in that pass's order.
    var visitedPass: UInt64 = 0
    var position: Int = 0
}

/// Counters that show whether graphs are freed: a training loop that keeps nodes alive (a
/// reference cycle, a loss kept across steps) grows its memory without bound.
public enum GraphDiagnostics {
    /// The number of graph nodes alive in the process, on all threads: leaves of tensors that
    /// require gradients plus the nodes of recorded ops. It returns to its earlier value once
    /// a step's tensors go out of scope; a steady rise means something holds on to graphs.
    /// Kept always on: one relaxed atomic add per node created or freed.
    public static var liveNodeCount: Int { Node.live.load(ordering: .relaxed) }
}

/// What a backward closure may ask about the op it belongs to.

struct BackwardContext {
    unowned(unsafe) let node: Node

    /// Whether input `i` needs a gradient (skip computing it otherwise).
    @inline(__always) func needsGradient(_ i: Int) -> Bool { node.inputs[i].node != nil }

    /// Input `i` of the op, connected to its own graph.
    @inline(__always) func input(_ i: Int) -> Tensor { node.inputs[i] }

    /// The op's output, as a tensor connected to this node (so that a backward recorded
    /// with `createGraph` differentiates through it). Only for ops that saved it.
    var output: Tensor {
        guard let s = node.savedOutput else {
            fatalError("\(node.op): backward asked for the output, which the op did not save")
        }
        return Tensor(storage: s, shape: node.shape, node: node)
    }
}

extension Tensor {
    /// Whether an op applied to these inputs must record a node.
    @inline(__always)
    static func recording(_ a: Tensor) -> Bool { a.node != nil && GradMode.isEnabled }
    @inline(__always)
    static func recording(_ a: Tensor, _ b: Tensor) -> Bool {
        (a.node != nil || b.node != nil) && GradMode.isEnabled
    }

    /// Attaches a graph node to `self` (an op's freshly computed output) when any input
    /// requires gradients and recording is on; otherwise returns `self` unchanged.
    ///
    /// Every differentiable op ends with this call, with its vector–Jacobian product written
    /// right beside it. The closure receives the output's gradient and returns one gradient
    /// per input, in the order of `inputs`, at the output's broadcast shape or the input's
    /// own shape: the engine sums broadcast gradients back to each input's shape.
    func recorded(_ op: String, _ inputs: [Tensor], savingOutput: Bool = false,
                  backward: @escaping Node.Backward) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: { $0.node != nil }) else { return self }
        let node = Node(op: op, inputs: inputs, shape: shape, dtype: dtype,
                        savedOutput: savingOutput ? storage : nil, backward: backward)
        if AnomalyMode.isEnabled { AnomalyMode.check(self, op: op, inputs: inputs) }
        return Tensor(storage: storage, shape: shape, node: node)
    }
}
