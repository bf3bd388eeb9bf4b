import Nabla

/// Adam (and AMSGrad), following PyTorch's `torch.optim.Adam` rule exactly:
///
///     g ← g + weightDecay·p                      (L2, coupled with the gradient)
///     m ← m + (1 − β₁)·(g − m)
///     v ← β₂·v + (1 − β₂)·g²
///     v̂ ← max(v̂, v)  and use v̂ instead of v      (amsgrad)
///     p ← p − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// For decoupled weight decay use `AdamW`.
public final class Adam: Optimizer {
    private var core: AdamCore

    /// Adam over `parameters` with PyTorch's defaults.
    public convenience init(parameters: [Parameter], learningRate: Double = 1e-3,
                            beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                            weightDecay: Double = 0, amsgrad: Bool = false) {
        self.init(groups: [ParameterGroup(parameters: parameters)], learningRate: learningRate,
                  beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, amsgrad: amsgrad)
    }

    /// Adam over parameter groups with their own weight decay or learning-rate scale.
    public init(groups: [ParameterGroup], learningRate: Double = 1e-3, beta1: Double = 0.9,
                beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0,
                amsgrad: Bool = false) {
        core = AdamCore(name: "Adam", groups: groups, learningRate: learningRate, beta1: beta1,
                        beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, amsgrad: amsgrad,
                        decoupled: false)
    }

    /// The base learning rate η.
    public var learningRate: Double {
        get { core.learningRate }
        set { requireNonNegative("Adam", "learningRate", newValue); core.learningRate = newValue }
    }
    /// The decay rate of the first-moment average.
    public var beta1: Double { core.beta1 }
    /// The decay rate of the second-moment average.
    public var beta2: Double { core.beta2 }
    /// Added to the denominator for numerical stability.
    public var epsilon: Double { core.epsilon }
    /// The default L2 coefficient (added to the gradient) for groups that do not set their own.
    public var weightDecay: Double { core.weightDecay }
    /// Whether the AMSGrad variant (maximum of past second moments) is used.
    public var amsgrad: Bool { core.amsgrad }
    /// Every parameter, in group order.
    public var parameters: [Parameter] { core.parameters }
    /// Applies one Adam update to every trainable parameter that has a gradient.
    public func step() { core.step() }
    /// Slots `step`, `exp_avg`, `exp_avg_sq` and (AMSGrad) `max_exp_avg_sq`.
    public func exportState() -> OptimizerState { core.exportState() }
    /// Restores the state and the learning rate; validates everything first.
    public func importState(_ state: OptimizerState) throws { try core.importState(state) }
}

/// Adam with decoupled weight decay (Loshchilov & Hutter), following PyTorch's
/// `torch.optim.AdamW`: first p ← p·(1 − η·weightDecay), then the Adam update without L2.
public final class AdamW: Optimizer {
    private var core: AdamCore

    /// AdamW over `parameters` with PyTorch's defaults (weight decay 0.01).
    public convenience init(parameters: [Parameter], learningRate: Double = 1e-3,
                            beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                            weightDecay: Double = 0.01, amsgrad: Bool = false) {
        self.init(groups: [ParameterGroup(parameters: parameters)], learningRate: learningRate,
                  beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, amsgrad: amsgrad)
    }

    /// AdamW over parameter groups; a group's `weightDecay` is its decoupled decay.
    public init(groups: [ParameterGroup], learningRate: Double = 1e-3, beta1: Double = 0.9,
                beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0.01,
                amsgrad: Bool = false) {
        core = AdamCore(name: "AdamW", groups: groups, learningRate: learningRate, beta1: beta1,
                        beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, amsgrad: amsgrad,
                        decoupled: true)
    }

    /// The base learning rate η.
    public var learningRate: Double {
        get { core.learningRate }
        set { requireNonNegative("AdamW", "learningRate", newValue); core.learningRate = newValue }
    }
    /// The decay rate of the first-moment average.
    public var beta1: Double { core.beta1 }
    /// The decay rate of the second-moment average.
    public var beta2: Double { core.beta2 }
    /// Added to the denominator for numerical stability.
    public var epsilon: Double { core.epsilon }
    /// The default decoupled decay coefficient for groups that do not set their own.
    public var weightDecay: Double { core.weightDecay }
    /// Whether the AMSGrad variant (maximum of past second moments) is used.
    public var amsgrad: Bool { core.amsgrad }
    /// Every parameter, in group order.
    public var parameters: [Parameter] { core.parameters }
    /// Applies one AdamW update to every trainable parameter that has a gradient.
    public func step() { core.step() }
    /// Slots `step`, `exp_avg`, `exp_avg_sq` and (AMSGrad) `max_exp_avg_sq`.
    public func exportState() -> OptimizerState { core.exportState() }
    /// Restores the state and the learning rate; validates everything first.
    public func importState(_ state: OptimizerState) throws { try core.importState(state) }
}

/// The rule and state shared by Adam and AdamW.
struct AdamCore {
    let name: String
    var learningRate: Double
    let beta1: Double, beta2: Double, epsilon: Double, weightDecay: Double
    let amsgrad: Bool
    /// AdamW's decoupled decay instead of Adam's L2 term.
    let decoupled: Bool

    struct State {
        var step = 0
        var expAvg: Tensor?
        var expAvgSq: Tensor?
        var maxExpAvgSq: Tensor?
    }
    var entries: [OptimizerEntry<State>]
    /// The entries' parameters, in order (kept for `zeroGrad()`, which reads them every step).
    let parameters: [Parameter]

    init(name: String, groups: [ParameterGroup], learningRate: Double, beta1: Double, beta2: Double,
         epsilon: Double, weightDecay: Double, amsgrad: Bool, decoupled: Bool) {
        requireNonNegative(name, "learningRate", learningRate)
        requireNonNegative(name, "epsilon", epsilon)
        guard (0..<1).contains(beta1), (0..<1).contains(beta2) else {
            optimizerFailure(name, "betas must be in [0, 1), got beta1 \(beta1), beta2 \(beta2)")
        }
        self.name = name
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.amsgrad = amsgrad
        self.decoupled = decoupled
        entries = makeEntries(name, groups: groups, defaultWeightDecay: weightDecay) { _ in State() }
        parameters = entries.map(\.parameter)
    }

    mutating func step() {
        withoutGradients {
            for i in entries.indices {
                guard let g = usableGradient(name, entries[i].parameter) else { continue }
                switch g.dtype {
                case .float32: update(i, g, Float.self)
                case .float64: update(i, g, Double.self)
                }
            }
        }
    }

    private mutating func update<T: TensorScalar & SIMDScalar>(_ i: Int, _ grad: Tensor, _: T.Type) {
        let p = entries[i].parameter
        let lr = learningRate * entries[i].learningRateScale
        let wdValue = entries[i].weightDecay
        // Take the state out so its tensors are uniquely referenced and update in place.
        var s = entries[i].state
        entries[i].state = State()
        s.step += 1
        // Bias corrections in double precision, as PyTorch computes them in Python floats.
        let t = Double(s.step)
        let stepSize = T(lr / (1 - Double.pow(beta1, t)))
        let correction2Sqrt = T((1 - Double.pow(beta2, t)).squareRoot())
        // With no L2 term, g + 0·p equals g for every finite p.
        let l2 = decoupled ? 0 : T(wdValue)
        let shrink = T(1 - lr * wdValue), shrinks = decoupled && wdValue != 0
        let oneMinusB1 = T(1 - beta1), b2 = T(beta2), oneMinusB2 = T(1 - beta2), eps = T(epsilon)
        let amsgrad = self.amsgrad
        var m = s.expAvg ?? Tensor.zeros(like: grad)
        var v = s.expAvgSq ?? Tensor.zeros(like: grad)
        var vMax = amsgrad ? (s.maxExpAvgSq ?? Tensor.zeros(like: grad)) : Tensor.zeros([0], dtype: grad.dtype)
        s.expAvg = nil; s.expAvgSq = nil; s.maxExpAvgSq = nil
        grad.withUnsafeBufferPointer(as: T.self) { g in
        p.value.withUnsafeMutableBufferPointer(as: T.self) { w in
        m.withUnsafeMutableBufferPointer(as: T.self) { m in
        v.withUnsafeMutableBufferPointer(as: T.self) { v in
        vMax.withUnsafeMutableBufferPointer(as: T.self) { vMax in
            // Branches are hoisted out of the loops so that they vectorize.
            if shrinks {
                for j in 0..<w.count { w[j] *= shrink }
            }
            for j in 0..<w.count {
                let gj = g[j] + l2 * w[j]
                m[j] += oneMinusB1 * (gj - m[j])
                v[j] = b2 * v[j] + oneMinusB2 * (gj * gj)
            }
            if amsgrad {
                for j in 0..<w.count { vMax[j] = max(vMax[j], v[j]) }
            }
            subtractScaledQuotient(w, scale: stepSize, numerator: m.baseAddress!, decay: 0,
                                   (amsgrad ? vMax : v).baseAddress!, divisor: correction2Sqrt, epsilon: eps)
        }}}}}
        s.expAvg = m
        s.expAvgSq = v
        if amsgrad { s.maxExpAvgSq = vMax }
        entries[i].state = s
    }

    func exportState() -> OptimizerState {
        OptimizerState(type: name, learningRate: learningRate, slots: entries.map { e in
            var d: [String: Tensor] = [:]
            guard e.state.step > 0 else { return d }
            d["step"] = stepTensor(e.state.step)
            d["exp_avg"] = e.state.expAvg
            d["exp_avg_sq"] = e.state.expAvgSq
            d["max_exp_avg_sq"] = e.state.maxExpAvgSq
            return d
        })
    }

    mutating func importState(_ state: OptimizerState) throws {
        let reader = try StateReader(name, state, entries.map(\.parameter))
        var states: [State] = []
        for i in entries.indices {
            try reader.checkNames(i, allowed: ["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"])
            var s = State()
            s.step = try reader.stepCount(i)
            if s.step > 0 {
                s.expAvg = try reader.required(i, "exp_avg")
                s.expAvgSq = try reader.required(i, "exp_avg_sq")
                s.maxExpAvgSq = amsgrad ? try reader.required(i, "max_exp_avg_sq") : nil
            }
            states.append(s)
        }
        for i in entries.indices { entries[i].state = states[i] }
        learningRate = state.learningRate
    }
}
