import Foundation
import Synchronization
import Testing
import Nabla
import NablaNN

// Reliability of training with layers, losses and optimizers: losses at extreme logits,
// memory that stays flat over many steps (live graph nodes counted in a process of its own),
// one model used for inference from several threads, and the messages of the mistakes users
// make with layers, losses and optimizers (checked in child processes, which they stop).

private func sigmoid(_ x: Double) -> Double {
    x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x))
}

private func softmax(_ row: [Double]) -> [Double] {
    let m = row.max()!
    let e = row.map { Foundation.exp($0 - m) }
    let s = e.reduce(0, +)
    return e.map { $0 / s }
}

/// Logits at ±1e4, ties, all −1e4, and float32 denormals.
private let extremeLogits: [[Float]] = [
    [1e4, -1e4, 0],
    [1e4, 1e4, 1e4 - 1],
    [-1e4, -1e4, -1e4],
    [Float.leastNormalMagnitude / 2, -Float.leastNonzeroMagnitude, Float.leastNonzeroMagnitude],
]

private func allFinite(_ t: Tensor) -> Bool { t.scalars(as: Double.self).allSatisfy(\.isFinite) }

@Suite("Reliability: losses at extreme logits") struct ReliabilityLossTests {
    @Test func softmaxCrossEntropyIsFiniteAndCorrect() {
        let labels = [1, 2, 0, 2]
        let z = Tensor(extremeLogits).requiringGrad()
        let loss = softmaxCrossEntropy(logits: z, labels: labels)
        loss.backward()
        let rows = extremeLogits.map { $0.map(Double.init) }
        // −log softmax(z)[label], computed in Double with the maximum subtracted.
        var expected = 0.0
        for (row, label) in zip(rows, labels) {
            let m: Double = row.max()!
            let total: Double = row.map { Foundation.exp($0 - m) }.reduce(0, +)
            expected += (m + Foundation.log(total) - row[label]) / 4
        }
        #expect(loss.scalar.isFinite && allFinite(z.grad!))
        #expect(abs(Double(loss.scalar) - expected) <= 1e-5 * abs(expected), "loss \(loss.scalar), expected \(expected)")
        // (softmax − one-hot) / N.
        let grad = zip(rows, labels).flatMap { row, label in
            softmax(row).enumerated().map { ($0.element - ($0.offset == label ? 1 : 0)) / 4 }
        }
        for (a, e) in zip(z.grad!.scalars, grad) { #expect(abs(Double(a) - e) <= 1e-6, "gradient \(a), expected \(e)") }
    }

    @Test func binaryCrossEntropyIsFiniteAndCorrect() {
        let targets: [[Float]] = [[1, 0, 0.5], [0, 1, 1], [1, 1, 0], [0.5, 0.5, 1]]
        let z = Tensor(extremeLogits).requiringGrad()
        let loss = binaryCrossEntropy(logits: z, targets: Tensor(targets), reduction: .sum)
        loss.backward()
        let pairs = zip(extremeLogits.joined(), targets.joined()).map { (Double($0), Double($1)) }
        var expected = 0.0
        for (z, y) in pairs { expected += Swift.max(z, 0) - z * y + Foundation.log1p(Foundation.exp(-abs(z))) }
        #expect(loss.scalar.isFinite && allFinite(z.grad!))
        #expect(abs(Double(loss.scalar) - expected) <= 1e-5 * abs(expected), "loss \(loss.scalar), expected \(expected)")
        for (a, (z, y)) in zip(z.grad!.scalars, pairs) {
            #expect(abs(Double(a) - (sigmoid(z) - y)) <= 1e-6, "gradient \(a), expected \(sigmoid(z) - y)")
        }
    }
}

/// A small classifier with every kind of state: dense layers, batch norm (running statistics),
/// dropout (a generator).
private func makeModel(seed: UInt64) -> Sequential {
    var g = RandomGenerator(seed: seed)
    return Sequential([Dense(6, 12, using: &g), BatchNorm(12), ReLU(), Dropout(probability: 0.2, seed: seed),
                       Dense(12, 3, using: &g)])
}

/// The child process of `liveNodesReturnToTheParametersAfterTraining`: trains 300 steps with
/// Adam and prints the live node count; exits with 1 if it is not the parameters' leaves.
private func trainAndCountNodes() -> Never {
    let model = makeModel(seed: 1)
    let adam = Adam(parameters: model.trainableParameters(), learningRate: 0.01)
    let x = Tensor.randomNormal([16, 6], seed: 2)
    let labels = (0..<16).map { $0 % 3 }
    let leaves = GraphDiagnostics.liveNodeCount
    var counts: [Int] = []
    for step in 1...300 {
        let loss = softmaxCrossEntropy(logits: model(x), labels: labels)
        adam.zeroGrad()
        loss.backward()
        adam.step()
        if step % 100 == 0 { counts.append(GraphDiagnostics.liveNodeCount) }
    }
    let after = GraphDiagnostics.liveNodeCount
    let line = "parameters' leaf nodes \(leaves), live nodes after steps 100/200/300 \(counts) (loss of the last step held), after 300 steps \(after)\n"
    FileHandle.standardOutput.write(Data(line.utf8))
    exit(after == leaves && Set(counts).count == 1 ? 0 : 1)
}

@Suite("Reliability: training memory and threads") struct ReliabilityTrainingTests {
    /// The counter is process-wide, so this runs in a child process of its own.
    @Test func liveNodesReturnToTheParametersAfterTraining() async {
        let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            trainAndCountNodes()
        }
        let out = String(decoding: result?.standardOutputContent ?? [], as: UTF8.self)
        #expect(out.contains("after 300 steps"), "\(out)")
        print("Training live nodes: \(out)", terminator: "")
    }

    @Test func oneModelServesSeveralThreadsAtOnce() {
        let model = makeModel(seed: 7)
        // A few training steps first, so the batch-norm statistics are not trivial.
        let sgd = SGD(parameters: model.trainableParameters(), learningRate: 0.1)
        for i in 0..<3 {
            let loss = softmaxCrossEntropy(logits: model(Tensor.randomNormal([8, 6], seed: UInt64(i))), labels: [0, 1, 2, 0, 1, 2, 0, 1])
            sgd.zeroGrad(); loss.backward(); sgd.step()
        }
        model.eval()
        model.zeroGrad()
        let inputs = (0..<6).map { Tensor.randomNormal([5, 6], seed: 50 + UInt64($0)) }
        let expected = inputs.map { x in withoutGradients { model(x).scalars } }
        final class Results: Sendable { let value = Mutex<[Int: [[Float]]]>([:]) }
        let results = Results()
        let shared = UncheckedBox(model)
        DispatchQueue.concurrentPerform(iterations: 6) { t in
            var mine: [[Float]] = []
            for round in 0..<25 {
                let x = inputs[(t + round) % 6]
                // Half the threads record graphs (no backward), half do not: neither may
                // disturb the other or the shared parameters.
                mine.append(t % 2 == 0 ? withoutGradients { shared.value(x).scalars } : shared.value(x).scalars)
            }
            results.value.withLock { $0[t] = mine }
        }
        let all = results.value.withLock { $0 }
        for t in 0..<6 {
            for round in 0..<25 where all[t]?[round] != expected[(t + round) % 6] {
                Issue.record("thread \(t), round \(round): the output differs from one thread's")
            }
        }
        #expect(model.parameters().allSatisfy { $0.grad == nil })
    }
}

/// Shares a model with concurrent readers (inference only reads its parameters).
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

// MARK: - Messages

private func stderrText(_ result: ExitTest.Result?) -> String {
    String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
}

@Suite("Reliability: messages for training mistakes") struct ReliabilityTrainingMessageTests {
    @Test(arguments: ["Dense", "Conv2D", "MaxPool2D", "BatchNorm", "Sequential"])
    func layerWithTheWrongInputShape(layer: String) async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { [layer = layer as String] in
            switch layer {
            case "Dense": _ = Dense(4, 2, seed: 1)(Tensor.zeros([3, 5]))
            case "Conv2D": _ = Conv2D(3, 8, kernelSize: 3, seed: 1)(Tensor.zeros([2, 1, 8, 8]))
            case "MaxPool2D": _ = MaxPool2D(kernelSize: (2, 2))(Tensor.zeros([2, 8, 8]))
            case "BatchNorm": _ = BatchNorm(4)(Tensor.zeros([2, 3]))
            default: _ = Sequential([Dense(4, 6, seed: 1), ReLU(), Dense(5, 2, seed: 2)])(Tensor.zeros([3, 4]))
            }
        }
        let expected = [
            "Dense": "Dense(4 → 2): input [3, 5] has 5 features, expected 4",
            "Conv2D": "Conv2D(3 → 8, kernel 3×3): input [2, 1, 8, 8] is not [N, 3, H, W]",
            "MaxPool2D": "MaxPool2D(2×2): input [2, 8, 8] is not [N, C, H, W]",
            "BatchNorm": "BatchNorm(4): input [2, 3] does not have 4 channels on axis 1",
            "Sequential": "Dense(5 → 2): input [3, 6] has 6 features, expected 5",
        ][layer]!
        #expect(stderrText(result).contains(expected), "\(stderrText(result).prefix(300))")
    }

    @Test func optimizerOverAnEmptyParameterList() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Adam(parameters: Sequential([ReLU()]).trainableParameters())
        }
        #expect(stderrText(result).contains("Adam: no parameters to optimize (the parameter list is empty"))
    }

    @Test func labelsOutOfRange() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = softmaxCrossEntropy(logits: Tensor.zeros([2, 3]), labels: [1, 3])
        }
        #expect(stderrText(result).contains("softmaxCrossEntropy: label 3 at index 1 is out of range for 3 classes (valid 0…2)"))
        let negative = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = negativeLogLikelihood(logProbabilities: Tensor.zeros([2, 3]), labels: [-1, 0])
        }
        #expect(stderrText(negative).contains("negativeLogLikelihood: label -1 at index 0 is out of range"))
        let count = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = softmaxCrossEntropy(logits: Tensor.zeros([2, 3]), labels: [1])
        }
        #expect(stderrText(count).contains("softmaxCrossEntropy: 1 labels for a batch of 2 (logits [2, 3])"))
    }

    @Test func lossesWithMismatchedShapes() async {
        let bce = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = binaryCrossEntropy(logits: Tensor.zeros([4, 1]), targets: Tensor.zeros([4]))
        }
        #expect(stderrText(bce).contains("binaryCrossEntropy: logits [4, 1] and targets [4] must have the same shape"))
        let quadratic = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = quadraticLoss(predictions: Tensor.zeros([4, 10]), targets: Tensor.zeros([4, 9]))
        }
        #expect(stderrText(quadratic).contains("quadraticLoss: predictions [4, 10] and targets [4, 9] must have the same shape"))
    }
}
