// mnist: trains a network on MNIST with one of the experiments of Michael Nielsen's "Neural
// Networks and Deep Learning" (or a modern default), showing progress, per-epoch accuracies,
// a confusion matrix and an SVG plot of the curves.
//
//   swift run -c release mnist                      # the default preset, about a minute
//   swift run -c release mnist --model network1     # the book's chapter 1 network
//   swift run -c release mnist --list               # all presets
import ExampleSupport
import Foundation
import Nabla
import NablaData
import NablaNN

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
if let t = options.threads { Threading.threadCount = t }

switch options.command {
case "list":
    for p in presets {
        let book = p.bookAccuracy.map { " (book: \($0))" } ?? ""
        print("\(p.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(p.summary)\(book)")
    }
case "ensemble":
    runEnsemble(options)
case "predict":
    runPredict(options)
default:
    runTraining(options)
}

/// Loads MNIST or exits with a one-line error naming the file and the problem.
func loadData(_ options: Options, split: MNIST.Split) -> MNIST {
    let directory = options.dataDirectory ?? bundledMNISTDirectory()
    do {
        return try MNIST(directory: directory, split: split, trainingLimit: options.trainLimit)
    } catch {
        printError("mnist: \(error)")
        exit(1)
    }
}
