import Nabla
import NablaData
import NablaNN

/// What one epoch of training measured.
public struct EpochStats: Sendable {
    /// Mean loss over the epoch's mini-batches.
    public var loss: Double
    /// Fraction of training examples classified correctly while they were trained on.
    public var accuracy: Double
    /// Seconds spent training (shuffling and every step; no evaluation).
    public var seconds: Double
}

/// Mini-batch training and evaluation of a classifier on an image dataset: the loop that
/// the `mnist` trainer and `nabla-bench` share.
public final class Trainer {
    public let model: any Module
    public let optimizer: any Optimizer
    public let cost: Cost
    public let batchSize: Int
    public let layout: ImageLayout
    /// Shuffles the training set; its state is part of a checkpoint.
    public var shuffler: RandomGenerator
    /// When set, each epoch visits the examples in the order this returns for the dataset's
    /// size, instead of an order shuffled by `shuffler` (`nabla-bench` uses it to follow
    /// `torch.randperm`).
    public var epochOrder: ((Int) -> [Int])?
    /// Called every few batches with (examples done, examples in the epoch, running loss,
    /// examples per second).
    public var onProgress: ((Int, Int, Double, Double) -> Void)?

    public init(model: any Module, optimizer: any Optimizer, cost: Cost, batchSize: Int,
                layout: ImageLayout, seed: UInt64) {
        self.model = model
        self.optimizer = optimizer
        self.cost = cost
        self.batchSize = batchSize
        self.layout = layout
        shuffler = RandomGenerator(seed: seed)
    }

    /// One pass over `data` in a freshly shuffled order.
    public func trainEpoch(on data: ImageDataset) -> EpochStats {
        model.train()
        let start = monotonicSeconds()
        let batches = epochOrder.map { Batches(dataset: data, order: $0(data.count), batchSize: batchSize, layout: layout) }
            ?? data.batches(size: batchSize, shuffledBy: &shuffler, layout: layout)
        var lossSum = 0.0, correct = 0, seen = 0, lastReport = start
        for i in 0..<batches.count {
            let batch = batches[i]
            let output = model(batch.imagesTensor)
            let loss = cost.loss(output, labels: batch.labels)
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
            lossSum += Double(loss.scalar)
            correct += countCorrect(output, batch.labels)
            seen += batch.count
            if let onProgress {
                let now = monotonicSeconds()
                if now - lastReport > 0.2 || i == batches.count - 1 {
                    lastReport = now
                    onProgress(seen, data.count, lossSum / Double(i + 1), Double(seen) / max(now - start, 1e-9))
                }
            }
        }
        return EpochStats(loss: lossSum / Double(max(batches.count, 1)),
                          accuracy: Double(correct) / Double(max(seen, 1)),
                          seconds: monotonicSeconds() - start)
    }

    /// The predicted class of every example, in inference mode, in batches of 250 (batches
    /// of 1000 made evaluation the peak of a whole run: bn_cnn's peak RSS 344–369 MB against
    /// 153 MB with 250, at the same speed).
    public func predictions(on data: ImageDataset) -> [Int] {
        predict(model, data, layout: layout)
    }

    /// Fraction of `data` classified correctly, in inference mode.
    public func accuracy(on data: ImageDataset) -> Double {
        guard data.count > 0 else { return 0 }
        let predicted = predictions(on: data)
        return Double(zip(predicted, data.labels).filter { $0 == $1 }.count) / Double(data.count)
    }
}

/// The predicted class of every example of `data` under `model`, in inference mode.
public func predict(_ model: any Module, _ data: ImageDataset, layout: ImageLayout) -> [Int] {
    let wasTraining = model.isTraining
    model.eval()
    defer { model.train(wasTraining) }
    var result: [Int] = []
    result.reserveCapacity(data.count)
    withoutGradients {
        let batches = data.batches(size: 250, layout: layout)
        for i in 0..<batches.count {
            let classes = model(batches[i].imagesTensor).argmax(axis: 1).scalars
            result += classes.map { Int($0) }
        }
    }
    return result
}

/// How many rows of `output` (rows × classes) have their largest entry at the label, the
/// first one on ties as `argmax` picks it. Read in place: this runs after every training
/// step, where an argmax tensor and two arrays cost about a microsecond (a few percent of
/// a batch-10 MLP step).
func countCorrect(_ output: Tensor, _ labels: [Int]) -> Int {
    precondition(output.rank == 2 && output.shape[0] == labels.count && output.shape[1] > 0,
                 "countCorrect: \(output.shape) outputs for \(labels.count) labels")
    let classes = output.shape[1]
    func count<T: TensorScalar>(_: T.Type) -> Int {
        output.withUnsafeBufferPointer(as: T.self) { x in
            var correct = 0
            for (row, label) in labels.enumerated() {
                var best = x[row * classes], bestIndex = 0
                for k in 1..<classes where x[row * classes + k] > best {
                    best = x[row * classes + k]
                    bestIndex = k
                }
                if bestIndex == label { correct += 1 }
            }
            return correct
        }
    }
    return output.dtype == .float32 ? count(Float.self) : count(Double.self)
}
