import Nabla

// Loss functions, computed from logits where a nonlinearity is involved so that they stay
// finite for any input, and the weight penalties of Nielsen's chapter 3.

/// How a loss combines the per-sample (or per-element) losses.
public enum LossReduction: Sendable {
    /// The average (the default: the learning rate then does not depend on the batch size).
    case mean
    /// The total.
    case sum
    /// No reduction: one loss per sample (per element for `binaryCrossEntropy`).
    case none
}

private func reduce(_ losses: Tensor, _ reduction: LossReduction) -> Tensor {
    switch reduction {
    case .mean: losses.mean()
    case .sum: losses.sum()
    case .none: losses
    }
}

private func requireSameShape(_ op: String, _ a: Tensor, _ aName: String, _ b: Tensor, _ bName: String) {
    guard a.shape == b.shape else {
        fatalError("\(op): \(aName) \(describeShape(a.shape)) and \(bName) \(describeShape(b.shape)) must have the same shape")
    }
    guard a.dtype == b.dtype else {
        fatalError("\(op): \(aName) is \(a.dtype) but \(bName) is \(b.dtype); convert one with cast(to:)")
    }
}

/// Nielsen's quadratic cost, ½‖a − y‖² per sample (summed over the classes), averaged over
/// the batch by default. Axis 0 is the batch; every other axis is summed.
///
/// ```swift
/// let cost = quadraticLoss(predictions: network(x), targets: oneHotY)
/// ```
public func quadraticLoss(predictions: Tensor, targets: Tensor, reduction: LossReduction = .mean) -> Tensor {
    requireSameShape("quadraticLoss", predictions, "predictions", targets, "targets")
    if reduction == .none {
        let squared = (predictions - targets).square() * 0.5
        return predictions.rank <= 1 ? squared : squared.sum(axes: Array(1..<predictions.rank))
    }
    // Mean or sum: one graph node, c·Σ(a − y)² with gradient 2c(a − y), instead of the five
    // of the formula written out (difference, square, half, per-sample sum, mean).
    let samples = predictions.rank <= 1 ? predictions.count : predictions.shape[0]
    let c = reduction == .mean ? 0.5 / Double(Swift.max(samples, 1)) : 0.5
    return Tensor.squaredDistance(predictions, targets, scale: c)
}

/// Sigmoid followed by binary cross-entropy, computed stably from logits z as
/// max(z, 0) − z·y + log(1 + e^−|z|) (that is, softplus(z) − z·y), elementwise, averaged over
/// every element by default (PyTorch's `BCEWithLogitsLoss`). Targets are in [0, 1].
public func binaryCrossEntropy(logits: Tensor, targets: Tensor, reduction: LossReduction = .mean) -> Tensor {
    requireSameShape("binaryCrossEntropy", logits, "logits", targets, "targets")
    // The core's softplus is computed as max(z, 0) + log1p(e^−|z|) and its derivative is the
    // sigmoid, so the gradient is the familiar σ(z) − y, even at z = 0.
    return reduce(logits.softplus() - logits * targets, reduction)
}

/// Checks `[N, C]` scores against N labels in 0..<C.
private func checkLabels(_ op: String, _ scores: Tensor, _ scoresName: String, _ labels: [Int]) {
    guard scores.rank == 2 else {
        fatalError("\(op): \(scoresName) \(describeShape(scores.shape)) must be [batch, classes]")
    }
    guard labels.count == scores.shape[0] else {
        fatalError("\(op): \(labels.count) labels for a batch of \(scores.shape[0]) (\(scoresName) \(describeShape(scores.shape)))")
    }
    let classes = scores.shape[1]
    for (i, label) in labels.enumerated() where label < 0 || label >= classes {
        fatalError("\(op): label \(label) at index \(i) is out of range for \(classes) classes (valid 0…\(classes - 1))")
    }
}

/// Converts a tensor of whole-number class indices to `[Int]`.
private func integerLabels(_ op: String, _ labels: Tensor) -> [Int] {
    guard labels.rank == 1 else {
        fatalError("\(op): labels \(describeShape(labels.shape)) must be a 1-D tensor of class indices")
    }
    return labels.scalars(as: Double.self).enumerated().map { i, v in
        guard v.isFinite, v.rounded() == v else { fatalError("\(op): label \(v) at index \(i) is not a whole number") }
        return Int(v)
    }
}

/// A `[labels.count, classes]` matrix with a one in each row at the label's column.
private func oneHot(_ labels: [Int], classes: Int, dtype: DType) -> Tensor {
    var scalars = [Double](repeating: 0, count: labels.count * classes)
    for (i, label) in labels.enumerated() { scalars[i * classes + label] = 1 }
    return Tensor(shape: [labels.count, classes], scalars: scalars, dtype: dtype)
}

/// The negative log-likelihood of the true classes, given log-probabilities `[N, C]` (the
/// output of `logSoftmax`), averaged over the batch by default.
public func negativeLogLikelihood(logProbabilities: Tensor, labels: [Int],
                                  reduction: LossReduction = .mean) -> Tensor {
    checkLabels("negativeLogLikelihood", logProbabilities, "logProbabilities", labels)
    let picked = (logProbabilities * oneHot(labels, classes: logProbabilities.shape[1],
                                            dtype: logProbabilities.dtype)).sum(axis: 1)
    return reduce(-picked, reduction)
}

/// `negativeLogLikelihood` with the labels given as a tensor of class indices.
public func negativeLogLikelihood(logProbabilities: Tensor, labels: Tensor,
                                  reduction: LossReduction = .mean) -> Tensor {
    negativeLogLikelihood(logProbabilities: logProbabilities,
                          labels: integerLabels("negativeLogLikelihood", labels), reduction: reduction)
}

/// Softmax followed by cross-entropy against integer class labels, from logits `[N, C]`
/// (PyTorch's `CrossEntropyLoss`), computed through a stable log-softmax so that any logits
/// give a finite loss. Averaged over the batch by default.
///
/// ```swift
/// let loss = softmaxCrossEntropy(logits: model(images), labels: [3, 1, 4])
/// ```
public func softmaxCrossEntropy(logits: Tensor, labels: [Int], reduction: LossReduction = .mean) -> Tensor {
    checkLabels("softmaxCrossEntropy", logits, "logits", labels)
    return negativeLogLikelihood(logProbabilities: logits.logSoftmax(axis: 1), labels: labels, reduction: reduction)
}

/// `softmaxCrossEntropy` with the labels given as a tensor of class indices.
public func softmaxCrossEntropy(logits: Tensor, labels: Tensor, reduction: LossReduction = .mean) -> Tensor {
    softmaxCrossEntropy(logits: logits, labels: integerLabels("softmaxCrossEntropy", labels), reduction: reduction)
}

/// Softmax followed by cross-entropy against target distributions `[N, C]` (one-hot rows or
/// any probabilities): −Σ p·log softmax(z) per sample, averaged over the batch by default.
public func softmaxCrossEntropy(logits: Tensor, probabilities: Tensor, reduction: LossReduction = .mean) -> Tensor {
    requireSameShape("softmaxCrossEntropy", logits, "logits", probabilities, "probabilities")
    guard logits.rank == 2 else {
        fatalError("softmaxCrossEntropy: logits \(describeShape(logits.shape)) must be [batch, classes]")
    }
    return reduce(-(probabilities * logits.logSoftmax(axis: 1)).sum(axis: 1), reduction)
}

/// The weights a penalty applies to: parameters named `weight` (`"fc.weight"`), not biases.
private func penalizedWeights(_ model: any Module) -> [Tensor] {
    model.namedParameters().filter { $0.name == "weight" || $0.name.hasSuffix(".weight") }.map(\.parameter.value)
}

private func checkPenalty(_ op: String, _ lambda: Double, _ n: Int) {
    guard n > 0, lambda >= 0 else {
        fatalError("\(op): trainingSetSize must be positive and lambda ≥ 0 (got \(n), \(lambda))")
    }
}

/// Nielsen's L2 regularization term, λ/(2n)·Σw² over the model's weights (not its biases),
/// where n is the size of the whole training set. Add it to the loss of each mini-batch.
///
/// ```swift
/// let loss = softmaxCrossEntropy(logits: model(x), labels: y)
///          + l2Penalty(model, lambda: 5, trainingSetSize: 50_000)
/// ```
public func l2Penalty(_ model: any Module, lambda: Double, trainingSetSize: Int) -> Tensor {
    checkPenalty("l2Penalty", lambda, trainingSetSize)
    let weights = penalizedWeights(model)
    guard let first = weights.first else { return Tensor(0) }
    let total = weights.dropFirst().reduce(first.square().sum()) { $0 + $1.square().sum() }
    return total * (lambda / (2 * Double(trainingSetSize)))
}

/// Nielsen's L1 regularization term, λ/n·Σ|w| over the model's weights (not its biases).
public func l1Penalty(_ model: any Module, lambda: Double, trainingSetSize: Int) -> Tensor {
    checkPenalty("l1Penalty", lambda, trainingSetSize)
    let weights = penalizedWeights(model)
    guard let first = weights.first else { return Tensor(0) }
    let total = weights.dropFirst().reduce(first.abs().sum()) { $0 + $1.abs().sum() }
    return total * (lambda / Double(trainingSetSize))
}
