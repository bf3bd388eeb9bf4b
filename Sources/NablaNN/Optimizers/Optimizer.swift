import Nabla

/// Something that changes parameters from their gradients: SGD, RMSProp, AdaGrad, Adam, AdamW.
///
/// A training step is `loss.backward(); optimizer.step(); optimizer.zeroGrad()`. Gradients add
/// up across `backward()` calls, so forgetting `zeroGrad()` makes every later step use the sum
/// of all earlier gradients.
///
/// Parameters that are frozen, or that received no gradient since the last `zeroGrad()`, are
/// skipped: their values and their optimizer state stay as they are (as in PyTorch).
///
/// Updates write into each parameter's buffer in place (one fused loop per parameter, no
/// temporary tensors), keeping the leaf and its gradient slot. A copy of `parameter.value`
/// taken earlier (or saved by a graph still alive) keeps its old values: the write copies
/// the buffer first if it is shared.
public protocol Optimizer: AnyObject {
    /// The base learning rate η. Schedules set it between steps; a parameter group's
    /// `learningRateScale` multiplies it.
    var learningRate: Double { get set }

    /// Every parameter this optimizer updates, in group order. Checkpoints name the state of
    /// parameter `i` after the module's name for `parameters[i]`.
    var parameters: [Parameter] { get }

    /// Applies one update to every trainable parameter that has a gradient.
    func step()

    /// The optimizer's state (momentum buffers, moments, step counts) as named tensors per
    /// parameter, for checkpoints.
    func exportState() -> OptimizerState

    /// Replaces the optimizer's state with `state`. Validates everything first: on a thrown
    /// error the optimizer is left unchanged.
    func importState(_ state: OptimizerState) throws
}

extension Optimizer {
    /// Forgets the accumulated gradient of every parameter this optimizer updates.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// An optimizer's state in a form a checkpoint can store: tensors named by slot
/// (PyTorch's names: `momentum_buffer`, `exp_avg`, `exp_avg_sq`, `step`, …) for each parameter.
public struct OptimizerState {
    /// The optimizer's type name ("SGD", "Adam", …); importing into another type fails.
    public var type: String
    /// The learning rate when the state was taken.
    public var learningRate: Double
    /// One dictionary per entry of `Optimizer.parameters`, from slot name to tensor.
    /// An empty dictionary means the parameter has not been stepped yet.
    public var slots: [[String: Tensor]]

    /// A state with the given parts.
    public init(type: String, learningRate: Double, slots: [[String: Tensor]]) {
        self.type = type
        self.learningRate = learningRate
        self.slots = slots
    }
}

/// Why an optimizer state could not be imported.
public struct OptimizerStateError: Error, CustomStringConvertible {
    /// A one-line explanation naming the optimizer, the parameter and the slot.
    public let description: String
    /// An error with the given explanation.
    public init(_ description: String) { self.description = description }
}

/// A set of parameters sharing options within one optimizer.
///
/// Nielsen's chapter 3 applies L2 regularization to weights but not to biases:
/// ```swift
/// let sgd = SGD(groups: [ParameterGroup(parameters: weights, weightDecay: 5.0 / 60_000),
///                        ParameterGroup(parameters: biases)], learningRate: 0.5)
/// ```
/// or, from a model's names, `SGD(groups: ParameterGroup.weightsAndBiases(model.namedParameters(), weightDecay: λ / n), …)`.
public struct ParameterGroup {
    /// The parameters of the group.
    public var parameters: [Parameter]
    /// The L2 coefficient for this group (for AdamW, the decoupled decay); nil uses the
    /// optimizer's `weightDecay`.
    public var weightDecay: Double?
    /// Multiplies the optimizer's learning rate for this group (so schedules still apply).
    public var learningRateScale: Double

    /// A group with its own options; nil or 1 means "as the optimizer".
    public init(parameters: [Parameter], weightDecay: Double? = nil, learningRateScale: Double = 1) {
        self.parameters = parameters
        self.weightDecay = weightDecay
        self.learningRateScale = learningRateScale
    }

    /// Two groups from named parameters: those whose name ends in "weight" get `weightDecay`,
    /// all others (biases, BatchNorm's parameters named otherwise) get none. Frozen
    /// parameters are left out.
    public static func weightsAndBiases(_ named: [(name: String, parameter: Parameter)],
                                        weightDecay: Double) -> [ParameterGroup] {
        let trainable = named.filter { !$0.parameter.isFrozen }
        let decayed = trainable.filter { $0.name == "weight" || $0.name.hasSuffix(".weight") }
        let decayedIDs = Set(decayed.map { ObjectIdentifier($0.parameter) })
        let others = trainable.filter { !decayedIDs.contains(ObjectIdentifier($0.parameter)) }
        return [ParameterGroup(parameters: decayed.map(\.parameter), weightDecay: weightDecay),
                ParameterGroup(parameters: others.map(\.parameter), weightDecay: 0)]
    }
}

/// Stops with a message naming the optimizer and the rule broken (a programming error).
func optimizerFailure(_ op: String, _ message: String) -> Never {
    fatalError("\(op): \(message)")
}

/// One parameter as an optimizer sees it: the options of its group and its state slots.
/// Each optimizer keeps an array of these, aligned with `parameters`.
struct OptimizerEntry<State> {
    let parameter: Parameter
    let weightDecay: Double
    let learningRateScale: Double
    var state: State
}

/// Flattens groups into entries, checking the rules every optimizer shares: at least one
/// parameter, no parameter twice, non-negative options.
func makeEntries<State>(_ op: String, groups: [ParameterGroup], defaultWeightDecay: Double,
                        initialState: (Parameter) -> State) -> [OptimizerEntry<State>] {
    let all = groups.flatMap(\.parameters)
    guard !all.isEmpty else {
        optimizerFailure(op, "no parameters to optimize (the parameter list is empty; pass model.trainableParameters() of a model that has parameters)")
    }
    var seen = Set<ObjectIdentifier>()
    for (i, p) in all.enumerated() where !seen.insert(ObjectIdentifier(p)).inserted {
        optimizerFailure(op, "parameter #\(i) (shape \(p.shape)) appears more than once; each parameter may be in only one group")
    }
    guard defaultWeightDecay >= 0 else {
        optimizerFailure(op, "weightDecay must be ≥ 0, got \(defaultWeightDecay)")
    }
    var entries: [OptimizerEntry<State>] = []
    for (g, group) in groups.enumerated() {
        let wd = group.weightDecay ?? defaultWeightDecay
        guard wd >= 0 else { optimizerFailure(op, "group #\(g): weightDecay must be ≥ 0, got \(wd)") }
        guard group.learningRateScale >= 0 else {
            optimizerFailure(op, "group #\(g): learningRateScale must be ≥ 0, got \(group.learningRateScale)")
        }
        for p in group.parameters {
            entries.append(OptimizerEntry(parameter: p, weightDecay: wd,
                                          learningRateScale: group.learningRateScale,
                                          state: initialState(p)))
        }
    }
    return entries
}

/// The gradient an optimizer should use for `p`, or nil when `p` is skipped (frozen or no
/// gradient). Checks that the gradient matches the parameter.
func usableGradient(_ op: String, _ p: Parameter) -> Tensor? {
    guard !p.isFrozen, let g = p.grad else { return nil }
    guard g.shape == p.shape, g.dtype == p.value.dtype else {
        optimizerFailure(op, "gradient \(g.dtype) \(g.shape) does not match parameter \(p.value.dtype) \(p.shape)")
    }
    return g
}

/// Checks a learning rate or other non-negative hyperparameter.
func requireNonNegative(_ op: String, _ name: String, _ value: Double) {
    guard value >= 0, value.isFinite else { optimizerFailure(op, "\(name) must be a finite number ≥ 0, got \(value)") }
}

// MARK: state import helpers

/// Validation shared by every optimizer's `importState`.
struct StateReader {
    let op: String
    let state: OptimizerState
    let parameters: [Parameter]

    init(_ op: String, _ state: OptimizerState, _ parameters: [Parameter]) throws {
        guard state.type == op else {
            throw OptimizerStateError("\(op).importState: the state belongs to a \(state.type) optimizer, not \(op)")
        }
        guard state.slots.count == parameters.count else {
            throw OptimizerStateError("\(op).importState: the state has \(state.slots.count) parameters, the optimizer \(parameters.count)")
        }
        guard state.learningRate >= 0, state.learningRate.isFinite else {
            throw OptimizerStateError("\(op).importState: invalid learning rate \(state.learningRate)")
        }
        self.op = op
        self.state = state
        self.parameters = parameters
    }

    /// Checks that parameter `i` has only the allowed slot names.
    func checkNames(_ i: Int, allowed: Set<String>) throws {
        for name in state.slots[i].keys where !allowed.contains(name) {
            throw OptimizerStateError("\(op).importState: unexpected slot '\(name)' for parameter #\(i) (expected \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    /// The tensor in slot `name` of parameter `i`, checked to match the parameter; nil if absent.
    func tensor(_ i: Int, _ name: String) throws -> Tensor? {
        guard let t = state.slots[i][name] else { return nil }
        let p = parameters[i]
        guard t.shape == p.shape, t.dtype == p.value.dtype else {
            throw OptimizerStateError("\(op).importState: slot '\(name)' of parameter #\(i) is \(t.dtype) \(t.shape), the parameter is \(p.value.dtype) \(p.shape)")
        }
        return t.detached()
    }

    /// The tensor in slot `name`, required when the parameter has been stepped.
    func required(_ i: Int, _ name: String) throws -> Tensor {
        guard let t = try tensor(i, name) else {
            throw OptimizerStateError("\(op).importState: slot '\(name)' of parameter #\(i) is missing")
        }
        return t
    }

    /// The step count stored as a scalar tensor, 0 if absent.
    func stepCount(_ i: Int) throws -> Int {
        guard let t = state.slots[i]["step"] else { return 0 }
        guard t.count == 1, t.rank <= 1 else {
            throw OptimizerStateError("\(op).importState: slot 'step' of parameter #\(i) has shape \(t.shape), expected a scalar")
        }
        let v = t.scalars(as: Double.self)[0]
        guard v >= 0, v <= 1e15, v == v.rounded() else {
            throw OptimizerStateError("\(op).importState: slot 'step' of parameter #\(i) is \(v), expected a whole number ≥ 0")
        }
        return Int(v)
    }
}

/// A step count as a checkpointable scalar tensor (float64 holds every count exactly).
func stepTensor(_ step: Int) -> Tensor { Tensor(Double(step), dtype: .float64) }
