import ExampleSupport
import Foundation
import Nabla
import NablaData
import NablaNN

/// A training workload of ../shared/bench: the same data (all 60,000 training images, the
/// 10,000 test images), architecture, batch size, learning rate and initialisation as the
/// reference script named in `reference`.
///
/// With `--seed S` it also starts from the very weights and visits the examples in the very
/// order of the PyTorch script run with `--seed S`: `drawAsReference` redraws the weights
/// from PyTorch's stream after `torch.manual_seed(S)`, and each epoch's order is the next
/// `torch.randperm` of a generator seeded with S. A one-epoch accuracy varies by more than a
/// point from seed to seed (lenet_b64: about 1.3 points standard deviation in both tools),
/// so only runs from the same start can be compared seed by seed.
struct TrainingWorkload {
    let name: String
    let reference: String
    let batchSize: Int
    let cost: Cost
    let layout: ImageLayout
    let build: (inout RandomGenerator) -> Network
    /// Redraws the weights as the reference script draws them, from `torch.manual_seed(S)`.
    let drawAsReference: (Network, inout TorchGenerator) -> Void
    let optimizer: (Network, Int) -> any Optimizer
}

/// The initialisation of nielsen_mlp_torch.py and ce_mlp_torch.py: `nn.Linear` layers built
/// (drawing PyTorch's default weights), then every weight and bias redrawn by `normal_` with
/// standard deviation `weightStd(inputs)` for weights and 1 for biases.
private func drawNormal(weightStd: @escaping (Int) -> Double) -> (Network, inout TorchGenerator) -> Void {
    { model, generator in
        model.initializeAsPyTorch(using: &generator)
        for case let dense as Dense in model.layers {
            let std = weightStd(dense.weight.shape[1])
            dense.weight.replace(with: generator.normal(count: dense.weight.value.count, mean: 0, std: std))
            if let bias = dense.bias { bias.replace(with: generator.normal(count: bias.value.count, mean: 0, std: 1)) }
        }
    }
}

nonisolated(unsafe) let trainingWorkloads: [TrainingWorkload] = [
    TrainingWorkload(name: "nielsen_mlp", reference: "nielsen_mlp_torch.py / nielsen_mlp_numpy.py",
                     batchSize: 10, cost: .quadratic, layout: .flat,
                     build: { nielsenNetwork([784, 30, 10], weights: .standardNormal, sigmoidOutput: true, using: &$0) },
                     drawAsReference: drawNormal { _ in 1 },
                     optimizer: { m, _ in SGD(parameters: m.trainableParameters(), learningRate: 3.0) }),
    TrainingWorkload(name: "ce_mlp", reference: "ce_mlp_torch.py", batchSize: 10, cost: .softmaxCrossEntropy, layout: .flat,
                     build: { nielsenNetwork([784, 100, 10], weights: .scaledNormal, sigmoidOutput: false, using: &$0) },
                     drawAsReference: drawNormal { 1 / Double($0).squareRoot() },
                     optimizer: { m, n in
                         SGD(groups: ParameterGroup.weightsAndBiases(m.namedParameters(), weightDecay: 5.0 / Double(n)),
                             learningRate: 0.5)
                     }),
    TrainingWorkload(name: "lenet_b10", reference: "lenet_torch.py --batch 10 --eta 0.03", batchSize: 10,
                     cost: .softmaxCrossEntropy, layout: .channelsFirst,
                     build: { benchmarkConvNetwork(batchNorm: false, using: &$0) },
                     drawAsReference: { $0.initializeAsPyTorch(using: &$1) },
                     optimizer: { m, _ in SGD(parameters: m.trainableParameters(), learningRate: 0.03) }),
    TrainingWorkload(name: "lenet_b64", reference: "lenet_torch.py --batch 64 --eta 0.1", batchSize: 64,
                     cost: .softmaxCrossEntropy, layout: .channelsFirst,
                     build: { benchmarkConvNetwork(batchNorm: false, using: &$0) },
                     drawAsReference: { $0.initializeAsPyTorch(using: &$1) },
                     optimizer: { m, _ in SGD(parameters: m.trainableParameters(), learningRate: 0.1) }),
    TrainingWorkload(name: "bn_cnn", reference: "lenet_torch.py --bn --opt adam --eta 1e-3 --batch 64", batchSize: 64,
                     cost: .softmaxCrossEntropy, layout: .channelsFirst,
                     build: { benchmarkConvNetwork(batchNorm: true, using: &$0) },
                     drawAsReference: { $0.initializeAsPyTorch(using: &$1) },
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
    // --seed S (default 0): the weights and epoch orders of the PyTorch script run with
    // --seed S (see TrainingWorkload).
    let seed = options.seed ?? 0
    var generator = RandomGenerator(seed: seed)
    let model = w.build(&generator)
    var torchGenerator = TorchGenerator(seed: seed)
    w.drawAsReference(model, &torchGenerator)
    let trainer = Trainer(model: model, optimizer: w.optimizer(model, mnist.training.count), cost: w.cost,
                          batchSize: w.batchSize, layout: w.layout, seed: seed)
    var shuffler = TorchGenerator(seed: seed)
    trainer.epochOrder = { shuffler.permutation(count: $0) }
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

