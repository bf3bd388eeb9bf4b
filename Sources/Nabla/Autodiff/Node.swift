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

// The mutable fields are `@exclusivity(unchecked)`: the engine reads and writes them for
// every node of every pass (a pending gradient taken, a gradient stored, a visit marked),
// and their run-time exclusivity checks were about 1 % of a 16-30-10 network's training
// step (perf: all such checks 4.1 % before, 3.3 % after, the rest in the optimizer). Only
// the graph's own code touches them, one access at a time, and backward never runs on
// one graph from two threads at once (see `GradientEngine`).
final class Node {
    /// How many nodes exist right now (see `GraphDiagnostics.liveNodeCount`).
    static let live = Atomic<Int>(0)

    /// The closure type of a vector–Jacobian product: given the gradient of the output, the
    /// gradient of each input (nil where none is needed or the input is constant).
    typealias Backward = (_ gradient: Tensor, _ context: BackwardContext) -> TensorList

    /// The op's name, as error messages and the anomaly report show it.
    let op: String
    // The op's inputs; those that do not require gradients have no node. Held as fields
    // (the first three) and an array (the rest) rather than one list value: stored as a
    // whole, the optimizer copied the list once more per op recorded (six retains and
    // releases), a measurable part of a small op's cost. Three fields, so that an op with
    // a bias (linear, conv2d) allocates no array either.
    @exclusivity(unchecked) private var input0: Tensor?
    @exclusivity(unchecked) private var input1: Tensor?
    @exclusivity(unchecked) private var input2: Tensor?
    @exclusivity(unchecked) private var moreInputs: [Tensor?]
    /// The number of inputs.
    @exclusivity(unchecked) private(set) var inputCount: Int
    /// Shape and dtype of the output (the gradient arriving here has them).
    let shape: [Int]
    let dtype: DType
    let isLeaf: Bool
    /// The vector–Jacobian product; nil for leaves and after the graph has been freed.
    @exclusivity(unchecked) var backward: Backward?
    /// The output values, kept only for ops whose backward needs them (sigmoid, exp, …).
    @exclusivity(unchecked) var savedOutput: TensorStorage?
    /// The accumulated gradient of a leaf, once formed (see `grad`).
    @exclusivity(unchecked) private var formedGrad: Tensor?
    /// A leaf's gradient still held as the two factors of the product that makes it (see
    /// `DeferredProduct`); `formedGrad` is nil while this is set.
    @exclusivity(unchecked) private(set) var deferredGrad: DeferredProduct?
    /// The gradient summed so far during a backward pass, before the pass reaches this
    /// node (see `GradientEngine.run`); nil outside a pass.
    @exclusivity(unchecked) var pendingGradient: Tensor?
    /// A leaf's first gradient of this pass when it came as a deferred product (see
    /// `BackwardContext.deferProduct`); `pendingGradient` is nil while this is set.
    @exclusivity(unchecked) var pendingProduct: DeferredProduct?

    /// The accumulated gradient of a leaf. Reading it forms a deferred gradient (one
    /// product) and keeps the result; setting it drops any deferred one.
    ///
    /// Reading is not safe on two threads at once for the same leaf, since it may store
    /// the formed gradient (as `backward` itself is not).
    var grad: Tensor? {
        get {
            if let product = deferredGrad {
                formedGrad = product.evaluated()
                deferredGrad = nil
            }
            return formedGrad
        }
        set {
            formedGrad = newValue
            deferredGrad = nil
        }
    }

    /// Adds `product`, a gradient held as its factors, to the leaf's gradient: kept
    /// unformed when there is no gradient yet, else formed and added.
    func accumulate(_ product: consuming DeferredProduct) {
        if formedGrad == nil && deferredGrad == nil {
            deferredGrad = product
        } else {
            grad = grad.unsafelyUnwrapped + product.evaluated()
        }
    }

    init(leafShape: [Int], dtype: DType) {
        op = "leaf"
        input0 = nil
        input1 = nil
        input2 = nil
        moreInputs = []
        inputCount = 0
        shape = leafShape
        self.dtype = dtype
        isLeaf = true
        Node.live.add(1, ordering: .relaxed)
    }

    /// A node of one input (`b` and `c` nil), two (`c` nil) or three.
    init(op: String, _ a: consuming Tensor, _ b: consuming Tensor?, _ c: consuming Tensor? = nil,
         shape: [Int], dtype: DType, savedOutput: TensorStorage?, backward: @escaping Backward) {
        self.op = op
        inputCount = c != nil ? 3 : b != nil ? 2 : 1
        input0 = a
        input1 = b
        input2 = c
        moreInputs = []
        self.shape = shape
        self.dtype = dtype
        self.savedOutput = savedOutput
        self.backward = backward
        isLeaf = false
        Node.live.add(1, ordering: .relaxed)
    }

    /// A node of any number of inputs.
    convenience init(op: String, inputs: TensorList, shape: [Int], dtype: DType,
                     savedOutput: TensorStorage?, backward: @escaping Backward) {
        precondition(inputs.count >= 1 && inputs.allSatisfy { $0 != nil }, "\(op): a node needs its inputs")
        self.init(op: op, inputs[0]!, inputs.count > 1 ? inputs[1] : nil, inputs.count > 2 ? inputs[2] : nil,
                  shape: shape, dtype: dtype, savedOutput: savedOutput, backward: backward)
        if inputs.count > 3 {
            moreInputs = Array(inputs[3...])
            inputCount = inputs.count
        }
    }

    /// The op's inputs, as a list (for messages; the engine reads them one at a time).
    var inputs: TensorList { TensorList((0..<inputCount).map { Optional(input($0)) }) }

    /// Input `i`.
    @inline(__always)
    func input(_ i: Int) -> Tensor {
        precondition(i >= 0 && i < inputCount, "\(op): input \(i) out of range 0..<\(inputCount)")
        switch i {
        case 0: return input0.unsafelyUnwrapped
        case 1: return input1.unsafelyUnwrapped
        case 2: return input2.unsafelyUnwrapped
        default: return moreInputs[i - 3].unsafelyUnwrapped
        }
    }

    /// The graph node of input `i`; nil when that input does not require gradients. (Not
    /// `input(i).node`: that copies the whole tensor, three retains, to read one field.)
    @inline(__always)
    func inputNode(_ i: Int) -> Node? {
        precondition(i >= 0 && i < inputCount, "\(op): input \(i) out of range 0..<\(inputCount)")
        switch i {
        case 0: return input0?.node
        case 1: return input1?.node
        case 2: return input2?.node
        default: return moreInputs[i - 3]?.node
        }
    }

    /// Lets go of the inputs one at a time; an input node that nothing else holds (which
    /// would be freed right there, recursively) is appended to `stack` instead. Most nodes
    /// freed have no such input (their inputs are leaves or still-alive tensors), so the
    /// stack then never allocates: making it up front cost two allocations per node freed.
    private func dropInputs(movingUniqueNodesTo stack: inout [Node]) {
        for i in 0..<inputCount {
            var tensor: Tensor?
            switch i {
            case 0: tensor = input0.take()
            case 1: tensor = input1.take()
            case 2: tensor = input2.take()
            default: tensor = moreInputs[i - 3].take()
            }
            var node = tensor?.node
            tensor = nil
            if node != nil && isKnownUniquelyReferenced(&node!) { stack.append(node.unsafelyUnwrapped) }
        }
        dropInputs()
    }

    /// Lets go of the inputs (and through them, perhaps, of the graph before this node).
    private func dropInputs() {
        input0 = nil
        input1 = nil
        input2 = nil
        moreInputs = []
        inputCount = 0
    }

    /// Frees a long chain of nodes without recursion: each input node that would go with
    /// this one is moved onto a local stack first, so a graph 100,000 ops deep cannot
    /// overflow the stack.
    deinit {
        Node.live.subtract(1, ordering: .relaxed)
        guard inputCount > 0 else { return }
        var stack: [Node] = []
        dropInputs(movingUniqueNodesTo: &stack)
        backward = nil
        while let n = stack.popLast() {
            n.dropInputs(movingUniqueNodesTo: &stack)
            n.backward = nil
        }
    }

    /// Drops what the backward pass needed, so that memory is returned right away.
    func release() {
        backward = nil
        savedOutput = nil
        // A later backward that reaches this node stops here with the "already freed"
        // message, so the edges are no longer needed either.
        dropInputs()
    }

    /// The mark of the topological sort (see `GradientEngine`): the pass that last visited
    /// this node.
    @exclusivity(unchecked) var visitedPass: UInt64 = 0
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
    /// Whether a leaf's gradient may be handed over unformed (`deferProduct`): only when the
    /// pass just stores leaf gradients, records nothing, and checks no values.
    let defersLeafProducts: Bool

    init(node: Node, defersLeafProducts: Bool = false) {
        self.node = node
        self.defersLeafProducts = defersLeafProducts
    }

    /// Whether input `i` needs a gradient (skip computing it otherwise).
    @inline(__always) func needsGradient(_ i: Int) -> Bool { node.inputNode(i) != nil }

    /// The number of inputs the op was recorded with.
    var inputCount: Int { node.inputCount }

    /// Input `i` of the op, connected to its own graph.
    @inline(__always) func input(_ i: Int) -> Tensor { node.input(i) }

    /// Hands over the gradient of input `i`, op(a)·op(b) (`matmul(a, b, transposeA:,
    /// transposeB:)`), as its two factors rather than formed, when input `i` is a leaf the
    /// pass would only store it in: this is its first gradient of the pass and the pass
    /// is a plain `backward()`. Returns false otherwise; the closure then computes the
    /// product itself. A handed-over gradient is formed when something reads it (`grad`),
    /// or never: plain SGD adds the product straight into the weights
    /// (`Tensor.descendGradient(rate:)`), without a gradient buffer.
    func deferProduct(toInput i: Int, _ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool) -> Bool {
        guard defersLeafProducts, let leaf = node.inputNode(i), leaf.isLeaf,
              leaf.pendingGradient == nil, leaf.pendingProduct == nil,
              a.rank == 2, b.rank == 2, a.dtype == leaf.dtype, b.dtype == leaf.dtype,
              leaf.shape.count == 2,
              leaf.shape[0] == a.shape[transposeA ? 1 : 0], leaf.shape[1] == b.shape[transposeB ? 0 : 1],
              a.shape[transposeA ? 0 : 1] == b.shape[transposeB ? 1 : 0] else { return false }
        leaf.pendingProduct = DeferredProduct(a: a.detached(), b: b.detached(),
                                              transposeA: transposeA, transposeB: transposeB)
        return true
    }

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
    /// per input, in the order of the inputs, at the output's broadcast shape or the input's
    /// own shape: the engine sums broadcast gradients back to each input's shape.
    ///
    /// The one- and two-input forms check whether to record before they build anything, so
    /// an op outside a graph pays nothing for it; ops with more inputs pass a `TensorList`.
    @inline(__always)
    func recorded(_ op: String, _ x: Tensor, savingOutput: Bool = false,
                  backward: @escaping Node.Backward) -> Tensor {
        guard x.node != nil, GradMode.isEnabled else { return self }
        return attaching(Node(op: op, x, nil, shape: shape, dtype: dtype,
                              savedOutput: savingOutput ? storage : nil, backward: backward))
    }

    /// `recorded` for an op of two inputs.
    @inline(__always)
    func recorded(_ op: String, _ a: Tensor, _ b: Tensor, savingOutput: Bool = false,
                  backward: @escaping Node.Backward) -> Tensor {
        guard a.node != nil || b.node != nil, GradMode.isEnabled else { return self }
        return attaching(Node(op: op, a, b, shape: shape, dtype: dtype,
                              savedOutput: savingOutput ? storage : nil, backward: backward))
    }

    /// `recorded` for an op of two inputs and an optional third (a bias), passed without a
    /// `TensorList`: building one and copying it into the node retained and released every
    /// tensor reference twice more, a third of a small linear op's cost.
    @inline(__always)
    func recorded(_ op: String, _ a: Tensor, _ b: Tensor, _ c: Tensor?, savingOutput: Bool = false,
                  backward: @escaping Node.Backward) -> Tensor {
        guard a.node != nil || b.node != nil || c?.node != nil, GradMode.isEnabled else { return self }
        return attaching(Node(op: op, a, b, c, shape: shape, dtype: dtype,
                              savedOutput: savingOutput ? storage : nil, backward: backward))
    }

    /// `recorded` for an op of any number of inputs.
    func recorded(_ op: String, _ inputs: consuming TensorList, savingOutput: Bool = false,
                  backward: @escaping Node.Backward) -> Tensor {
        guard inputs.anyRequiresGradient, GradMode.isEnabled else { return self }
        return attaching(Node(op: op, inputs: inputs, shape: shape, dtype: dtype,
                              savedOutput: savingOutput ? storage : nil, backward: backward))
    }

    /// This tensor's values with `node` (recorded for them) as its graph node.
    private func attaching(_ node: Node) -> Tensor {
        if AnomalyMode.isEnabled { AnomalyMode.check(self, of: node) }
        return Tensor(storage: storage, shape: shape, node: node)
    }
}
