import Foundation
import Nabla

/// Saves and restores a model's parameters and buffers, an optimizer's state and free-form
/// metadata in one safetensors file, so that training resumes exactly where it stopped.
///
/// Tensor names are the module's property paths (`fc1.weight`, `bn.runningMean`), so a file
/// written by PyTorch with the same names loads directly. Optimizer state is stored as
/// `optimizer.state.<parameter name>.<slot>` (slots named as in PyTorch: `momentum_buffer`,
/// `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`, `square_avg`, `grad_avg`, `sum`, `step`), with
/// the optimizer's type and learning rate in the metadata.
///
/// ```swift
/// try Checkpoint.save(model, optimizer: adam, metadata: ["epoch": "\(epoch)"], to: url)
/// let metadata = try Checkpoint.load(into: model, optimizer: adam, from: url)
/// ```
public enum Checkpoint {
    /// The prefix of the tensor names that hold optimizer state.
    public static let optimizerStatePrefix = "optimizer.state."
    /// Metadata key holding the optimizer's type name.
    public static let optimizerTypeKey = "optimizer.type"
    /// Metadata key holding the optimizer's learning rate (as a round-trip decimal string).
    public static let optimizerLearningRateKey = "optimizer.learningRate"

    /// Writes the model's parameters and buffers, the optimizer's state (if given) and
    /// `metadata` to `url`, atomically (the previous file survives any crash).
    /// Metadata keys starting with "optimizer." are reserved.
    public static func save(_ model: any Module, optimizer: (any Optimizer)? = nil,
                            metadata: [String: String] = [:], to url: URL) throws {
        if let reserved = metadata.keys.sorted().first(where: { $0.hasPrefix("optimizer.") }) {
            throw CheckpointError("Checkpoint.save: metadata key \"\(reserved)\" is reserved (keys starting with \"optimizer.\" hold the optimizer's settings)")
        }
        var tensors = modelTensors(model)
        if let clash = tensors.first(where: { $0.name.hasPrefix(optimizerStatePrefix) }) {
            throw CheckpointError("Checkpoint.save: the model's tensor \"\(clash.name)\" has a name reserved for optimizer state")
        }
        var allMetadata = metadata
        if let optimizer {
            let names = parameterNames(model)
            let state = optimizer.exportState()
            for (i, p) in optimizer.parameters.enumerated() {
                guard let name = names[ObjectIdentifier(p)] else {
                    throw CheckpointError("Checkpoint.save: optimizer parameter #\(i) (shape \(p.shape)) is not a parameter of the model, so its state cannot be named")
                }
                for (slot, t) in state.slots[i].sorted(by: { $0.key < $1.key }) {
                    tensors.append(("\(optimizerStatePrefix)\(name).\(slot)", t))
                }
            }
            allMetadata[optimizerTypeKey] = state.type
            allMetadata[optimizerLearningRateKey] = "\(state.learningRate)"
        }
        do {
            try SafeTensors.write(tensors, metadata: allMetadata, to: url)
        } catch let e as SafeTensorsError {
            throw CheckpointError("Checkpoint.save: \(e.description)")
        }
    }

    /// Reads `url` and assigns its tensors to the model's parameters and buffers (and its
    /// optimizer state to `optimizer`, if given). Returns the file's metadata.
    ///
    /// Everything is read and checked before anything is assigned: on any thrown error
    /// (a corrupt file, a missing tensor, an unexpected one in strict mode, a shape or dtype
    /// mismatch, bad optimizer state) the model and the optimizer are left untouched.
    /// With `strict: false`, tensors missing from the file or unknown to the model are
    /// skipped; shapes and dtypes must still match.
    @discardableResult
    public static func load(into model: any Module, optimizer: (any Optimizer)? = nil,
                            from url: URL, strict: Bool = true) throws -> [String: String] {
        let contents: SafeTensors.Contents
        do {
            contents = try SafeTensors.read(from: url)
        } catch let e as SafeTensorsError {
            throw CheckpointError("Checkpoint.load: \(e.description)")
        }
        var fileTensors: [String: Tensor] = [:]
        for (name, t) in contents.tensors { fileTensors[name] = t }
        let where_ = url.lastPathComponent

        // 1. Match every model tensor with the file.
        var parameterAssignments: [(Parameter, Tensor)] = []
        var bufferAssignments: [(Buffer, Tensor)] = []
        var used = Set<String>()
        func check(_ name: String, _ current: Tensor) throws -> Tensor? {
            guard let t = fileTensors[name] else {
                if strict {
                    throw CheckpointError("Checkpoint.load: \(where_) has no tensor \"\(name)\" (the model's is \(current.dtype) \(current.shape))")
                }
                return nil
            }
            used.insert(name)
            guard t.shape == current.shape else {
                throw CheckpointError("Checkpoint.load: tensor \"\(name)\" has shape \(t.shape) in \(where_) but \(current.shape) in the model")
            }
            guard t.dtype == current.dtype else {
                throw CheckpointError("Checkpoint.load: tensor \"\(name)\" is \(t.dtype) in \(where_) but \(current.dtype) in the model")
            }
            return t
        }
        for (name, p) in model.namedParameters() {
            if let t = try check(name, p.value) { parameterAssignments.append((p, t)) }
        }
        for (name, b) in model.namedBuffers() {
            if let t = try check(name, b.value) { bufferAssignments.append((b, t)) }
        }
        if strict, let extra = contents.tensors.first(where: {
            !used.contains($0.name) && !$0.name.hasPrefix(optimizerStatePrefix)
        }) {
            throw CheckpointError("Checkpoint.load: unexpected tensor \"\(extra.name)\" (\(extra.tensor.dtype) \(extra.tensor.shape)) in \(where_): the model has no parameter or buffer of that name")
        }

        // 2. The optimizer validates and applies its state all-or-nothing; it goes before the
        //    model's assignments, which cannot fail any more.
        if let optimizer {
            let state = try optimizerState(for: optimizer, model: model, contents: contents, fileTensors: fileTensors, file: where_)
            do {
                try optimizer.importState(state)
            } catch let e as OptimizerStateError {
                throw CheckpointError("Checkpoint.load: \(where_): \(e.description)")
            }
        }

        // 3. Assign.
        withoutGradients {
            for (p, t) in parameterAssignments { p.update(t) }
            for (b, t) in bufferAssignments { b.value = t }
        }
        return contents.metadata
    }

    /// The model's parameters and buffers by name.
    private static func modelTensors(_ model: any Module) -> [(name: String, tensor: Tensor)] {
        model.namedParameters().map { ($0.name, $0.parameter.value.detached()) }
            + model.namedBuffers().map { ($0.name, $0.buffer.value.detached()) }
    }

    private static func parameterNames(_ model: any Module) -> [ObjectIdentifier: String] {
        var names: [ObjectIdentifier: String] = [:]
        for (name, p) in model.namedParameters() { names[ObjectIdentifier(p)] = name }
        return names
    }

    /// Collects `optimizer.state.<name>.<slot>` tensors into the optimizer's layout.
    private static func optimizerState(for optimizer: any Optimizer, model: any Module,
                                       contents: SafeTensors.Contents, fileTensors: [String: Tensor],
                                       file: String) throws -> OptimizerState {
        guard let type = contents.metadata[optimizerTypeKey] else {
            throw CheckpointError("Checkpoint.load: \(file) holds no optimizer state (no \"\(optimizerTypeKey)\" metadata)")
        }
        guard let rateText = contents.metadata[optimizerLearningRateKey], let rate = Double(rateText) else {
            throw CheckpointError("Checkpoint.load: \(file) has no valid \"\(optimizerLearningRateKey)\" metadata")
        }
        let names = parameterNames(model)
        var slots: [[String: Tensor]] = []
        var used = Set<String>()
        for (i, p) in optimizer.parameters.enumerated() {
            guard let name = names[ObjectIdentifier(p)] else {
                throw CheckpointError("Checkpoint.load: optimizer parameter #\(i) (shape \(p.shape)) is not a parameter of the model")
            }
            let prefix = "\(optimizerStatePrefix)\(name)."
            var d: [String: Tensor] = [:]
            for (key, t) in fileTensors where key.hasPrefix(prefix) {
                let slot = String(key.dropFirst(prefix.count))
                guard !slot.contains(".") else { continue }   // belongs to a parameter with a longer name
                d[slot] = t
                used.insert(key)
            }
            slots.append(d)
        }
        if let extra = contents.tensors.first(where: { $0.name.hasPrefix(optimizerStatePrefix) && !used.contains($0.name) }) {
            throw CheckpointError("Checkpoint.load: unexpected optimizer tensor \"\(extra.name)\" in \(file): it matches no parameter the optimizer updates")
        }
        return OptimizerState(type: type, learningRate: rate, slots: slots)
    }
}

/// Why a checkpoint could not be saved or loaded: a one-line description naming the tensor,
/// both shapes when they differ, and the file.
public struct CheckpointError: Error, CustomStringConvertible {
    /// The explanation.
    public let description: String
    /// An error with the given explanation.
    public init(_ description: String) { self.description = description }
}

extension Module {
    /// Saves this module's parameters and buffers (and `metadata`) to a safetensors file,
    /// atomically. See `Checkpoint.save` to include an optimizer's state.
    public func save(to url: URL, metadata: [String: String] = [:]) throws {
        try Checkpoint.save(self, metadata: metadata, to: url)
    }

    /// Loads this module's parameters and buffers from a safetensors file and returns its
    /// metadata. Checks everything first: on error the module is unchanged.
    @discardableResult
    public func load(from url: URL, strict: Bool = true) throws -> [String: String] {
        try Checkpoint.load(into: self, from: url, strict: strict)
    }
}
