// logistic-regression: one sigmoid unit trained by full-batch gradient descent to answer
// "is this digit a 0?" (or any digit, with --digit), as in week 2 of Andrew Ng's
// deep-learning course, written with raw Nabla tensors and `backward()` — no layers,
// no optimizer — so every step of the algorithm is visible.
//
//   swift run -c release logistic-regression                # "is it a 0?"
//   swift run -c release logistic-regression --digit 7 --iterations 500
import ExampleSupport
import Foundation
import Nabla
import NablaData

let usage = """
usage: logistic-regression [options]

  --digit N            the digit to recognise against all others, 0…9 (default 0)
  --iterations N       gradient-descent steps over the whole training set (default 200)
  --learning-rate X    step size α (default 1.0)
  --print-every N      print the cost every N iterations (default 20)
  --train-limit N      train on the first N training images (default 10000; 60000 for all,
                       about six times slower)
  --data DIR           folder with the four MNIST IDX files (default: the bundled MNIST)
"""

/// Stops with the problem and the usage text, status 2 (a bad command line).
func fail(_ message: String) -> Never {
    printError("logistic-regression: \(message)\n\n\(usage)")
    exit(2)
}

var digit = 0, iterations = 200, printEvery = 20
var learningRate = 1.0
var trainLimit = 10_000
var dataDirectory: String?
var args = CommandLine.arguments.dropFirst()
/// The value after a flag, parsed by `parse`, or a usage error.
@MainActor func value<T>(_ flag: String, _ parse: (String) -> T?) -> T {
    guard let text = args.popFirst() else { fail("\(flag) needs a value") }
    guard let v = parse(text) else { fail("invalid value '\(text)' for \(flag)") }
    return v
}
while let a = args.popFirst() {
    switch a {
    case "--digit": digit = value(a) { Int($0).flatMap { (0...9).contains($0) ? $0 : nil } }
    case "--iterations": iterations = value(a) { Int($0).flatMap { $0 > 0 ? $0 : nil } }
    case "--learning-rate": learningRate = value(a) { Double($0).flatMap { $0 > 0 && $0.isFinite ? $0 : nil } }
    case "--print-every": printEvery = value(a) { Int($0).flatMap { $0 > 0 ? $0 : nil } }
    case "--train-limit": trainLimit = value(a) { Int($0).flatMap { $0 > 0 ? $0 : nil } }
    case "--data": dataDirectory = value(a) { $0 }
    case "-h", "--help": print(usage); exit(0)
    default: fail("unknown argument '\(a)'")
    }
}

let mnist: MNIST
do {
    mnist = try MNIST(directory: dataDirectory ?? bundledMNISTDirectory(), trainingLimit: trainLimit)
} catch {
    printError("logistic-regression: \(error)")
    exit(1)
}

/// X is [m, 784] (one example per row, the transpose of Ng's layout, so the product reads
/// X·w) and Y is [m, 1]: 1 where the label is `digit`, 0 elsewhere.
@MainActor func examples(_ data: ImageDataset) -> (x: Tensor, y: Tensor) {
    (data.imagesTensor(), Tensor(shape: [data.count, 1], scalars: data.labels.map { $0 == digit ? Float(1) : 0 }))
}
let (xTrain, yTrain) = examples(mnist.training)
let (xTest, yTest) = examples(mnist.test)
let m = Double(xTrain.shape[0])

// Ng initialises logistic regression with zeros: with a single unit there is no symmetry
// to break. The parameters are leaves that require gradients.
var w = Tensor.zeros([784, 1]).requiringGrad()
var b = Tensor.zeros([1]).requiringGrad()

/// The stable form of Ng's cost −(1/m)·Σ[y·log a + (1 − y)·log(1 − a)] with a = σ(z): the
/// two are equal, but softplus(z) − y·z never takes log(0) when the sigmoid saturates.
func cost(_ z: Tensor, _ y: Tensor) -> Tensor { (z.softplus() - y * z).mean() }

/// Fraction of examples where "σ(z) > 0.5", that is z > 0, agrees with the label.
@MainActor func accuracy(_ x: Tensor, _ y: Tensor) -> Double {
    withoutGradients { ((x.matmul(w) + b .> 0) .== y).mean().doubleScalar }
}

print("logistic regression: is it a \(digit)?  \(Int(m)) training images, \(xTest.shape[0]) test images")
print("α = \(learningRate), \(iterations) iterations of full-batch gradient descent")
let start = monotonicSeconds()
for i in 0..<iterations {
    let z = xTrain.matmul(w) + b          // forward: [m, 1]; b broadcasts over the rows
    let j = cost(z, yTrain)
    j.backward()                           // fills w.grad and b.grad
    if i == 0 {
        // Ng's hand-derived gradient, dw = Xᵀ(A − Y)/m, next to what autodiff computed.
        let manual = withoutGradients {
            Tensor.matmul(xTrain, z.detached().sigmoid() - yTrain, transposeA: true, transposeB: false) / m
        }
        let gap = (manual - w.grad!).abs().max().doubleScalar
        print("iteration 0: autodiff dw vs Ng's Xᵀ(A − Y)/m: max |difference| = \(gap)")
    }
    if i % printEvery == 0 || i == iterations - 1 {
        print(String(format: "iteration %5d  cost %.6f", i, j.doubleScalar))
    }
    // The update itself must not be recorded: assign new values to the same leaves, then
    // forget the gradients, which would otherwise add up across backward() calls.
    withoutGradients {
        w.assign(w - w.grad! * learningRate)
        b.assign(b - b.grad! * learningRate)
    }
    w.zeroGrad()
    b.zeroGrad()
}
let seconds = monotonicSeconds() - start

// A constant "no" already scores about 90%, so print that baseline next to the accuracy.
let baseline = 1 - yTest.mean().doubleScalar
print(String(format: "train accuracy %.2f%%   test accuracy %.2f%%   (always answering \"not a %d\": %.2f%%)",
             100 * accuracy(xTrain, yTrain), 100 * accuracy(xTest, yTest), digit, 100 * baseline))
print(String(format: "%.2f s", seconds))
