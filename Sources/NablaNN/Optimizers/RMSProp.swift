import Nabla

/// RMSProp, following PyTorch's `torch.optim.RMSprop` rule exactly:
///
///     g ← g + weightDecay·p
///     v ← α·v + (1 − α)·g²
///     ḡ ← ḡ + (1 − α)·(g − ḡ),  denominator √(v − ḡ²) + ε      (centered)
///     denominator √v + ε                                        (not centered)
///     b ← μ·b + g / denominator,  p ← p − η·b                   (momentum > 0)
///     p ← p − η·g / denominator                                 (no momentum)
public final class RMSProp: Optimizer {
    /// The base learning rate η.
    public var learningRate: Double {
        didSet { requireNonNegative("RMSProp", "learningRate", learningRate) }
    }
    /// The smoothing constant α of the squared-gradient average.
    public let alpha: Double
    /// Added to the denominator for numerical stability.
    public let epsilon: Double
    /// The momentum factor μ (0: none).
    public let momentum: Double
    /// Whether to normalize by the estimated variance instead of the raw second moment.
    public let centered: Bool
    /// The default L2 coefficient for groups that do not set their own.
    public let weightDecay: Double

    struct State {
        var step = 0
        var squareAverage: Tensor?
        var momentumBuffer: Tensor?
        var gradientAverage: Tensor?
    }
    private var entries: [OptimizerEntry<State>]

    /// RMSProp over `parameters` with PyTorch's defaults.
    public convenience init(parameters: [Parameter], learningRate: Double = 0.01, alpha: Double = 0.99,
                            epsilon: Double = 1e-8, weightDecay: Double = 0, momentum: Double = 0,
                            centered: Bool = false) {
        self.init(groups: [ParameterGroup(parameters: parameters)], learningRate: learningRate,
                  alpha: alpha, epsilon: epsilon, weightDecay: weightDecay, momentum: momentum,
                  centered: centered)
    }

    /// RMSProp over parameter groups with their own weight decay or learning-rate scale.
    public init(groups: [ParameterGroup], learningRate: Double = 0.01, alpha: Double = 0.99,
                epsilon: Double = 1e-8, weightDecay: Double = 0, momentum: Double = 0,
                centered: Bool = false) {
        requireNonNegative("RMSProp", "learningRate", learningRate)
        requireNonNegative("RMSProp", "alpha", alpha)
        requireNonNegative("RMSProp", "epsilon", epsilon)
        requireNonNegative("RMSProp", "momentum", momentum)
        self.learningRate = learningRate
        self.alpha = alpha
        self.epsilon = epsilon
        self.momentum = momentum
        self.centered = centered
        self.weightDecay = weightDecay
        entries = makeEntries("RMSProp", groups: groups, defaultWeightDecay: weightDecay) { _ in State() }
        parameters = entries.map(\.parameter)
    }

    /// Every parameter, in group order (kept, not rebuilt: `zeroGrad()` reads it every step).
    public let parameters: [Parameter]

    /// Applies one RMSProp update to every trainable parameter that has a gradient.
    public func step() {
        withoutGradients {
            for i in entries.indices {
                guard let g = usableGradient("RMSProp", entries[i].parameter) else { continue }
                switch g.dtype {
                case .float32: update(i, g, Float.self)
                case .float64: update(i, g, Double.self)
                }
            }
        }
    }

    private func update<T: TensorScalar & SIMDScalar>(_ i: Int, _ grad: Tensor, _: T.Type) {
        let p = entries[i].parameter
        let lr = T(learningRate * entries[i].learningRateScale), wd = T(entries[i].weightDecay)
        let decays = entries[i].weightDecay != 0
        let a = T(alpha), oneMinusA = T(1 - alpha), eps = T(epsilon), mu = T(momentum)
        let useMomentum = momentum > 0, centered = self.centered
        // Take the state out so its tensors are uniquely referenced and update in place; the
        // unused slots are empty tensors that the loop never touches.
        var s = entries[i].state
        entries[i].state = State()
        s.step += 1
        var v = s.squareAverage ?? Tensor.zeros(like: grad)
        var b = useMomentum ? (s.momentumBuffer ?? Tensor.zeros(like: grad)) : Tensor.zeros([0], dtype: grad.dtype)
        var m = centered ? (s.gradientAverage ?? Tensor.zeros(like: grad)) : Tensor.zeros([0], dtype: grad.dtype)
        s.squareAverage = nil; s.momentumBuffer = nil; s.gradientAverage = nil
        grad.withUnsafeBufferPointer(as: T.self) { g in
        p.value.withUnsafeMutableBufferPointer(as: T.self) { w in
        v.withUnsafeMutableBufferPointer(as: T.self) { v in
        b.withUnsafeMutableBufferPointer(as: T.self) { b in
        m.withUnsafeMutableBufferPointer(as: T.self) { m in
            guard centered || useMomentum else {
                // The common case, with the square root and division in the vector kernel.
                for j in 0..<w.count {
                    let gj = g[j] + wd * w[j]     // with no decay, g + 0·p equals g for finite p
                    v[j] = a * v[j] + oneMinusA * (gj * gj)
                }
                subtractScaledQuotient(w, scale: lr, numerator: g.baseAddress!, decay: wd,
                                       UnsafePointer(v.baseAddress!), divisor: 1, epsilon: eps)
                return
            }
            for j in 0..<w.count {
                let gj = decays ? g[j] + wd * w[j] : g[j]
                v[j] = a * v[j] + oneMinusA * (gj * gj)
                let denominator: T
                if centered {
                    m[j] += oneMinusA * (gj - m[j])
                    denominator = (v[j] - m[j] * m[j]).squareRoot() + eps
                } else {
                    denominator = v[j].squareRoot() + eps
                }
                if useMomentum {
                    b[j] = mu * b[j] + gj / denominator
                    w[j] -= lr * b[j]
                } else {
                    w[j] -= lr * (gj / denominator)
                }
            }
        }}}}}
        s.squareAverage = v
        if useMomentum { s.momentumBuffer = b }
        if centered { s.gradientAverage = m }
        entries[i].state = s
    }

    /// Slots `step`, `square_avg`, and `momentum_buffer` / `grad_avg` when used.
    public func exportState() -> OptimizerState {
        OptimizerState(type: "RMSProp", learningRate: learningRate, slots: entries.map { e in
            var d: [String: Tensor] = [:]
            guard e.state.step > 0 else { return d }
            d["step"] = stepTensor(e.state.step)
            d["square_avg"] = e.state.squareAverage
            d["momentum_buffer"] = e.state.momentumBuffer
            d["grad_avg"] = e.state.gradientAverage
            return d
        })
    }

    /// Restores the state and the learning rate; validates everything first.
    public func importState(_ state: OptimizerState) throws {
        let reader = try StateReader("RMSProp", state, parameters)
        var states: [State] = []
        for i in entries.indices {
            try reader.checkNames(i, allowed: ["step", "square_avg", "momentum_buffer", "grad_avg"])
            var s = State()
            s.step = try reader.stepCount(i)
            if s.step > 0 {
                s.squareAverage = try reader.required(i, "square_avg")
                s.momentumBuffer = momentum > 0 ? try reader.required(i, "momentum_buffer") : nil
                s.gradientAverage = centered ? try reader.required(i, "grad_avg") : nil
            }
            states.append(s)
        }
        for i in entries.indices { entries[i].state = states[i] }
        learningRate = state.learningRate
    }
}
