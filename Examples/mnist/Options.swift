import ExampleSupport
import Foundation

/// The command line of the trainer.
struct Options {
    var command = "train"
    var model = defaultPresetName
    var epochs: Int?
    var batchSize: Int?
    var learningRate: Double?
    var lambda: Double?
    var seed: UInt64 = 1
    var trainLimit: Int?
    var dataDirectory: String?
    var threads: Int?
    var save: String?
    var resume: String?
    var plot: String?
    var json = false
    var inputFiles: [String] = []
    var output: String?

    static let usage = """
    usage: mnist [--model NAME] [options]          train a network on MNIST
           mnist ensemble FILE…  [--data DIR]        vote over saved models (--save files)
                                                      and predictions files
           mnist predict FILE [--output FILE.txt] [--data DIR]
                                                      a saved model's digit for each test image
           mnist --list                               list the presets

    options:
      --model NAME         preset (default \(defaultPresetName)); --list shows them all
      --epochs N           epochs (default: the preset's)
      --batch-size N       mini-batch size (default: the preset's)
      --learning-rate X    η (default: the preset's)
      --lambda X           L2 regularisation λ on the weights (default: the preset's)
      --seed N             seed for initialisation, shuffling and dropout (default 1)
      --train-limit N      train on the first N training examples only
      --data DIR           folder with the four MNIST-format IDX files (raw or .gz);
                           default: the MNIST data bundled with Nabla
      --threads N          kernel threads (default: NABLA_THREADS or all cores)
      --save FILE          save the model, optimizer and progress after each epoch (safetensors)
      --resume FILE        continue the run saved in FILE
      --plot FILE.svg      where to write the loss and accuracy curves
                           (default mnist-MODEL.svg in the current folder)
      --json               one JSON object per epoch on standard output, nothing else
    """

    /// Parses the arguments, or exits with the usage text and status 2.
    static func parse(_ arguments: [String]) -> Options {
        var o = Options()
        var args = arguments[...]
        func fail(_ message: String) -> Never {
            printError("mnist: \(message)\n\n\(usage)")
            exit(2)
        }
        func value(_ flag: String) -> String {
            guard let v = args.popFirst(), !v.hasPrefix("--") else { fail("\(flag) needs a value") }
            return v
        }
        func positiveInt(_ flag: String) -> Int {
            let v = value(flag)
            guard let n = Int(v), n > 0 else { fail("\(flag) needs a positive integer, got '\(v)'") }
            return n
        }
        func nonNegativeDouble(_ flag: String) -> Double {
            let v = value(flag)
            guard let x = Double(v), x >= 0, x.isFinite else { fail("\(flag) needs a number ≥ 0, got '\(v)'") }
            return x
        }
        if let first = args.first, first == "ensemble" || first == "predict" {
            o.command = first
            args = args.dropFirst()
        }
        while let a = args.popFirst() {
            switch a {
            case "--model":
                o.model = value(a)
                guard presets.contains(where: { $0.name == o.model }) else {
                    fail("unknown model '\(o.model)'; presets: \(presets.map(\.name).joined(separator: ", "))")
                }
            case "--epochs": o.epochs = positiveInt(a)
            case "--batch-size": o.batchSize = positiveInt(a)
            case "--learning-rate": o.learningRate = nonNegativeDouble(a)
            case "--lambda": o.lambda = nonNegativeDouble(a)
            case "--seed":
                let v = value(a)
                guard let s = UInt64(v) else { fail("--seed needs a non-negative integer, got '\(v)'") }
                o.seed = s
            case "--train-limit": o.trainLimit = positiveInt(a)
            case "--data": o.dataDirectory = value(a)
            case "--threads": o.threads = positiveInt(a)
            case "--save": o.save = value(a)
            case "--resume": o.resume = value(a)
            case "--plot": o.plot = value(a)
            case "--json": o.json = true
            case "--output" where o.command == "predict": o.output = value(a)
            case "--list": o.command = "list"
            case "-h", "--help":
                print(usage)
                exit(0)
            default:
                if o.command == "ensemble" || o.command == "predict", !a.hasPrefix("-") {
                    o.inputFiles.append(a)
                } else {
                    fail("unknown argument '\(a)'")
                }
            }
        }
        if o.command == "ensemble" && o.inputFiles.count < 2 {
            fail("ensemble needs at least two saved models or predictions files")
        }
        if o.command == "predict" && o.inputFiles.count != 1 {
            fail("predict needs exactly one saved model")
        }
        return o
    }
}

