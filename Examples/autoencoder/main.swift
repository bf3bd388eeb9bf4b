// autoencoder: squeezes each 784-pixel MNIST digit through 64 hidden units and back
// (784-64-784, sigmoid output), trained with Adam to reproduce its own input. Prints the
// reconstruction error on the test set after each epoch and writes a picture: ten test
// digits on the top row, their reconstructions below.
//
//   swift run -c release autoencoder                    # 5 epochs on 60,000 images
//   swift run -c release autoencoder --hidden sigmoid --epochs 10 --output ae.pgm
import ExampleSupport
import Foundation
import Nabla
import NablaData
import NablaNN

let usage = """
usage: autoencoder [options]

  --epochs N           passes over the training images (default 5)
  --train-limit N      train on the first N training images only
  --batch-size N       images per Adam step (default 64)
  --learning-rate X    Adam's step size (default 0.002)
  --hidden relu|sigmoid  the hidden layer's activation (default relu)
  --seed N             seed for the weights and the shuffling (default 1)
  --output FILE.pgm    where to write the inputs-over-reconstructions image
                       (default autoencoder.pgm in the current folder)
  --data DIR           folder with the four MNIST IDX files (default: the bundled MNIST)
"""

/// Stops with the problem and the usage text, status 2 (a bad command line).
func fail(_ message: String) -> Never {
    printError("autoencoder: \(message)\n\n\(usage)")
    exit(2)
}

var epochs = 5, batchSize = 64
var trainLimit: Int?
var learningRate = 0.002
var sigmoidHidden = false
var seed: UInt64 = 1
var output = "autoencoder.pgm"
var dataDirectory: String?
var args = CommandLine.arguments.dropFirst()
/// The value after a flag, parsed by `parse`, or a usage error.
@MainActor func value<T>(_ flag: String, _ parse: (String) -> T?) -> T {
    guard let text = args.popFirst() else { fail("\(flag) needs a value") }
    guard let v = parse(text) else { fail("invalid value '\(text)' for \(flag)") }
    return v
}
let positive = { (s: String) in Int(s).flatMap { $0 > 0 ? $0 : nil } }
while let a = args.popFirst() {
    switch a {
    case "--epochs": epochs = value(a, positive)
    case "--train-limit": trainLimit = value(a, positive)
    case "--batch-size": batchSize = value(a, positive)
    case "--learning-rate": learningRate = value(a) { Double($0).flatMap { $0 > 0 && $0.isFinite ? $0 : nil } }
    case "--hidden": sigmoidHidden = value(a) { ["relu": false, "sigmoid": true][$0] }
    case "--seed": seed = value(a) { UInt64($0) }
    case "--output": output = value(a) { $0 }
    case "--data": dataDirectory = value(a) { $0 }
    case "-h", "--help": print(usage); exit(0)
    default: fail("unknown argument '\(a)'")
    }
}

let mnist: MNIST
do {
    mnist = try MNIST(directory: dataDirectory ?? bundledMNISTDirectory(), trainingLimit: trainLimit)
} catch {
    printError("autoencoder: \(error)")
    exit(1)
}

/// Encoder and decoder as two Dense layers; the module returns logits, so that training can
/// use the stable cross-entropy-from-logits and the sigmoid is applied only to look.
final class Autoencoder: Module {
    let encoder: Dense
    let decoder: Dense
    let sigmoidHidden: Bool
    init(sigmoidHidden: Bool, using g: inout RandomGenerator) {
        encoder = Dense(784, 64, using: &g)
        decoder = Dense(64, 784, using: &g)
        self.sigmoidHidden = sigmoidHidden
    }
    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = encoder(x)
        return decoder(sigmoidHidden ? h.sigmoid() : h.relu())
    }
}

var generator = RandomGenerator(seed: seed)
let model = Autoencoder(sigmoidHidden: sigmoidHidden, using: &generator)
let adam = Adam(parameters: model.trainableParameters(), learningRate: learningRate)
let testImages = mnist.test.imagesTensor()

/// Mean squared error per pixel between the test images and their reconstructions.
@MainActor func testError() -> Double {
    withoutGradients { (model(testImages).sigmoid() - testImages).square().mean().doubleScalar }
}

// A yardstick: the error of "reconstructing" every digit as the average training digit.
let meanImage = mnist.training.imagesTensor().mean(axis: 0)
print("autoencoder 784-64-784 (\(sigmoidHidden ? "sigmoid" : "relu") hidden, sigmoid output), Adam η = \(learningRate)")
print(String(format: "%d training images; test MSE per pixel of the mean digit: %.5f", mnist.training.count,
             (testImages - meanImage).square().mean().doubleScalar))
let start = monotonicSeconds()
for epoch in 1...epochs {
    var lossSum = 0.0
    let batches = mnist.training.batches(size: batchSize, shuffledBy: &generator)
    for batch in batches {
        let x = batch.imagesTensor
        // Pixels in [0, 1] act as the targets of a per-pixel sigmoid cross-entropy: it
        // trains faster than squared error, whose gradient vanishes where the sigmoid saturates.
        let loss = binaryCrossEntropy(logits: model(x), targets: x)
        adam.zeroGrad()
        loss.backward()
        adam.step()
        lossSum += loss.doubleScalar
    }
    print(String(format: "epoch %d  train cross-entropy %.4f  test MSE per pixel %.5f  (%.1f s)",
                 epoch, lossSum / Double(batches.count), testError(), monotonicSeconds() - start))
}

/// The first ten test digits (top) over their reconstructions (bottom), each pixel drawn
/// as a 3×3 block, as a binary PGM: a tiny header, then one byte per pixel.
@MainActor func pgmImage() -> [UInt8] {
    let scale = 3, side = 28 * scale, gap = 4
    let width = 10 * side + 11 * gap, height = 2 * side + 3 * gap
    let inputs = (0..<10).flatMap { mnist.test.image(at: $0) }
    let outputs = withoutGradients { model(testImages[0 ..< 10]).sigmoid().scalars }
    var pixels = [UInt8](repeating: 128, count: width * height)   // grey frame between digits
    for (row, source) in [inputs, outputs].enumerated() {
        for digit in 0..<10 {
            let left = gap + digit * (side + gap), top = gap + row * (side + gap)
            for y in 0..<side {
                for x in 0..<side {
                    let v = source[digit * 784 + (y / scale) * 28 + x / scale]
                    pixels[(top + y) * width + left + x] = UInt8(max(0, min(255, (v * 255).rounded())))
                }
            }
        }
    }
    return Array("P5\n\(width) \(height)\n255\n".utf8) + pixels
}
do {
    try Data(pgmImage()).write(to: URL(fileURLWithPath: output), options: .atomic)
    print("wrote \(output) (top: 10 test digits, bottom: their reconstructions)")
} catch {
    printError("autoencoder: cannot write \(output): \(error.localizedDescription)")
    exit(1)
}
