import Foundation
import Testing
import Nabla
import NablaNN

// Exact resume and determinism, compared bit for bit.
//
// Training N epochs straight must equal training k epochs, saving a checkpoint, and training
// N − k more in a NEW PROCESS (a Swift Testing exit test: this test binary started again)
// that rebuilds the model from a different seed and restores everything from the file: the
// parameters, Adam's moments and step counts, the shuffling generator and the dropout
// generator. The loop mirrors the `mnist` trainer's: shuffle, mini-batches, forward, loss,
// zeroGrad, backward, step.

/// The run's fixed sizes: small enough for a debug build, with a dropout layer so that a
/// forgotten generator state would show.
private enum Run {
    static let samples = 48, features = 10, classes = 4, batchSize = 8
    static let epochs = 4, savedAfter = 2
}

/// The synthetic data set: features from N(0, 1), labels from a fixed rule plus noise.
private func dataset() -> (x: [Float], labels: [Int]) {
    var g = RandomGenerator(seed: 99)
    let x = (0..<(Run.samples * Run.features)).map { _ in Float(g.nextUniform() * 2 - 1) }
    let labels = (0..<Run.samples).map { i in Int(abs(x[i * Run.features] * 7 + x[i * Run.features + 1] * 3)) % Run.classes }
    return (x, labels)
}

/// Everything a training run holds: the model, its optimizer and the shuffling generator.
private final class Training {
    let dropout: Dropout
    let model: Sequential
    let optimizer: Adam
    var shuffler: RandomGenerator

    init(seed: UInt64, width: Int = 16, features: Int = Run.features) {
        var g = RandomGenerator(seed: seed)
        dropout = Dropout(probability: 0.25, seed: seed &+ 1)
        model = Sequential([Dense(features, width, using: &g), ReLU(), dropout, Dense(width, Run.classes, using: &g)])
        optimizer = Adam(parameters: model.trainableParameters(), learningRate: 0.02)
        shuffler = RandomGenerator(seed: seed &+ 2)
    }

    /// One epoch: a fresh permutation, then a step per mini-batch.
    func epoch(_ x: [Float], _ labels: [Int], features: Int = Run.features, batchSize: Int = Run.batchSize) {
        model.train()
        let order = randomPermutation(count: labels.count, using: &shuffler)
        for start in stride(from: 0, to: order.count, by: batchSize) {
            let rows = order[start..<min(start + batchSize, order.count)]
            var batch: [Float] = []
            for r in rows { batch += x[(r * features)..<((r + 1) * features)] }
            let input = Tensor(shape: [rows.count, features], scalars: batch)
            let loss = softmaxCrossEntropy(logits: model(input), labels: rows.map { labels[$0] })
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
        }
    }

    func save(to url: URL, epoch: Int) throws {
        try Checkpoint.save(model, optimizer: optimizer, metadata: [
            "epoch": "\(epoch)",
            "shuffler": shuffler.state.map(String.init).joined(separator: ","),
            "dropout": dropout.generatorState.map(String.init).joined(separator: ","),
        ], to: url)
    }

    /// Restores the parameters, the optimizer state and both generators; returns the epoch.
    func load(from url: URL) throws -> Int {
        let metadata = try Checkpoint.load(into: model, optimizer: optimizer, from: url)
        func words(_ key: String) -> [UInt64] { (metadata[key] ?? "").split(separator: ",").compactMap { UInt64($0) } }
        shuffler.state = words("shuffler")
        dropout.generatorState = words("dropout")
        return Int(metadata["epoch"] ?? "") ?? 0
    }

    /// Every parameter's and optimizer slot's bits, plus the generators' states.
    var fingerprint: [String: [UInt64]] {
        var d: [String: [UInt64]] = [:]
        for (name, p) in model.namedParameters() { d[name] = bits(p.value) }
        for (i, slots) in optimizer.exportState().slots.enumerated() {
            for (slot, t) in slots { d["optimizer.\(i).\(slot)"] = bits(t) }
        }
        d["shuffler"] = shuffler.state
        d["dropout"] = dropout.generatorState
        return d
    }
}

private func bits(_ t: Tensor) -> [UInt64] {
    switch t.dtype {
    case .float32: t.scalars(as: Float.self).map { UInt64($0.bitPattern) }
    case .float64: t.scalars(as: Double.self).map(\.bitPattern)
    }
}

/// The model's parameters, saved by a checkpoint, compared bit for bit through files.
private func parameterBits(_ url: URL) throws -> [String: [UInt64]] {
    var d: [String: [UInt64]] = [:]
    for (name, t) in try SafeTensors.read(from: url).tensors { d[name] = bits(t) }
    return d
}

private func temporaryFolder() throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-resume-\(UUID())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

@Suite("Exact resume and determinism") struct ResumeTests {
    @Test func resumingInANewProcessIsBitIdentical() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (x, labels) = dataset()

        // N epochs straight.
        let straight = Training(seed: 5)
        for _ in 0..<Run.epochs { straight.epoch(x, labels) }
        let straightURL = folder.appendingPathComponent("straight.safetensors")
        try straight.save(to: straightURL, epoch: Run.epochs)

        // k epochs, then a checkpoint.
        let first = Training(seed: 5)
        for _ in 0..<Run.savedAfter { first.epoch(x, labels) }
        let checkpoint = folder.appendingPathComponent("epoch\(Run.savedAfter).safetensors")
        try first.save(to: checkpoint, epoch: Run.savedAfter)
        #expect(first.fingerprint != straight.fingerprint)

        // N − k epochs in another process, from objects built with another seed.
        let resumedURL = folder.appendingPathComponent("resumed.safetensors")
        await #expect(processExitsWith: .success) {
            [checkpoint = checkpoint.path as String, resumed = resumedURL.path as String] in
            let (x, labels) = dataset()
            let run = Training(seed: 1234)
            let epoch = try run.load(from: URL(fileURLWithPath: checkpoint))
            for _ in epoch..<Run.epochs { run.epoch(x, labels) }
            try run.save(to: URL(fileURLWithPath: resumed), epoch: Run.epochs)
        }
        let expected = try parameterBits(straightURL)
        let resumed = try parameterBits(resumedURL)
        #expect(resumed.count == expected.count && resumed.count > 8, "parameters and Adam's state are all compared")
        let differing = expected.keys.sorted().filter { resumed[$0] != expected[$0] }
        #expect(differing.isEmpty, "tensors that differ after resuming: \(differing)")
        let metadata = try SafeTensors.read(from: resumedURL).metadata
        let straightMetadata = try SafeTensors.read(from: straightURL).metadata
        #expect(metadata["shuffler"] == straightMetadata["shuffler"] && metadata["dropout"] == straightMetadata["dropout"],
                "the generators end in the same state")
        print("Exact resume: \(expected.count) tensors (parameters and optimizer state) bit-identical after \(Run.savedAfter) + \(Run.epochs - Run.savedAfter) epochs across processes vs \(Run.epochs) straight")
    }

    @Test func resumingInProcessFromFreshObjectsIsBitIdentical() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (x, labels) = dataset()
        let straight = Training(seed: 8)
        for _ in 0..<Run.epochs { straight.epoch(x, labels) }

        let first = Training(seed: 8)
        let url = folder.appendingPathComponent("ckpt.safetensors")
        for _ in 0..<1 { first.epoch(x, labels) }
        try first.save(to: url, epoch: 1)
        let resumed = Training(seed: 77)
        let epoch = try resumed.load(from: url)
        #expect(epoch == 1)
        for _ in epoch..<Run.epochs { resumed.epoch(x, labels) }
        #expect(resumed.fingerprint == straight.fingerprint)
    }

    @Test func theSameSeedGivesBitIdenticalTrainingRunToRun() throws {
        let (x, labels) = dataset()
        let a = Training(seed: 42), b = Training(seed: 42)
        for _ in 0..<3 { a.epoch(x, labels); b.epoch(x, labels) }
        #expect(a.fingerprint == b.fingerprint)
        let c = Training(seed: 43)
        for _ in 0..<3 { c.epoch(x, labels) }
        #expect(c.fingerprint != a.fingerprint, "a different seed gives a different run")
    }

    /// Two threads on sizes large enough that GEMM and elementwise loops are split between
    /// them, in two separate processes: the printed fingerprints must be equal.
    @Test func twoThreadsGiveBitIdenticalResultsAcrossProcesses() async throws {
        var outputs: [String] = []
        for _ in 0..<2 {
            let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
                Threading.threadCount = 2
                // 256 × 512 activations (131,072 elements) cross the elementwise split; the
                // 256 × 512 × 512 products cross the GEMM split.
                let features = 512, samples = 512
                var g = RandomGenerator(seed: 3)
                let x = (0..<(samples * features)).map { _ in Float(g.nextUniform() - 0.5) }
                let labels = (0..<samples).map { $0 % Run.classes }
                let run = Training(seed: 9, width: 512, features: features)
                run.epoch(x, labels, features: features, batchSize: 256)
                let print = run.fingerprint.sorted { $0.key < $1.key }
                    .map { "\($0.key):\($0.value.reduce(0 as UInt64) { $0 &* 1_000_003 &+ $1 })" }.joined(separator: ";")
                let bytes = Array((print + "\n").utf8)
                _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            }
            outputs.append(String(decoding: result?.standardOutputContent ?? [], as: UTF8.self))
        }
        #expect(!outputs[0].isEmpty && outputs[0].contains("shuffler"))
        #expect(outputs[0] == outputs[1], "two runs with 2 threads differ")
    }
}
