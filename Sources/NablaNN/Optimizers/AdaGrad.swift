import Nabla

/// AdaGrad, following PyTorch's `torch.optim.Adagrad` rule exactly:
///
///     g ← g + weightDecay·p
///     η_t ← η / (1 + (t − 1)·learningRateDecay)
///     s ← s + g²
///     p ← p − η_t·g / (√s + ε)
///
/// `learningRateDecay` is PyTorch's `lr_decay` (a decay of the rate); `weightDecay` is L2.
public final class AdaGrad: Optimizer {
    /// The base learning rate η.
    public var learningRate: Double {
        didSet { requireNonNegative("AdaGrad", "learningRate", learningRate) }
    }
    /// PyTorch's `lr_decay`: the rate at step t is η / (1 + (t − 1)·learningRateDecay).
    public let learningRateDecay: Double
    /// Added to the denominator for numerical stability.
    public let epsilon: Double
    /// The starting value of the squared-gradient sum.
    public let initialAccumulator: Double
    /// The default L2 coefficient for groups that do not set their own.
    public let weightDecay: Double

    struct State {
        var step = 0
        var sum: Tensor
    }
    private var entries: [OptimizerEntry<State>]

    /// AdaGrad over `parameters` with PyTorch's defaults.
    public convenience init(parameters: [Parameter], learningRate: Double = 0.01,
                            learningRateDecay: Double = 0, weightDecay: Double = 0,
                            initialAccumulator: Double = 0, epsilon: Double = 1e-10) {
        self.init(groups: [ParameterGroup(parameters: parameters)], learningRate: learningRate,
                  learningRateDecay: learningRateDecay, weightDecay: weightDecay,
                  initialAccumulator: initialAccumulator, epsilon: epsilon)
    }

    /// AdaGrad over parameter groups with their own weight decay or learning-rate scale.
    public init(groups: [ParameterGroup], learningRate: Double = 0.01, learningRateDecay: Double = 0,
                weightDecay: Double = 0, initialAccumulator: Double = 0, epsilon: Double = 1e-10) {
        requireNonNegative("AdaGrad", "learningRate", learningRate)
        requireNonNegative("AdaGrad", "learningRateDecay", learningRateDecay)
        requireNonNegative("AdaGrad", "initialAccumulator", initialAccumulator)
        requireNonNegative("AdaGrad", "epsilon", epsilon)
        self.learningRate = learningRate
        self.learningRateDecay = learningRateDecay
        self.epsilon = epsilon
        self.initialAccumulator = initialAccumulator
        self.weightDecay = weightDecay
        // PyTorch creates the accumulator with the optimizer, not on the first step.
        entries = makeEntries("AdaGrad", groups: groups, defaultWeightDecay: weightDecay) { p in
            State(sum: Tensor.full(like: p.value, value: initialAccumulator))
        }
        parameters = entries.map(\.parameter)
    }

    /// Every parameter, in group order (kept, not rebuilt: `zeroGrad()` reads it every step).
    public let parameters: [Parameter]

    /// Applies one AdaGrad update to every trainable parameter that has a gradient.
    public func step() {
        withoutGradients {
            for i in entries.indices {
                guard let g = usableGradient("AdaGrad", entries[i].parameter) else { continue }
                switch g.dtype {
                case .float32: update(i, g, Float.self)
                case .float64: update(i, g, Double.self)
                }
            }
        }
    }

    private func update<T: TensorScalar & SIMDScalar>(_ i: Int, _ grad: Tensor, _: T.Type) {
        let p = entries[i].parameter
        let wd = T(entries[i].weightDecay), eps = T(epsilon)
        entries[i].state.step += 1
        let t = Double(entries[i].state.step)
        let lr = T(learningRate * entries[i].learningRateScale / (1 + (t - 1) * learningRateDecay))
        // Take the sum out so it is uniquely referenced and updates in place.
        var sum = entries[i].state.sum
        entries[i].state.sum = grad
        grad.withUnsafeBufferPointer(as: T.self) { g in
        p.value.withUnsafeMutableBufferPointer(as: T.self) { w in
        sum.withUnsafeMutableBufferPointer(as: T.self) { s in
            for j in 0..<w.count {
                let gj = g[j] + wd * w[j]     // with no decay, g + 0·p equals g for finite p
                s[j] += gj * gj
            }
            subtractScaledQuotient(w, scale: lr, numerator: g.baseAddress!, decay: wd,
                                   s.baseAddress!, divisor: 1, epsilon: eps)
        }}}
        entries[i].state.sum = sum
    }

    /// Slots `step` and `sum` (PyTorch's names).
    public func exportState() -> OptimizerState {
        OptimizerState(type: "AdaGrad", learningRate: learningRate, slots: entries.map { e in
            ["step": stepTensor(e.state.step), "sum": e.state.sum]
        })
    }

    /// Restores the state and the learning rate; validates everything first.
    public func importState(_ state: OptimizerState) throws {
        let reader = try StateReader("AdaGrad", state, parameters)
        var states: [State] = []
        for i in entries.indices {
            try reader.checkNames(i, allowed: ["step", "sum"])
            let step = try reader.stepCount(i)
            let sum = try reader.tensor(i, "sum")
                ?? Tensor.full(like: entries[i].parameter.value, value: initialAccumulator)
            states.append(State(step: step, sum: sum))
        }
        for i in entries.indices { entries[i].state = states[i] }
        learningRate = state.learningRate
    }
}
