@testable import ExampleSupport
import Nabla
import NablaData
import NablaNN
import Testing

@Suite("Trainer helpers")
struct TrainerTests {
    /// countCorrect reads the outputs in place; it must agree with argmax (first index on
    /// ties, a NaN never chosen over an earlier value) in float and double.
    @Test func countCorrectAgreesWithArgmax() {
        let rows: [[Double]] = [[0.1, 0.7, 0.2], [0.5, 0.5, 0.1], [.nan, 0.3, 0.2], [0.2, 0.2, 0.9], [-1, -3, -2]]
        let labels = [1, 1, 0, 2, 0]   // right, tie (argmax picks 0), NaN first (0), right, right
        for dtype in [DType.float32, .float64] {
            let output = Tensor(rows).cast(to: dtype)
            let viaArgmax = zip(output.argmax(axis: 1).scalars, labels).filter { Int($0) == $1 }.count
            #expect(countCorrect(output, labels) == 4, "\(dtype)")
            #expect(countCorrect(output, labels) == viaArgmax, "\(dtype)")
        }
        #expect(countCorrect(Tensor([[3.0]] as [[Double]]), [0]) == 1)
    }
}

@Suite("Trainer epoch order")
struct TrainerOrderTests {
    /// With `epochOrder` set, an epoch takes its steps in exactly that order: the weights
    /// after one epoch equal those of a hand-written loop over the same order, and differ
    /// from those of the reverse order.
    @Test func epochOrderIsTheOrderOfTheSteps() {
        let data = ImageDataset(pixels: [0, 255, 200, 10, 90, 90, 255, 30], labels: [1, 0, 1, 0], height: 1, width: 2)
        func model() -> Network { Sequential([Dense(2, 2, seed: 7)]) }
        func weights(_ m: Network) -> [Float] { m.parameters().flatMap(\.value.scalars) }
        let order = [3, 1, 0, 2]

        let viaTrainer = model()
        let trainer = Trainer(model: viaTrainer, optimizer: SGD(parameters: viaTrainer.trainableParameters(), learningRate: 0.5),
                              cost: .softmaxCrossEntropy, batchSize: 1, layout: .flat, seed: 1)
        var asked: [Int] = []
        trainer.epochOrder = { asked.append($0); return order }
        _ = trainer.trainEpoch(on: data)
        #expect(asked == [4])

        func byHand(_ order: [Int]) -> [Float] {
            let m = model()
            let sgd = SGD(parameters: m.trainableParameters(), learningRate: 0.5)
            for i in order {
                let batch = data.gather([i])
                let loss = Cost.softmaxCrossEntropy.loss(m(batch.imagesTensor), labels: batch.labels)
                sgd.zeroGrad()
                loss.backward()
                sgd.step()
            }
            return weights(m)
        }
        #expect(weights(viaTrainer) == byHand(order))
        #expect(weights(viaTrainer) != byHand(order.reversed()))
    }
}
