import Foundation
import Testing
import Nabla
import NablaNN

@Suite("Losses")
struct LossTests {
    @Test func quadraticLossIsHalfSquaredDistanceAveragedOverTheBatch() {
        let a = t32([[1, 2], [3, 4]]), y = t32([[1, 0], [0, 1]])
        // Per sample: ½(0 + 4) = 2 and ½(9 + 9) = 9.
        expectClose(quadraticLoss(predictions: a, targets: y), [5.5], shape: [])
        expectClose(quadraticLoss(predictions: a, targets: y, reduction: .sum), [11], shape: [])
        expectClose(quadraticLoss(predictions: a, targets: y, reduction: .none), [2, 9])
        // ∂C/∂a = (a − y)/n
        let p = randn([3, 2], seed: 1), t = randn([3, 2], seed: 2)
        let r = checkGradients(at: [p]) { xs in quadraticLoss(predictions: xs[0], targets: t) }
        #expect(r.passed, "\(r)")
    }

    @Test func quadraticLossIsOneNodeWithTheFormulasGradients() {
        // Mean and sum are one fused node; its values and gradients must be the formula's.
        let a = randn([4, 3], seed: 5), y = randn([4, 3], seed: 6)
        let diff = zip(a.scalars(as: Double.self), y.scalars(as: Double.self)).map { $0 - $1 }
        for (reduction, scale) in [(LossReduction.mean, 1.0 / 4), (.sum, 1.0)] {
            let p = a.requiringGrad(), t = y.requiringGrad()
            let loss = quadraticLoss(predictions: p, targets: t, reduction: reduction)
            expectClose(loss, [0.5 * scale * diff.map { $0 * $0 }.reduce(0, +)], shape: [])
            loss.backward()
            expectClose(p.grad!, diff.map { $0 * scale }, shape: [4, 3])
            expectClose(t.grad!, diff.map { -$0 * scale }, shape: [4, 3])
        }
        // A vector is one sample per element: the mean divides by its length.
        let v = Tensor([1.0, 2, 3]), w = Tensor([0.0, 0, 1])
        expectClose(quadraticLoss(predictions: v, targets: w), [(1.0 + 4 + 4) / 2 / 3], shape: [])
        // float32 values and second derivatives: ∂²C/∂a² = 1/n on the diagonal.
        let p32 = t32([[0.25, -1], [2, 0.5]]).requiringGrad(), y32 = t32([[1, 0], [0, 1]])
        let g = gradients(of: quadraticLoss(predictions: p32, targets: y32), withRespectTo: [p32], createGraph: true)[0]
        expectClose(g, [-0.375, -0.5, 1, -0.25], shape: [2, 2])
        expectClose(gradients(of: g.sum(), withRespectTo: [p32])[0], [0.5, 0.5, 0.5, 0.5], shape: [2, 2])
        let r = checkGradients(at: [randn([3, 2], seed: 7), randn([3, 2], seed: 8)]) { xs in
            quadraticLoss(predictions: xs[0], targets: xs[1], reduction: .sum)
        }
        #expect(r.passed, "\(r)")
    }

    @Test func binaryCrossEntropyFromLogits() {
        let z = [0.0, 2, -3], y = [1.0, 0, 0.5]
        let expected = zip(z, y).map { z, y in log(1 + exp(z)) - z * y }
        let logits = Tensor(z), targets = Tensor(y)
        expectClose(binaryCrossEntropy(logits: logits, targets: targets, reduction: .none), expected)
        expectClose(binaryCrossEntropy(logits: logits, targets: targets), [expected.reduce(0, +) / 3], shape: [])
        // The gradient is σ(z) − y per element (over n for the mean), even at z = 0.
        let leaf = logits.requiringGrad()
        binaryCrossEntropy(logits: leaf, targets: targets, reduction: .sum).backward()
        expectClose(leaf.grad!, zip(z, y).map { 1 / (1 + exp(-$0)) - $1 })
        let r = checkGradients(at: [randn([2, 3], seed: 3)]) { xs in
            binaryCrossEntropy(logits: xs[0], targets: Tensor(shape: [2, 3], scalars: [0, 1, 0.3, 1, 0, 0.5]))
        }
        #expect(r.passed, "\(r)")
    }

    @Test func binaryCrossEntropyIsStableForHugeLogits() {
        let logits = t32([1e4, -1e4, 1e4, -1e4]).requiringGrad()
        let loss = binaryCrossEntropy(logits: logits, targets: t32([0, 1, 1, 0]), reduction: .none)
        expectClose(loss, [1e4, 1e4, 0, 0])
        loss.sum().backward()
        expectClose(logits.grad!, [1, -1, 0, 0])
    }

    @Test func softmaxCrossEntropyWithIntegerLabels() {
        let logits = Tensor([[1, 2, 3], [1, 1, 1]] as [[Double]])
        let e1: Double = exp(1.0), e2: Double = exp(2.0), e3: Double = exp(3.0)
        let total = e1 + e2 + e3
        let row0: Double = log(total) - 3, row1: Double = log(3.0)
        expectClose(softmaxCrossEntropy(logits: logits, labels: [2, 0]), [(row0 + row1) / 2], shape: [])
        expectClose(softmaxCrossEntropy(logits: logits, labels: [2, 0], reduction: .none), [row0, row1])
        expectClose(softmaxCrossEntropy(logits: logits, labels: [2, 0], reduction: .sum), [row0 + row1], shape: [])
        // Labels as a tensor of class indices, and as one-hot probabilities, agree.
        expectClose(softmaxCrossEntropy(logits: logits, labels: Tensor([2, 0] as [Double])), [(row0 + row1) / 2], shape: [])
        expectClose(softmaxCrossEntropy(logits: logits, probabilities: Tensor([[0, 0, 1], [1, 0, 0]] as [[Double]])),
                    [(row0 + row1) / 2], shape: [])
        // ∂/∂z = (softmax(z) − onehot)/n
        let leaf = logits.requiringGrad()
        softmaxCrossEntropy(logits: leaf, labels: [2, 0]).backward()
        let s: [Double] = [e1 / total, e2 / total, e3 / total]
        let expected: [Double] = [s[0] / 2, s[1] / 2, (s[2] - 1) / 2, (1.0 / 3 - 1) / 2, 1.0 / 6, 1.0 / 6]
        expectClose(leaf.grad!, expected)
        let r = checkGradients(at: [randn([2, 4], seed: 4)]) { xs in
            softmaxCrossEntropy(logits: xs[0], probabilities: Tensor(shape: [2, 4], scalars: [0.1, 0.2, 0.3, 0.4, 0, 0, 1, 0]))
        }
        #expect(r.passed, "\(r)")
    }

    @Test func softmaxCrossEntropyIsStableForHugeLogits() {
        let logits = t32([[1e4, -1e4], [1e4, -1e4]]).requiringGrad()
        let loss = softmaxCrossEntropy(logits: logits, labels: [1, 0], reduction: .none)
        expectClose(loss, [2e4, 0])
        loss.sum().backward()
        #expect(values(logits.grad!).allSatisfy { $0.isFinite })
        expectClose(logits.grad!, [1, -1, 0, 0])
    }

    @Test func negativeLogLikelihoodPicksTheTrueClass() {
        let logProbabilities = Tensor([[-0.1, -2.5], [-1.2, -0.4]] as [[Double]])
        expectClose(negativeLogLikelihood(logProbabilities: logProbabilities, labels: [0, 1]), [0.25], shape: [])
        expectClose(negativeLogLikelihood(logProbabilities: logProbabilities, labels: Tensor([1, 0] as [Double]),
                                          reduction: .none), [2.5, 1.2])
        // logSoftmax + NLL is softmax cross-entropy.
        let z = randn([3, 4], seed: 5)
        expectClose(negativeLogLikelihood(logProbabilities: z.logSoftmax(axis: 1), labels: [3, 0, 2]),
                    softmaxCrossEntropy(logits: z, labels: [3, 0, 2]))
    }

    @Test func outOfRangeLabelNamesTheLabelAndTheClassCount() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = softmaxCrossEntropy(logits: Tensor.zeros([2, 10]), labels: [3, 10])
        }.map { result in
            let message = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(message.contains("label 10 at index 1 is out of range for 10 classes"))
        }
    }

    @Test func penaltiesCoverWeightsButNotBiases() {
        let model = Sequential([Dense(2, 2, seed: 1), ReLU(), Dense(2, 1, seed: 2)])
        let first = model[0] as! Dense, last = model[2] as! Dense
        first.weight.update(t32([[1, -2], [3, 0]]))
        last.weight.update(t32([[-1, 1]]))
        first.bias!.update(t32([100, 100]))
        last.bias!.update(t32([100]))
        // Σw² = 1 + 4 + 9 + 0 + 1 + 1 = 16; Σ|w| = 1 + 2 + 3 + 0 + 1 + 1 = 8
        let l2 = l2Penalty(model, lambda: 0.5, trainingSetSize: 4)
        expectClose(l2, [0.5 / 8 * 16], shape: [])
        expectClose(l1Penalty(model, lambda: 0.5, trainingSetSize: 4), [0.5 / 4 * 8], shape: [])
        // ∂/∂w = λ/n·w, nothing for biases.
        l2.backward()
        expectClose(first.weight.grad!, [0.125, -0.25, 0.375, 0])
        #expect(first.bias!.grad == nil)
    }
}
