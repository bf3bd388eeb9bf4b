import Synchronization

extension Tensor {
    /// Computes the gradient of this tensor with respect to every leaf that requires
    /// gradients and adds it to each leaf's `grad`.
    ///
    /// - Parameters:
    ///   - gradient: the gradient of some final value with respect to this tensor
    ///     (same shape). May be omitted only when this tensor has one element (a loss).
    ///   - retainGraph: keep the graph so that `backward` can run through it again.
    ///     By default the graph is freed as the pass goes, which returns memory at once;
    ///     a second pass through a freed graph stops with a message saying so.
    ///   - createGraph: record the backward pass itself, so that the gradients have a graph
    ///     and can be differentiated again (second derivatives). Implies `retainGraph`.
    ///
    /// Gradients **accumulate**: two calls add two gradients into `grad`. Call `zeroGrad()`
    /// (or a module's or optimizer's `zeroGrad()`) between training steps.
    public func backward(_ gradient: Tensor? = nil, retainGraph: Bool = false,
                         createGraph: Bool = false) {
        let seed = seedGradient(gradient, caller: "backward")
        GradientEngine.run(root: node!, seed: seed, targets: [], accumulateIntoLeaves: true,
                           retainGraph: retainGraph || createGraph, createGraph: createGraph)
    }

    private func seedGradient(_ gradient: Tensor?, caller: String) -> Tensor {
        guard node != nil else {
            opFailure(caller, "this tensor does not require gradients (no input of the ops that made it required them, or it was made inside withoutGradients)")
        }
        if let gradient {
            guard gradient.shape == shape else {
                opFailure(caller, "gradient shape \(describe(gradient.shape)) differs from the tensor's shape \(describe(shape))")
            }
            guard gradient.dtype == dtype else {
                opFailure(caller, "gradient dtype \(gradient.dtype) differs from the tensor's dtype \(dtype)")
            }
            return gradient
        }
        guard count == 1 else {
            opFailure(caller, "tensor of shape \(describe(shape)) is not a scalar: pass the upstream gradient explicitly (backward(Tensor.ones(like: y)) sums the elements)")
        }
        return Tensor.ones(shape, dtype: dtype)
    }
}

/// The gradients of `output` with respect to each of `inputs`, without touching any
/// tensor's `grad`.
///
/// An input that `output` does not depend on gets a zero gradient. With `createGraph` the
/// returned gradients carry a graph and can be differentiated again.
///
/// ```swift
/// let x = Tensor([1.0, 2.0]).requiringGrad()
/// let y = (x * x * x).sum()
/// let dx = gradients(of: y, withRespectTo: [x], createGraph: true)[0]   // 3x²
/// let d2x = gradients(of: dx.sum(), withRespectTo: [x])[0]             // 6x
/// ```
public func gradients(of output: Tensor, withRespectTo inputs: [Tensor],
                      seed: Tensor? = nil, retainGraph: Bool = false,
                      createGraph: Bool = false) -> [Tensor] {
    for (i, x) in inputs.enumerated() where x.node == nil {
        opFailure("gradients", "input \(i) (shape \(describe(x.shape))) does not require gradients")
    }
    guard output.node != nil else {
        opFailure("gradients", "the output does not require gradients: it does not depend on any input that requires them")
    }
    let seedTensor = seed ?? {
        guard output.count == 1 else {
            opFailure("gradients", "output of shape \(describe(output.shape)) is not a scalar: pass seed:")
        }
        return Tensor.ones(output.shape, dtype: output.dtype)
    }()
    guard seedTensor.shape == output.shape else {
        opFailure("gradients", "seed shape \(describe(seedTensor.shape)) differs from the output's \(describe(output.shape))")
    }
    let found = GradientEngine.run(root: output.node!, seed: seedTensor,
                                   targets: inputs.map { $0.node! }, accumulateIntoLeaves: false,
                                   retainGraph: retainGraph || createGraph, createGraph: createGraph)
    return inputs.enumerated().map { i, x in found[i] ?? Tensor.zeros(x.shape, dtype: x.dtype) }
}

/// The reverse pass: orders the graph, then walks it from the output back to the leaves.
enum GradientEngine {
    /// Numbers the passes, so that a node's marks from an earlier pass read as unvisited.
    private static let passCounter = Atomic<UInt64>(0)

    /// Nodes reachable from `root`, each after all of its inputs (post-order), found with an
    /// explicit stack so that graphs of any depth fit. A node is marked with the pass that
    /// visited it (a mark instead of a set: this runs once per training step).
    /// Two threads must not run backward through the same nodes at once.
    static func topologicalOrder(from root: Node) -> [Node] {
        let pass = passCounter.add(1, ordering: .relaxed).newValue
        // Room for a small graph up front: growing both arrays from empty cost four or five
        // reallocations per backward() on a graph of a few ops.
        var order: [Node] = []
        order.reserveCapacity(32)
        var stack: [(node: Node, next: Int)] = []
        stack.reserveCapacity(32)
        stack.append((root, 0))
        root.visitedPass = pass
        while !stack.isEmpty {
            let top = stack.count - 1
            let node = stack[top].node
            let next = stack[top].next
            if next < node.inputCount {
                stack[top].next = next + 1
                if let child = node.inputNode(next), child.visitedPass != pass {
                    child.visitedPass = pass
                    stack.append((child, 0))
                }
            } else {
                stack.removeLast()
                order.append(node)
            }
        }
        return order
    }

    /// Runs the pass and returns the gradient found for each target node (by index).
    @discardableResult
    static func run(root: Node, seed: Tensor, targets: [Node], accumulateIntoLeaves: Bool,
                    retainGraph: Bool, createGraph: Bool) -> [Int: Tensor] {
        let order = topologicalOrder(from: root)
        // Gradients wait in the nodes themselves (`pendingGradient`) until the pass reaches
        // them, summed where a value fed several ops.
        root.pendingGradient = seed
        var targetIndex: [ObjectIdentifier: [Int]] = [:]
        for (i, t) in targets.enumerated() { targetIndex[ObjectIdentifier(t), default: []].append(i) }
        var found: [Int: Tensor] = [:]
        // Leaf gradients that are products may be handed over unformed (see
        // `BackwardContext.deferProduct`) when they are only stored: not when the pass
        // returns them, records itself, or checks every gradient for NaN.
        let defers = accumulateIntoLeaves && targets.isEmpty && !createGraph && !AnomalyMode.isEnabled

        GradMode.with(createGraph) {
            for node in order.reversed() {
                if node.isLeaf, let product = node.pendingProduct.take() {
                    node.accumulate(product)  // its only gradient of this pass (see below)
                    continue
                }
                guard let gradient = node.pendingGradient.take() else { continue }
                if !targetIndex.isEmpty, let indices = targetIndex[ObjectIdentifier(node)] {
                    for t in indices { found[t] = gradient }
                }
                if node.isLeaf {
                    if accumulateIntoLeaves {
                        let g = createGraph ? gradient : gradient.detached()
                        node.grad = node.grad.map { $0 + g } ?? g
                    }
                    continue
                }
                guard let backward = node.backward else {
                    opFailure("backward", "the graph through '\(node.op)' was already freed by an earlier backward(); pass retainGraph: true to the earlier call to run backward through the same graph twice")
                }
                var inputGradients = backward(gradient, BackwardContext(node: node, defersLeafProducts: defers))
                if AnomalyMode.isEnabled { AnomalyMode.checkGradients(inputGradients, of: node, incoming: gradient) }
                for k in 0..<Swift.min(node.inputCount, inputGradients.count) {
                    guard let input = node.inputNode(k), var g = inputGradients.take(k) else { continue }
                    if g.shape != input.shape { g = g.sumToShape(input.shape) }
                    // A second gradient for a leaf whose first was deferred: form the first,
                    // so that the sum is added up in the same order as without deferring.
                    if let earlier = input.pendingGradient.take() ?? input.pendingProduct.take()?.evaluated() {
                        g = earlier + g
                    }
                    input.pendingGradient = g
                }
                if !retainGraph { node.release() }
            }
        }
        return found
    }
}
