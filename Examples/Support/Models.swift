import Nabla
import NablaNN

/// The cost a model is trained with; it also says what the model's outputs are.
public enum Cost: String, Sendable {
    /// Nielsen ch. 1: sigmoid outputs, ½‖a − y‖² against one-hot targets.
    case quadratic
    /// Nielsen ch. 3: sigmoid outputs, cross-entropy −Σ [y ln a + (1 − y) ln(1 − a)],
    /// computed from the logits.
    case sigmoidCrossEntropy
    /// Nielsen ch. 6 and PyTorch's `cross_entropy`: softmax outputs with log-likelihood.
    case softmaxCrossEntropy

    /// The mean over the batch of the per-example cost, from the model's output.
    public func loss(_ output: Tensor, labels: [Int]) -> Tensor {
        switch self {
        case .quadratic:
            return quadraticLoss(predictions: output, targets: Tensor.oneHot(labels, classes: output.shape[1]))
        case .sigmoidCrossEntropy:
            let targets = Tensor.oneHot(labels, classes: output.shape[1])
            return binaryCrossEntropy(logits: output, targets: targets, reduction: .sum) / Double(labels.count)
        case .softmaxCrossEntropy:
            return NablaNN.softmaxCrossEntropy(logits: output, labels: labels)
        }
    }
}

/// A small `Module` made of a sequence of layers, built by the presets below.
public typealias Network = Sequential

/// Nielsen's ch. 1 network: sizes like [784, 30, 10], sigmoid layers, N(0, 1) weights and
/// biases. The last layer's output goes through the sigmoid too (the quadratic cost compares
/// activations), unless `sigmoidOutput` is false (ch. 3: the cost works from the logits).
public func nielsenNetwork(_ sizes: [Int], weights: Initializer, sigmoidOutput: Bool,
                           using generator: inout RandomGenerator) -> Network {
    var layers: [any Module] = []
    for (i, (n, m)) in zip(sizes, sizes.dropFirst()).enumerated() {
        layers.append(Dense(n, m, weightInitializer: weights, biasInitializer: .standardNormal, using: &generator))
        if i < sizes.count - 2 || sigmoidOutput { layers.append(Sigmoid()) }
    }
    return Sequential(layers)
}

/// The hidden-layer activation of a ch. 6 network.
public enum Activation: String, Sendable {
    case sigmoid, relu
    /// The activation as a layer.
    public var layer: any Module { self == .sigmoid ? Sigmoid() : ReLU() }
}

/// One of Nielsen's ch. 6 (network3.py) networks: convolution + max-pool layers, fully
/// connected layers, a softmax layer; with network3's initialisation: weights N(0, 1/n_out)
/// (variance), biases N(0, 1), softmax weights and biases zero. A fully connected or softmax
/// layer with dropout applies it to its input, as network3 does.
public func nielsenConvNetwork(convolutions: [Int], hidden: [Int], activation: Activation,
                               dropout: Double = 0, using generator: inout RandomGenerator) -> Network {
    var layers: [any Module] = []
    var channels = 1, side = 28
    for filters in convolutions {
        let nOut = Double(filters * 25) / 4
        layers.append(Conv2D(channels, filters, kernelSize: 5, weightInitializer: .normal(std: (1 / nOut).squareRoot()),
                             biasInitializer: .standardNormal, using: &generator))
        layers.append(MaxPool2D(kernelSize: 2))
        layers.append(activation.layer)
        channels = filters
        side = (side - 4) / 2
    }
    var width = convolutions.isEmpty ? 784 : channels * side * side
    layers.append(Flatten())
    for h in hidden {
        if dropout > 0 { layers.append(Dropout(probability: dropout, seed: generator.next())) }
        layers.append(Dense(width, h, weightInitializer: .normal(std: (1 / Double(h)).squareRoot()),
                            biasInitializer: .standardNormal, using: &generator))
        layers.append(activation.layer)
        width = h
    }
    if dropout > 0 { layers.append(Dropout(probability: dropout, seed: generator.next())) }
    layers.append(Dense(width, 10, weightInitializer: .zeros, biasInitializer: .zeros, using: &generator))
    return Sequential(layers)
}

/// The benchmark conv net of ../shared/bench/lenet_torch.py: conv 20@5×5 → ReLU → max-pool 2 →
/// conv 40@5×5 → ReLU → max-pool 2 → dense 640→100 → ReLU → dense 100→10, PyTorch's default
/// initialisation; with `batchNorm`, BatchNorm after each convolution (conv → BN → ReLU).
public func benchmarkConvNetwork(batchNorm: Bool, using generator: inout RandomGenerator) -> Network {
    var layers: [any Module] = [Conv2D(1, 20, kernelSize: 5, using: &generator)]
    if batchNorm { layers.append(BatchNorm(20)) }
    layers += [ReLU(), MaxPool2D(kernelSize: 2), Conv2D(20, 40, kernelSize: 5, using: &generator)]
    if batchNorm { layers.append(BatchNorm(40)) }
    layers += [ReLU(), MaxPool2D(kernelSize: 2), Flatten(),
               Dense(640, 100, using: &generator), ReLU(), Dense(100, 10, using: &generator)]
    return Sequential(layers)
}
