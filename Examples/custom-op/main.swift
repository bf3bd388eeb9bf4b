// custom-op: the workflow for adding a new op to Nabla, start to finish.
//   1. define it by its forward and its backward with `Tensor.customOp`;
//   2. prove the backward right with `checkGradients` and `checkSecondOrderGradients`;
//   3. see what the checker says about a backward with a bug in it;
//   4. use the op in a model and train it.
// The op is swish (also called SiLU): swish(x) = x·σ(x).
//
//   swift run -c release custom-op
//   swift run -c release custom-op --train-limit 60000
import ExampleSupport
import Foundation
import Nabla
import NablaData
import NablaNN

let usage = """
usage: custom-op [options]

  --train-limit N      train the swish network on the first N training images (default 10000)
  --seed N             seed for the weights and the shuffling (default 1)
  --data DIR           folder with the four MNIST IDX files (default: the bundled MNIST)
"""

/// Stops with the problem and the usage text, status 2 (a bad command line).
func fail(_ message: String) -> Never {
    printError("custom-op: \(message)\n\n\(usage)")
    exit(2)
}

var trainLimit = 10_000
var seed: UInt64 = 1
var dataDirectory: String?
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--train-limit":
        guard let v = args.popFirst().flatMap({ Int($0) }), v > 0 else { fail("--train-limit needs a positive integer") }
        trainLimit = v
    case "--seed":
        guard let v = args.popFirst().flatMap({ UInt64($0) }) else { fail("--seed needs a non-negative integer") }
        seed = v
    case "--data":
        guard let v = args.popFirst() else { fail("--data needs a folder") }
        dataDirectory = v
    case "-h", "--help": print(usage); exit(0)
    default: fail("unknown argument '\(a)'")
    }
}

// MARK: 1. The op

/// swish(x) = x·σ(x), with derivative σ(x)·(1 + x·(1 − σ(x))).
///
/// The forward may compute however it likes (it runs without recording a graph). The
/// backward is written with tensor ops on the inputs, so that when the engine records the
/// backward pass (`createGraph`) the gradient itself can be differentiated again.
func swish(_ x: Tensor) -> Tensor {
    Tensor.customOp("swish", inputs: [x],
                    forward: { xs in xs[0] * xs[0].sigmoid() },
                    backward: { g, xs, _ in
                        let s = xs[0].sigmoid()
                        return [g * s * (1 + xs[0] * (1 - s))]
                    })
}

/// The same op with a classic bug: the product rule forgotten, as if x were a constant.
func brokenSwish(_ x: Tensor) -> Tensor {
    Tensor.customOp("brokenSwish", inputs: [x],
                    forward: { xs in xs[0] * xs[0].sigmoid() },
                    backward: { g, xs, _ in [g * xs[0].sigmoid()] })
}

print("swish([-2, 0, 2]) = \(swish(Tensor([-2, 0, 2] as [Float])).scalars)")

// MARK: 2. Check it

// Small random inputs in float64 (the checker converts anyway); every element of the
// Jacobian is compared with a central difference, so keep the inputs small.
let x = Tensor.randomNormal([3, 4], dtype: .float64, seed: 7)
let first = checkGradients(at: [x]) { xs in swish(xs[0]) }
print("checkGradients(swish):            \(first)")
let second = checkSecondOrderGradients(at: [x]) { xs in swish(xs[0]) }
print("checkSecondOrderGradients(swish): \(second)")
guard first.passed && second.passed else {
    printError("custom-op: the swish backward failed its check")
    exit(1)
}

// MARK: 3. A wrong backward is caught

let broken = checkGradients(at: [x]) { xs in brokenSwish(xs[0]) }
print("checkGradients(brokenSwish), expected to fail:")
print(broken.description.split(separator: "\n").prefix(4).joined(separator: "\n"))
if broken.mismatches.count > 3 { print("  … (\(broken.mismatches.count) mismatches kept)") }
guard !broken.passed else {
    printError("custom-op: the checker missed the broken backward")
    exit(1)
}

// MARK: 4. Use it in a model

/// A 784-100-10 network with swish in the hidden layer.
final class SwishNetwork: Module {
    let hidden: Dense
    let output: Dense
    init(using g: inout RandomGenerator) {
        hidden = Dense(784, 100, using: &g)
        output = Dense(100, 10, using: &g)
    }
    func callAsFunction(_ x: Tensor) -> Tensor { output(swish(hidden(x))) }
}

let mnist: MNIST
do {
    mnist = try MNIST(directory: dataDirectory ?? bundledMNISTDirectory(), trainingLimit: trainLimit)
} catch {
    printError("custom-op: \(error)")
    exit(1)
}

var generator = RandomGenerator(seed: seed)
let model = SwishNetwork(using: &generator)
let sgd = SGD(parameters: model.trainableParameters(), learningRate: 0.1, momentum: 0.9)
let start = monotonicSeconds()
for batch in mnist.training.batches(size: 32, shuffledBy: &generator) {
    let loss = softmaxCrossEntropy(logits: model(batch.imagesTensor), labels: batch.labels)
    sgd.zeroGrad()
    loss.backward()
    sgd.step()
}
let predicted = withoutGradients { model(mnist.test.imagesTensor()).argmax(axis: 1).scalars }
let correct = zip(predicted, mnist.test.labels).filter { Int($0) == $1 }.count
print(String(format: "one epoch on %d images with swish hidden units (%.1f s): test accuracy %.2f%% (%d / %d)",
             mnist.training.count, monotonicSeconds() - start,
             100 * Double(correct) / Double(mnist.test.count), correct, mnist.test.count))
