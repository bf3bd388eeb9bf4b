import ExampleSupport
import Foundation
import Nabla
import NablaData
import NablaNN

/// A training workload of ../shared/bench: the same data (all 60,000 training images, the
/// 10,000 test images), architecture, batch size, learning rate and initialisation as the
/// reference script named in `reference`.
struct TrainingWorkload {
    let name: String
    let reference: String
    let batchSize: Int
    let cost: Cost
    let layout: ImageLayout
    let build: (inout RandomGenerator) -> Network
    let optimizer: (Network, Int) -> any Optimizer
}

nonisolated(unsafe) let trainingWorkloads: [TrainingWorkload] = [
    TrainingWorkload(name: "nielsen_mlp", reference: "nielsen_mlp_torch.py / nielsen_mlp_numpy.py",
                     batchSize: 10, cost: .quadratic, layout: .flat,
                     build: { nielsenNetwork([784, 30, 10], weights: .standardNormal, sigmoidOutput: true, using: &$0) },
                     optimizer: { m, _ in SGD(parameters: m.trainableParameters(), learningRate: 3.0) }),
    TrainingWorkload(name: "ce_mlp", reference: "ce_mlp_torch.py", batchSize: 10, cost: .softmaxCrossEntropy, layout: .flat,
                     build: { nielsenNetwork([784, 100, 10], weights: .scaledNormal, sigmoidOutput: false, using: &$0) },
                     optimizer: { m, n in
                         SGD(groups: ParameterGroup.weightsAndBiases(m.namedParameters(), weightDecay: 5.0 / Double(n)),
                             learningRate: 0.5)
                     }),
    TrainingWorkload(name: "lenet_b10", reference: "lenet_torch.py --batch 10 --eta 0.03", batchSize: 10,
                     cost: .softmaxCrossEntropy, layout: .channelsFirst,
                     build: { benchmarkConvNetwork(batchNorm: false, using: &$0) },
                     optimizer: { m, _ in SGD(parameters: m.trainableParameters(), learningRate: 0.03) }),
    TrainingWorkload(name: "lenet_b64", reference: "lenet_torch.py --batch 64 --eta 0.1", batchSize: 64,
                     cost: .softmaxCrossEntropy, layout: .channelsFirst,
                     build: { benchmarkConvNetwork(batchNorm: false, using: &$0) },
                     optimizer: { m, _ in SGD(parameters: m.trainableParameters(), learningRate: 0.1) }),
    TrainingWorkload(name: "bn_cnn", reference: "lenet_torch.py --bn --opt adam --eta 1e-3 --batch 64", batchSize: 64,
                     cost: .softmaxCrossEntropy, layout: .channelsFirst,
                     build: { benchmarkConvNetwork(batchNorm: true, using: &$0) },
                     optimizer: { m, _ in Adam(parameters: m.trainableParameters(), learningRate: 1e-3) }),
]

let trainingWorkloadNames = trainingWorkloads.map(\.name)

func benchTraining(_ name: String, options: Options) {
    let w = trainingWorkloads.first { $0.name == name }!
    let directory = options.data ?? bundledMNISTDirectory()
    let mnist: MNIST
    do {
        mnist = try MNIST(directory: directory, split: .standard)
    } catch {
        printError("nabla-bench: \(error)")
        exit(1)
    }
    // --seed S draws the weights from S and shuffles with S + 1 (default: 0 and 1).
    let seed = options.seed ?? 0
    var generator = RandomGenerator(seed: seed)
    let model = w.build(&generator)
    let trainer = Trainer(model: model, optimizer: w.optimizer(model, mnist.training.count), cost: w.cost,
                          batchSize: w.batchSize, layout: w.layout, seed: seed &+ 1)
    var times: [Double] = [], accuracy = 0.0, rss: [Double] = []
    for epoch in 1...options.epochs {
        let stats = trainer.trainEpoch(on: mnist.training)
        times.append(stats.seconds)
        accuracy = trainer.accuracy(on: mnist.test)
        rss.append(ProcessStats.currentResidentMB)
        if options.json {
            print(jsonLine(["workload": name, "epoch": epoch, "seconds_per_epoch": round3(stats.seconds),
                            "test_accuracy": accuracy, "peak_rss_mb": round1(ProcessStats.peakResidentMB),
                            "rss_mb": round1(rss.last!), "threads": Threading.threadCount]))
        } else {
            print(String(format: "%@ epoch %d: %.2f s, test accuracy %.2f%%, RSS %.0f MB (peak %.0f MB)",
                         name, epoch, stats.seconds, 100 * accuracy, rss.last!, ProcessStats.peakResidentMB))
        }
        fflush(nil)
    }
    // Flat memory: a training loop that leaks graphs or buffers grows its resident set every
    // epoch; by epoch 2 the allocator's pools and the data are warm, so epochs 2 → 10 compare
    // steady states.
    if rss.count >= 10 {
        let growth = 100 * (rss[9] - rss[1]) / rss[1]
        if options.json {
            print(jsonLine(["workload": name, "rss_epoch2_mb": round1(rss[1]), "rss_epoch10_mb": round1(rss[9]),
                            "rss_growth_percent": (growth * 100).rounded() / 100]))
        } else {
            print(String(format: "%@: RSS %.1f MB after epoch 2, %.1f MB after epoch 10 (%+.2f%%)",
                         name, rss[1], rss[9], growth))
        }
    }
    if !options.json && options.epochs > 1 {
        print(String(format: "%@: best %.2f s per epoch over %d epochs (reference: %@)", name, times.min()!,
                     options.epochs, w.reference))
    }
}

private func round1(_ x: Double) -> Double { (x * 10).rounded() / 10 }
private func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

