import Foundation
import Testing
import Nabla
@testable import NablaNN

/// A fresh folder under the system's temporary directory, removed by `cleanup`.
private func temporaryFolder() throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-ckpt-\(UUID())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

/// Every parameter's and buffer's bits, by name, to check a model is unchanged or equal.
private func snapshot(_ model: any Module) -> [String: [UInt64]] {
    var d: [String: [UInt64]] = [:]
    for (name, p) in model.namedParameters() { d[name] = optBits(p.value) }
    for (name, b) in model.namedBuffers() { d[name] = optBits(b.value) }
    return d
}

/// Asserts that `body` throws a CheckpointError mentioning every fragment.
private func expectCheckpointError(_ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation,
                                   _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("no error; expected one mentioning \(fragments)", sourceLocation: sourceLocation)
    } catch let e as CheckpointError {
        for f in fragments where !e.description.contains(f) {
            Issue.record("message \"\(e.description)\" lacks \"\(f)\"", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("unexpected error type \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
}

/// A module whose names match OptTestNet but whose fc2 has a different shape.
private final class WiderNet: Module {
    let fc1 = OptTestDense(2, 3, seed: 5)
    let fc2 = OptTestDense(3, 2, seed: 6)
    func callAsFunction(_ x: Tensor) -> Tensor { fc2(fc1(x)) }
}

/// A module with OptTestNet's tensors plus one more.
private final class NetWithExtra: Module {
    let fc1 = OptTestDense(2, 3, seed: 5)
    let fc2 = OptTestDense(3, 1, seed: 6)
    let extra = Parameter(Tensor([Float(1), 2]))
    func callAsFunction(_ x: Tensor) -> Tensor { fc2(fc1(x)) }
}

/// A module with only fc1.
private final class HalfNet: Module {
    let fc1 = OptTestDense(2, 3, seed: 5)
    func callAsFunction(_ x: Tensor) -> Tensor { fc1(x) }
}

@Suite("Checkpoints") struct CheckpointTests {
    @Test func loadsThePythonFixture() throws {
        // Fixtures/tiny_mlp.safetensors was written by Fixtures/make_fixture.py with
        // safetensors.numpy.save_file; located next to this source file (not a SwiftPM resource).
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tiny_mlp.safetensors")
        let net = OptTestNet(seed: 99)
        let metadata = try net.load(from: url)
        #expect(metadata == ["format": "np", "source": "make_fixture.py"])
        #expect(net.fc1.weight.value.shape == [3, 2])
        #expect(net.fc1.weight.value.scalars == [0.1, -0.2, 0.3, 0.4, -0.5, 0.6])
        #expect(net.fc1.bias.value.scalars == [0.01, -0.02, 0.03])
        #expect(net.fc2.weight.value.scalars == [0.7, -0.8, 0.9])
        #expect(net.fc2.bias.value.scalars == [-0.1])
        #expect(net.fc1.weight.value.requiresGrad && net.fc1.weight.value.isLeaf, "loading keeps the leaves")
        // The loaded network computes: fc2(tanh(fc1(x))).
        let y = withoutGradients { net(Tensor([[Float(1), 2]])) }
        let pre: [Double] = [0.1 * 1 - 0.2 * 2 + 0.01, 0.3 * 1 + 0.4 * 2 - 0.02, -0.5 * 1 + 0.6 * 2 + 0.03]
        let h: [Double] = pre.map { Foundation.tanh($0) }
        let out: Double = 0.7 * h[0] - 0.8 * h[1] + 0.9 * h[2] - 0.1
        optExpectClose(y.scalars(as: Double.self), [out], atol: 1e-6)
    }

    @Test func moduleRoundTripWithNestedNamesAndBuffers() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("nested.safetensors")
        let source = OptTestNested()
        source.running.value = Tensor(shape: [2], scalars: [Float(-7), 8])
        try source.save(to: url, metadata: ["epoch": "3"])
        let names = try SafeTensors.read(from: url).tensors.map(\.name).sorted()
        #expect(names == ["blocks.0.bias", "blocks.0.weight", "blocks.1.bias", "blocks.1.weight", "running", "scale"])
        let target = OptTestNested()
        target.scale.update(Tensor([Float(0), 0]))
        let metadata = try target.load(from: url)
        #expect(metadata["epoch"] == "3")
        #expect(snapshot(target) == snapshot(source))
        #expect(target.running.value.scalars == [-7, 8])
    }

    @Test func missingTensorThrowsAndLeavesModelUnchanged() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("half.safetensors")
        try HalfNet().save(to: url)
        let net = OptTestNet(seed: 4)
        let before = snapshot(net)
        expectCheckpointError(["no tensor \"fc2.weight\"", "[1, 3]"]) { try net.load(from: url) }
        #expect(snapshot(net) == before)
        // Non-strict: fc1 is loaded, fc2 kept.
        try net.load(from: url, strict: false)
        #expect(snapshot(net)["fc2.weight"] == before["fc2.weight"])
        #expect(snapshot(net)["fc1.weight"] != before["fc1.weight"])
    }

    @Test func unexpectedTensorThrowsAndLeavesModelUnchanged() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("extra.safetensors")
        try NetWithExtra().save(to: url)
        let net = OptTestNet(seed: 4)
        let before = snapshot(net)
        expectCheckpointError(["unexpected tensor \"extra\"", "[2]"]) { try net.load(from: url) }
        #expect(snapshot(net) == before)
        try net.load(from: url, strict: false)
        #expect(snapshot(net) != before)
    }

    @Test func shapeOrDtypeMismatchThrowsAndLeavesModelUnchanged() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("wide.safetensors")
        try WiderNet().save(to: url)
        let net = OptTestNet(seed: 4)
        let before = snapshot(net)
        expectCheckpointError(["\"fc2.weight\"", "[2, 3]", "[1, 3]"]) { try net.load(from: url) }
        expectCheckpointError(["\"fc2.weight\"", "[2, 3]", "[1, 3]"]) { try net.load(from: url, strict: false) }
        #expect(snapshot(net) == before, "fc1 matched but must not be assigned before the error")
        try OptTestNet(seed: 1, dtype: .float64).save(to: url)
        expectCheckpointError(["\"fc1.weight\"", "float64", "float32"]) { try net.load(from: url) }
        #expect(snapshot(net) == before)
    }

    @Test func corruptFileThrowsCheckpointError() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("bad.safetensors")
        try Data([1, 0, 0, 0, 0, 0, 0, 0, 0x7B]).write(to: url)
        let net = OptTestNet()
        let before = snapshot(net)
        expectCheckpointError(["bad.safetensors", "invalid JSON"]) { try net.load(from: url) }
        #expect(snapshot(net) == before)
    }

    @Test func reservedMetadataKeysAreRejected() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        expectCheckpointError(["optimizer.type", "reserved"]) {
            try OptTestNet().save(to: folder.appendingPathComponent("x.safetensors"), metadata: ["optimizer.type": "SGD"])
        }
    }

    @Test func optimizerParameterOutsideTheModelIsAnError() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let net = OptTestNet()
        let sgd = SGD(parameters: net.parameters() + [Parameter(Tensor([Float(1)]))], learningRate: 0.1)
        expectCheckpointError(["parameter #4", "not a parameter of the model"]) {
            try Checkpoint.save(net, optimizer: sgd, to: folder.appendingPathComponent("x.safetensors"))
        }
    }

    /// Train 3 steps straight, or 2 steps + save + load into a fresh model and optimizer + 1
    /// step: the parameters must be equal bit for bit.
    @Test(arguments: ["SGD", "RMSProp", "AdaGrad", "Adam", "AdamW"])
    func resumingFromACheckpointIsExact(kind: String) throws {
        func makeOptimizer(_ model: any Module) -> any Optimizer {
            let ps = model.trainableParameters()
            switch kind {
            case "SGD": return SGD(parameters: ps, learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01)
            case "RMSProp": return RMSProp(parameters: ps, learningRate: 0.01, momentum: 0.5, centered: true)
            case "AdaGrad": return AdaGrad(parameters: ps, learningRate: 0.1, learningRateDecay: 0.1)
            case "Adam": return Adam(parameters: ps, learningRate: 0.05, amsgrad: true)
            default: return AdamW(parameters: ps, learningRate: 0.05, weightDecay: 0.1)
            }
        }
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("resume.safetensors")

        let straight = OptTestNet(seed: 11)
        let straightOptimizer = makeOptimizer(straight)
        for _ in 0..<3 { optTrainStep(straight, straightOptimizer) }

        let first = OptTestNet(seed: 11)
        let firstOptimizer = makeOptimizer(first)
        for _ in 0..<2 { optTrainStep(first, firstOptimizer) }
        firstOptimizer.learningRate *= 1   // unchanged rate, stored in the metadata
        try Checkpoint.save(first, optimizer: firstOptimizer, metadata: ["epoch": "2"], to: url)

        let resumed = OptTestNet(seed: 77)
        let resumedOptimizer = makeOptimizer(resumed)
        resumedOptimizer.learningRate = 123
        let metadata = try Checkpoint.load(into: resumed, optimizer: resumedOptimizer, from: url)
        #expect(metadata["epoch"] == "2" && metadata["optimizer.type"] == kind)
        #expect(resumedOptimizer.learningRate == firstOptimizer.learningRate)
        optTrainStep(resumed, resumedOptimizer)
        #expect(snapshot(resumed) == snapshot(straight))
    }

    @Test func optimizerStateNamesAndMismatchedOptimizer() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("adam.safetensors")
        let net = OptTestNet()
        let adam = Adam(parameters: net.trainableParameters())
        optTrainStep(net, adam)
        try Checkpoint.save(net, optimizer: adam, to: url)
        let names = Set(try SafeTensors.read(from: url).tensors.map(\.name))
        #expect(names.contains("optimizer.state.fc1.weight.exp_avg"))
        #expect(names.contains("optimizer.state.fc2.bias.exp_avg_sq"))
        #expect(names.contains("optimizer.state.fc2.bias.step"))
        // The model alone loads (optimizer tensors are not "unexpected").
        try OptTestNet(seed: 3).load(from: url)
        // An SGD cannot take Adam's state; neither the optimizer nor the model changes.
        let other = OptTestNet(seed: 3)
        let sgd = SGD(parameters: other.trainableParameters(), learningRate: 0.1, momentum: 0.9)
        let before = snapshot(other)
        expectCheckpointError(["Adam", "SGD"]) { try Checkpoint.load(into: other, optimizer: sgd, from: url) }
        #expect(snapshot(other) == before)
        #expect(sgd.learningRate == 0.1 && sgd.exportState().slots.allSatisfy(\.isEmpty))
        // A file without optimizer state cannot restore one.
        try net.save(to: url)
        expectCheckpointError(["no optimizer state"]) { try Checkpoint.load(into: other, optimizer: sgd, from: url) }
    }

    @Test func interruptedSaveLeavesTheOldFileLoadable() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("model.safetensors")
        let original = OptTestNet(seed: 21)
        try original.save(to: url, metadata: ["epoch": "1"])

        // A crash in the middle of the next save: the partial temporary file stays behind.
        let newer = try SafeTensors.encode(OptTestNet(seed: 22).namedParameters().map { ($0.name, $0.parameter.value) })
        #expect(throws: SafeTensorsError.self) { try writeAtomically(newer, to: url, interruptAfter: 60) }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(leftovers.count == 2 && leftovers.contains { $0.contains(".tmp-") }, "\(leftovers)")

        let loaded = OptTestNet(seed: 5)
        #expect(try loaded.load(from: url)["epoch"] == "1")
        #expect(snapshot(loaded) == snapshot(original))

        // The next complete save replaces the file; the stale temporary file does not matter.
        try OptTestNet(seed: 22).save(to: url)
        try loaded.load(from: url)
        #expect(snapshot(loaded) == snapshot(OptTestNet(seed: 22)))
    }

    @Test func saveIntoAMissingFolderThrows() {
        let url = URL(fileURLWithPath: "/nonexistent-nabla-folder/\(UUID())/m.safetensors")
        expectCheckpointError(["cannot save", "temporary file"]) { try OptTestNet().save(to: url) }
    }
}
