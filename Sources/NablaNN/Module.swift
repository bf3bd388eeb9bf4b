import Nabla

/// A trainable tensor owned by a module: a weight or a bias.
///
/// A reference type, so that an optimizer updates the very tensor the module computes with.
/// Its `value` is a leaf that requires gradients (unless frozen).
public final class Parameter {
    /// The current values. Assigning keeps the gradient-tracking leaf identity only if you
    /// go through `update(_:)`; plain assignment replaces the leaf.
    public var value: Tensor

    /// A frozen parameter gets no gradient and is skipped by optimizers (transfer learning).
    public var isFrozen: Bool {
        didSet { value.requiresGrad = !isFrozen }
    }

    /// A parameter holding `value` (made a leaf that requires gradients).
    public init(_ value: Tensor) {
        self.value = value.detached().requiringGrad()
        isFrozen = false
    }

    /// The accumulated gradient, nil if none since the last `zeroGrad()`.
    public var grad: Tensor? { value.grad }

    /// Forgets the accumulated gradient.
    public func zeroGrad() { value.zeroGrad() }

    /// Replaces the values in place, keeping the leaf (and so the gradient slot) the same.
    /// Shapes and dtypes must match. Records nothing in the graph.
    public func update(_ newValue: Tensor) { value.assign(newValue.detached()) }

    /// The shape of the values.
    public var shape: [Int] { value.shape }
}

/// A tensor a module keeps and updates itself but that is not trained by gradients, such as
/// BatchNorm's running mean and variance. Saved and loaded with the parameters.
public final class Buffer {
    /// The current values.
    public var value: Tensor
    /// A buffer holding `value`.
    public init(_ value: Tensor) { self.value = value.detached() }
}

/// A layer or a model: a function of a tensor with parameters.
///
/// Parameters, buffers and sub-modules are found by reflection: any stored property that is
/// a `Parameter`, a `Buffer`, a `Module`, or an array or optional of those is included, named
/// by its property path (`"conv1.weight"`, `"layers.2.bias"`). Users list nothing by hand.
///
/// ```swift
/// final class MLP: Module {
///     let hidden = Dense(784, 100)
///     let output = Dense(100, 10)
///     func callAsFunction(_ x: Tensor) -> Tensor { output(hidden(x).relu()) }
/// }
/// ```
public protocol Module: AnyObject {
    /// Computes the module's output.
    func callAsFunction(_ input: Tensor) -> Tensor
}

/// A module whose behaviour differs between training and inference (BatchNorm, Dropout).
public protocol TrainingModeSensitive: Module {
    /// True while training (the default), false for inference.
    var isTraining: Bool { get set }
}

/// What reflection finds in one stored property.
private enum Member {
    case parameter(Parameter)
    case buffer(Buffer)
    case module(any Module)
}

private func members(of value: Any, name: String, into out: inout [(String, Member)]) {
    switch value {
    case let p as Parameter: out.append((name, .parameter(p)))
    case let b as Buffer: out.append((name, .buffer(b)))
    case let m as any Module: out.append((name, .module(m)))
    default:
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            if let inner = mirror.children.first { members(of: inner.value, name: name, into: &out) }
        case .collection:
            for (i, child) in mirror.children.enumerated() {
                members(of: child.value, name: name.isEmpty ? "\(i)" : "\(name).\(i)", into: &out)
            }
        default:
            break
        }
    }
}

extension Module {
    /// The direct members of this module, by property name.
    private func directMembers() -> [(String, Member)] {
        var out: [(String, Member)] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        while let m = mirror {
            for child in m.children {
                guard var label = child.label else { continue }
                if label.hasPrefix("_") { label.removeFirst() }   // property wrappers, lazy storage
                members(of: child.value, name: label, into: &out)
            }
            mirror = m.superclassMirror
        }
        return out
    }

    /// Every sub-module, depth first, with its dotted path (this module itself is `""`).
    public func namedModules() -> [(name: String, module: any Module)] {
        var out: [(name: String, module: any Module)] = [("", self)]
        var seen: Set<ObjectIdentifier> = [ObjectIdentifier(self)]
        func walk(_ module: any Module, _ prefix: String) {
            for (name, member) in module.directMembers() {
                guard case .module(let sub) = member, seen.insert(ObjectIdentifier(sub)).inserted else { continue }
                let path = prefix.isEmpty ? name : "\(prefix).\(name)"
                out.append((path, sub))
                walk(sub, path)
            }
        }
        walk(self, "")
        return out
    }

    /// Every parameter with its dotted path, each once even if shared.
    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        var out: [(name: String, parameter: Parameter)] = []
        var seen: Set<ObjectIdentifier> = []
        for (prefix, module) in namedModules() {
            for (name, member) in module.directMembers() {
                guard case .parameter(let p) = member, seen.insert(ObjectIdentifier(p)).inserted else { continue }
                out.append((prefix.isEmpty ? name : "\(prefix).\(name)", p))
            }
        }
        return out
    }

    /// Every buffer (running statistics and the like) with its dotted path.
    public func namedBuffers() -> [(name: String, buffer: Buffer)] {
        var out: [(name: String, buffer: Buffer)] = []
        var seen: Set<ObjectIdentifier> = []
        for (prefix, module) in namedModules() {
            for (name, member) in module.directMembers() {
                guard case .buffer(let b) = member, seen.insert(ObjectIdentifier(b)).inserted else { continue }
                out.append((prefix.isEmpty ? name : "\(prefix).\(name)", b))
            }
        }
        return out
    }

    /// Every parameter, frozen ones included.
    public func parameters() -> [Parameter] { namedParameters().map(\.parameter) }

    /// The parameters that are not frozen: what an optimizer should update.
    public func trainableParameters() -> [Parameter] { parameters().filter { !$0.isFrozen } }

    /// The number of scalar values in all parameters.
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.value.count } }

    /// Forgets every parameter's accumulated gradient.
    public func zeroGrad() { for p in parameters() { p.zeroGrad() } }

    /// Freezes (or unfreezes) every parameter of this module and its sub-modules.
    public func freeze(_ frozen: Bool = true) { for p in parameters() { p.isFrozen = frozen } }

    /// Switches this module and every sub-module to training (true) or inference (false).
    public func train(_ training: Bool = true) {
        for (_, m) in namedModules() {
            if let sensitive = m as? any TrainingModeSensitive { sensitive.isTraining = training }
        }
    }

    /// Converts every parameter and buffer to `dtype` in place (for example float64 to check a
    /// model's gradients numerically). Parameters become new leaves, so accumulated
    /// gradients are dropped; frozen parameters stay frozen. Build optimizers afterwards.
    public func cast(to dtype: DType) {
        for p in parameters() where p.value.dtype != dtype {
            let frozen = p.isFrozen
            p.value = p.value.detached().cast(to: dtype).requiringGrad()
            p.value.requiresGrad = !frozen
        }
        for b in namedBuffers().map(\.buffer) where b.value.dtype != dtype {
            b.value = b.value.detached().cast(to: dtype)
        }
    }

    /// Switches to inference: BatchNorm uses running statistics, Dropout passes values through.
    public func eval() { train(false) }

    /// Whether the module is in training mode (true when it has no mode-dependent parts).
    public var isTraining: Bool {
        for (_, m) in namedModules() {
            if let sensitive = m as? any TrainingModeSensitive { return sensitive.isTraining }
        }
        return true
    }
}
