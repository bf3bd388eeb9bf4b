import ExampleSupport
import Nabla
import NablaData
import NablaNN

/// A training recipe: one of the book's experiments, or a modern default.
struct Preset {
    /// The name given to `--model`.
    let name: String
    /// One line on what the preset is.
    let summary: String
    /// The book's reported test accuracy, if the preset is one of its experiments.
    let bookAccuracy: String?
    let epochs: Int
    let batchSize: Int
    let learningRate: Double
    /// The L2 coefficient λ (0 for none), applied to weights only, never to biases.
    let lambda: Double
    /// How λ enters: as in ch. 3 (λ/n per example) or as in network3.py (λ·m/n per batch).
    let lambdaForm: LambdaForm
    let cost: Cost
    let layout: ImageLayout
    /// Nielsen's ×5 expansion of the training data (one-pixel shifts).
    let expanded: Bool
    let optimizer: OptimizerKind
    let build: (inout RandomGenerator) -> Network

    enum LambdaForm { case perExample, perBatch }
    enum OptimizerKind { case sgd, adam }

    /// The SGD weight decay (the coefficient of w in the gradient) for a training set of n.
    func weightDecay(trainingSetSize n: Int, batchSize m: Int) -> Double {
        switch lambdaForm {
        case .perExample: lambda / Double(n)
        case .perBatch: lambda * Double(m) / Double(n)
        }
    }
}

nonisolated(unsafe) let presets: [Preset] = [
    Preset(name: "quick", summary: "default: BatchNorm conv net, Adam, 3 epochs (about a minute)",
           bookAccuracy: nil, epochs: 3, batchSize: 64, learningRate: 1e-3, lambda: 0,
           lambdaForm: .perExample, cost: .softmaxCrossEntropy, layout: .channelsFirst, expanded: false,
           optimizer: .adam, build: { benchmarkConvNetwork(batchNorm: true, using: &$0) }),
    Preset(name: "network1", summary: "ch. 1: 784-30-10 sigmoid, quadratic cost, η = 3.0, N(0, 1) weights",
           bookAccuracy: "95.42 %", epochs: 30, batchSize: 10, learningRate: 3.0, lambda: 0,
           lambdaForm: .perExample, cost: .quadratic, layout: .flat, expanded: false, optimizer: .sgd,
           build: { nielsenNetwork([784, 30, 10], weights: .standardNormal, sigmoidOutput: true, using: &$0) }),
    Preset(name: "network2", summary: "ch. 3: 784-100-10 sigmoid, cross-entropy, λ = 5.0, η = 0.5, N(0, 1/√n_in) weights",
           bookAccuracy: "about 98 %", epochs: 30, batchSize: 10, learningRate: 0.5, lambda: 5.0,
           lambdaForm: .perExample, cost: .sigmoidCrossEntropy, layout: .flat, expanded: false, optimizer: .sgd,
           build: { nielsenNetwork([784, 100, 10], weights: .scaledNormal, sigmoidOutput: false, using: &$0) }),
    Preset(name: "shallow", summary: "ch. 6: 784-100-10, sigmoid hidden, softmax + log-likelihood, η = 0.1",
           bookAccuracy: "97.80 %", epochs: 60, batchSize: 10, learningRate: 0.1, lambda: 0,
           lambdaForm: .perBatch, cost: .softmaxCrossEntropy, layout: .flat, expanded: false, optimizer: .sgd,
           build: { nielsenConvNetwork(convolutions: [], hidden: [100], activation: .sigmoid, using: &$0) }),
    Preset(name: "conv1", summary: "ch. 6: conv 20@5×5 + max-pool, FC 100 sigmoid, softmax, η = 0.1",
           bookAccuracy: "98.78 %", epochs: 60, batchSize: 10, learningRate: 0.1, lambda: 0,
           lambdaForm: .perBatch, cost: .softmaxCrossEntropy, layout: .channelsFirst, expanded: false, optimizer: .sgd,
           build: { nielsenConvNetwork(convolutions: [20], hidden: [100], activation: .sigmoid, using: &$0) }),
    Preset(name: "conv2", summary: "ch. 6: two conv + max-pool layers (20, 40 maps), FC 100 sigmoid, η = 0.1",
           bookAccuracy: "99.06 %", epochs: 60, batchSize: 10, learningRate: 0.1, lambda: 0,
           lambdaForm: .perBatch, cost: .softmaxCrossEntropy, layout: .channelsFirst, expanded: false, optimizer: .sgd,
           build: { nielsenConvNetwork(convolutions: [20, 40], hidden: [100], activation: .sigmoid, using: &$0) }),
    Preset(name: "conv2-relu", summary: "ch. 6: conv2 with ReLU, η = 0.03, λ = 0.1",
           bookAccuracy: "99.23 %", epochs: 60, batchSize: 10, learningRate: 0.03, lambda: 0.1,
           lambdaForm: .perBatch, cost: .softmaxCrossEntropy, layout: .channelsFirst, expanded: false, optimizer: .sgd,
           build: { nielsenConvNetwork(convolutions: [20, 40], hidden: [100], activation: .relu, using: &$0) }),
    Preset(name: "conv2-relu-expanded", summary: "ch. 6: conv2-relu on the ×5 expanded training data",
           bookAccuracy: "99.37 %", epochs: 60, batchSize: 10, learningRate: 0.03, lambda: 0.1,
           lambdaForm: .perBatch, cost: .softmaxCrossEntropy, layout: .channelsFirst, expanded: true, optimizer: .sgd,
           build: { nielsenConvNetwork(convolutions: [20, 40], hidden: [100], activation: .relu, using: &$0) }),
    Preset(name: "conv2-dropout", summary: "ch. 6: conv2-relu, 2 × FC 1000 ReLU, dropout 0.5, expanded data, 40 epochs",
           bookAccuracy: "99.60 %", epochs: 40, batchSize: 10, learningRate: 0.03, lambda: 0,
           lambdaForm: .perBatch, cost: .softmaxCrossEntropy, layout: .channelsFirst, expanded: true, optimizer: .sgd,
           build: { nielsenConvNetwork(convolutions: [20, 40], hidden: [1000, 1000], activation: .relu, dropout: 0.5, using: &$0) }),
    Preset(name: "bn", summary: "modern: conv → BatchNorm → ReLU net, Adam (lr 1e-3), batch 64",
           bookAccuracy: nil, epochs: 10, batchSize: 64, learningRate: 1e-3, lambda: 0,
           lambdaForm: .perExample, cost: .softmaxCrossEntropy, layout: .channelsFirst, expanded: false,
           optimizer: .adam, build: { benchmarkConvNetwork(batchNorm: true, using: &$0) }),
]

/// The preset the bare command runs.
let defaultPresetName = "quick"
