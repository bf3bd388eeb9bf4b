import CNablaKernels
import Nabla

/// Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay,
/// following PyTorch's `torch.optim.SGD` rule exactly:
///
///     d ← g + weightDecay·p
///     b ← d                        on the first step, else  b ← μ·b + (1 − dampening)·d
///     d ← d + μ·b  (Nesterov)      or  d ← b  (classical momentum)
///     p ← p − η·d
///
/// `weightDecay` is the L2 coefficient λ (Nielsen's λ/n), never a learning-rate decay.
public final class SGD: Optimizer {
    /// The base learning rate η.
    public var learningRate: Double {
        didSet { requireNonNegative("SGD", "learningRate", learningRate) }
    }
    /// The momentum factor μ (0: plain SGD).
    public let momentum: Double
    /// The dampening of the momentum's gradient term (PyTorch's `dampening`, default 0).
    public let dampening: Double
    /// Whether to use Nesterov momentum (needs momentum > 0 and dampening 0).
    public let nesterov: Bool
    /// The default L2 coefficient for groups that do not set their own.
    public let weightDecay: Double

    /// Per parameter: its group's options and its momentum buffer (nil before the first step).
    private var entries: [OptimizerEntry<Tensor?>]

    /// SGD over `parameters` (typically `model.trainableParameters()`).
    public convenience init(parameters: [Parameter], learningRate: Double, momentum: Double = 0,
                            dampening: Double = 0, nesterov: Bool = false, weightDecay: Double = 0) {
        self.init(groups: [ParameterGroup(parameters: parameters)], learningRate: learningRate,
                  momentum: momentum, dampening: dampening, nesterov: nesterov, weightDecay: weightDecay)
    }

    /// SGD over parameter groups with their own weight decay or learning-rate scale.
    public init(groups: [ParameterGroup], learningRate: Double, momentum: Double = 0,
                dampening: Double = 0, nesterov: Bool = false, weightDecay: Double = 0) {
        requireNonNegative("SGD", "learningRate", learningRate)
        requireNonNegative("SGD", "momentum", momentum)
        requireNonNegative("SGD", "dampening", dampening)
        if nesterov && (momentum <= 0 || dampening != 0) {
            optimizerFailure("SGD", "Nesterov momentum needs momentum > 0 and dampening 0, got momentum \(momentum), dampening \(dampening)")
        }
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        entries = makeEntries("SGD", groups: groups, defaultWeightDecay: weightDecay) { _ in nil }
        parameters = entries.map(\.parameter)
    }

    /// Every parameter, in group order (kept, not rebuilt: `zeroGrad()` reads it every step).
    public let parameters: [Parameter]

    /// Applies one SGD update to every trainable parameter that has a gradient.
    public func step() {
        withoutGradients {
            for i in entries.indices {
                let p = entries[i].parameter
                if momentum == 0 && entries[i].weightDecay == 0 {
                    // w ← w − η·g in place, straight from the product when the gradient is
                    // still held as one (a dense layer's weight; see descendGradient).
                    if !p.isFrozen { p.value.descendGradient(rate: learningRate * entries[i].learningRateScale) }
                    continue
                }
                guard let g = usableGradient("SGD", p) else { continue }
                switch g.dtype {
                case .float32: update(i, g, Float.self)
                case .float64: update(i, g, Double.self)
                }
            }
        }
    }

    private func update<T: TensorScalar>(_ i: Int, _ grad: Tensor, _: T.Type) {
        let p = entries[i].parameter
        let lr = T(learningRate * entries[i].learningRateScale)
        let wd = T(entries[i].weightDecay), mu = T(momentum), keep = T(1 - dampening)
        let decays = entries[i].weightDecay != 0
        guard momentum != 0 else {
            // w ← w − η·(g + λ·w) in the C kernel (wide vectors, threads for big tensors),
            // with the same operations in the same order as the Swift loops below.
            grad.withUnsafeBufferPointer(as: T.self) { g in
                p.value.withUnsafeMutableBufferPointer(as: T.self) { w in
                    guard let wp = w.baseAddress, let gp = g.baseAddress else { return }
                    if T.self == Float.self {
                        nabla_sgd_update_f32(UnsafeMutableRawPointer(wp).assumingMemoryBound(to: Float.self),
                                             UnsafeRawPointer(gp).assumingMemoryBound(to: Float.self), w.count,
                                             Float(learningRate * entries[i].learningRateScale),
                                             decays ? Float(entries[i].weightDecay) : 0)
                    } else {
                        nabla_sgd_update_f64(UnsafeMutableRawPointer(wp).assumingMemoryBound(to: Double.self),
                                             UnsafeRawPointer(gp).assumingMemoryBound(to: Double.self), w.count,
                                             learningRate * entries[i].learningRateScale,
                                             decays ? entries[i].weightDecay : 0)
                    }
                }
            }
            return
        }
        // Take the buffer out of the array so it is uniquely referenced and updates in place.
        let first = entries[i].state == nil
        var buffer = entries[i].state ?? Tensor.zeros(like: grad)
        entries[i].state = nil
        let nesterov = self.nesterov
        grad.withUnsafeBufferPointer(as: T.self) { g in
            p.value.withUnsafeMutableBufferPointer(as: T.self) { w in
                buffer.withUnsafeMutableBufferPointer(as: T.self) { b in
                    // One loop per case, so that no branch stays inside a loop (they vectorize).
                    // With no decay, g + 0·p equals g for every finite p.
                    if first {
                        for j in 0..<w.count { b[j] = g[j] + wd * w[j] }
                    } else {
                        for j in 0..<w.count { b[j] = mu * b[j] + keep * (g[j] + wd * w[j]) }
                    }
                    if nesterov {
                        for j in 0..<w.count { w[j] -= lr * ((g[j] + wd * w[j]) + mu * b[j]) }
                    } else {
                        for j in 0..<w.count { w[j] -= lr * b[j] }
                    }
                }
            }
        }
        entries[i].state = buffer
    }

    /// The momentum buffers (slot `momentum_buffer`) of the parameters stepped so far.
    public func exportState() -> OptimizerState {
        OptimizerState(type: "SGD", learningRate: learningRate, slots: entries.map { e in
            e.state.map { ["momentum_buffer": $0] } ?? [:]
        })
    }

    /// Restores momentum buffers and the learning rate; validates everything first.
    public func importState(_ state: OptimizerState) throws {
        let reader = try StateReader("SGD", state, parameters)
        var buffers: [Tensor?] = []
        for i in entries.indices {
            try reader.checkNames(i, allowed: ["momentum_buffer"])
            buffers.append(try reader.tensor(i, "momentum_buffer"))
        }
        for i in entries.indices { entries[i].state = buffers[i] }
        learningRate = state.learningRate
    }
}
