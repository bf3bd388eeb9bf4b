import ExampleSupport
import Foundation
import Nabla
import NablaData
import NablaNN

/// Metadata keys of a saved run (besides the optimizer's own).
private enum Key {
    static let preset = "mnist.model", epoch = "mnist.epoch", shuffler = "mnist.shuffler"
    static let history = "mnist.history", seed = "mnist.seed", best = "mnist.bestEpoch"
    static let dropoutPrefix = "mnist.dropout."
}

func runTraining(_ o: Options) {
    let preset = presets.first { $0.name == o.model }!
    let epochs = o.epochs ?? preset.epochs
    let batchSize = o.batchSize ?? preset.batchSize
    let learningRate = o.learningRate ?? preset.learningRate
    let lambda = o.lambda ?? preset.lambda
    let human = !o.json

    let loadStart = monotonicSeconds()
    let mnist = loadData(o, split: .nielsen)
    let training = preset.expanded ? mnist.training.expandedByOnePixelShifts() : mnist.training
    if human {
        print("\(preset.name): \(preset.summary)")
        print(String(format: "data: %d training%@, %d validation, %d test images (%.1f s to load)",
                     training.count, preset.expanded ? " (×5 expanded)" : "", mnist.validation.count,
                     mnist.test.count, monotonicSeconds() - loadStart))
        print("epochs \(epochs), mini-batch \(batchSize), η \(learningRate)\(lambda > 0 ? ", λ \(lambda)" : ""), seed \(o.seed), threads \(Threading.threadCount)")
    }

    var generator = RandomGenerator(seed: o.seed)
    let model = preset.build(&generator)
    let optimizer: any Optimizer
    switch preset.optimizer {
    case .sgd:
        let decay = Preset(copying: preset, lambda: lambda).weightDecay(trainingSetSize: training.count, batchSize: batchSize)
        optimizer = SGD(groups: ParameterGroup.weightsAndBiases(model.namedParameters(), weightDecay: decay),
                        learningRate: learningRate)
    case .adam:
        optimizer = Adam(parameters: model.trainableParameters(), learningRate: learningRate)
    }
    let trainer = Trainer(model: model, optimizer: optimizer, cost: preset.cost, batchSize: batchSize,
                          layout: preset.layout, seed: o.seed &+ 0x5F)
    var records: [EpochRecord] = []
    var best: (epoch: Int, validation: Double, parameters: [Tensor])? = nil
    var firstEpoch = 1

    if let path = o.resume {
        do {
            let metadata = try Checkpoint.load(into: model, optimizer: optimizer, from: URL(fileURLWithPath: path))
            guard metadata[Key.preset] == preset.name else {
                printError("mnist: \(path) holds a '\(metadata[Key.preset] ?? "?")' run, not '\(preset.name)': pass --model \(metadata[Key.preset] ?? "?")")
                exit(1)
            }
            firstEpoch = (Int(metadata[Key.epoch] ?? "") ?? 0) + 1
            if let s = metadata[Key.shuffler] { trainer.shuffler.state = words(s) }
            for (name, module) in model.namedModules() {
                if let d = module as? Dropout, let s = metadata[Key.dropoutPrefix + name] { d.generatorState = words(s) }
            }
            records = decodeHistory(metadata[Key.history] ?? "")
            if let b = records.max(by: { ($0.validationAccuracy ?? 0) < ($1.validationAccuracy ?? 0) }) {
                best = (b.epoch, b.validationAccuracy ?? 0, model.parameters().map(\.value))
            }
            if human { print("resumed \(path) after epoch \(firstEpoch - 1)") }
        } catch {
            printError("mnist: cannot resume: \(error)")
            exit(1)
        }
    }
    if human { print() }

    let showProgress = human && isatty(STDERR_FILENO) != 0
    for epoch in firstEpoch...max(firstEpoch, epochs) where epoch <= epochs {
        if showProgress {
            trainer.onProgress = { done, total, loss, rate in
                progressBar(epoch: epoch, of: epochs, done: done, total: total, loss: loss, rate: rate)
            }
        }
        let stats = trainer.trainEpoch(on: training)
        if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let validation = mnist.validation.count > 0 ? trainer.accuracy(on: mnist.validation) : nil
        let test = trainer.accuracy(on: mnist.test)
        let record = EpochRecord(epoch: epoch, trainLoss: stats.loss, trainAccuracy: stats.accuracy,
                                 validationAccuracy: validation, testAccuracy: test, seconds: stats.seconds)
        records.append(record)
        if (validation ?? test) > (best?.validation ?? -1) {
            best = (epoch, validation ?? test, model.parameters().map(\.value))
        }
        if o.json {
            var object: [String: Any] = ["epoch": epoch, "train_loss": stats.loss, "train_accuracy": stats.accuracy,
                                         "test_accuracy": test, "seconds": (stats.seconds * 1000).rounded() / 1000]
            if let validation { object["validation_accuracy"] = validation }
            print(jsonLine(object))
        } else {
            print(epochLine(record, of: epochs))
        }
        fflush(nil)
        if let path = o.save {
            var metadata = [Key.preset: preset.name, Key.epoch: String(epoch), Key.seed: String(o.seed),
                            Key.shuffler: trainer.shuffler.state.map(String.init).joined(separator: ","),
                            Key.history: encodeHistory(records)]
            for (name, module) in model.namedModules() {
                if let d = module as? Dropout { metadata[Key.dropoutPrefix + name] = d.generatorState.map(String.init).joined(separator: ",") }
            }
            do {
                try Checkpoint.save(model, optimizer: optimizer, metadata: metadata, to: URL(fileURLWithPath: path))
            } catch {
                printError("mnist: cannot save: \(error)")
                exit(1)
            }
        }
    }
    guard human, let best, let last = records.last else { return }

    // The book reports the test accuracy at the epoch of best validation accuracy.
    let bestRecord = records.first { $0.epoch == best.epoch }!
    print()
    print(String(format: "best validation accuracy %.2f%% at epoch %d: test accuracy %.2f%%",
                 100 * best.validation, best.epoch, 100 * bestRecord.testAccuracy)
          + (preset.bookAccuracy.map { " (book: \($0))" } ?? ""))
    print(String(format: "training time %.1f s (%.1f s per epoch)", records.map(\.seconds).reduce(0, +),
                 records.map(\.seconds).reduce(0, +) / Double(records.count)))
    // The confusion matrix of the model as it was at its best epoch.
    for (p, value) in zip(model.parameters(), best.parameters) { p.update(value) }
    print()
    print(confusionMatrix(predicted: trainer.predictions(on: mnist.test), labels: mnist.test.labels))
    let plotPath = o.plot ?? "mnist-\(preset.name).svg"
    do {
        try plotSVG(records, title: "mnist \(preset.name): test \(String(format: "%.2f", 100 * last.testAccuracy))% after \(records.count) epochs")
            .write(toFile: plotPath, atomically: true, encoding: .utf8)
        print("\nplot of the loss and accuracy curves: \(URL(fileURLWithPath: plotPath).path)")
    } catch {
        printError("mnist: cannot write the plot to \(plotPath): \(error.localizedDescription)")
    }
}

/// Majority vote on the test set (Nielsen's ensemble of ch. 6) over saved models and
/// predictions files (`mnist predict`), ties going to the smaller digit.
func runEnsemble(_ o: Options) {
    let mnist = loadData(o, split: .nielsen)
    var all: [[Int]] = []
    for path in o.inputFiles {
        let predicted: [Int], name: String
        do {
            if try isSafeTensorsFile(path) {
                let (model, preset, _) = try loadSavedModel(path)
                (predicted, name) = (predict(model, mnist.test, layout: preset.layout), preset.name)
            } else {
                let text = try String(contentsOfFile: path, encoding: .utf8)
                predicted = try PredictionsFile.parse(text, path: path, count: mnist.test.count, classes: 10)
                name = "predictions"
            }
        } catch let error as PredictionsFile.FormatError {
            printError("mnist: \(error)")  // it names the file
            exit(1)
        } catch {
            printError("mnist: \(path): \(error)")
            exit(1)
        }
        print(String(format: "%@ (%@): test accuracy %.2f%%", path, name, 100 * accuracy(predicted, mnist.test.labels)))
        all.append(predicted)
    }
    let voted = majorityVote(all, classes: 10)
    print(String(format: "ensemble of %d models: test accuracy %.2f%% (book, 5 conv2-dropout nets: 99.67 %%)",
                 all.count, 100 * accuracy(voted, mnist.test.labels)))
}

/// Writes a saved model's predicted digit for each test image (`mnist predict`), to the
/// `--output` file (replaced atomically) or to standard output.
func runPredict(_ o: Options) {
    let mnist = loadData(o, split: .nielsen)
    let path = o.inputFiles[0]
    do {
        let (model, preset, metadata) = try loadSavedModel(path)
        let predicted = predict(model, mnist.test, layout: preset.layout)
        let comments = [
            "mnist predictions of \(path): model \(preset.name), epoch \(metadata[Key.epoch] ?? "?"), seed \(metadata[Key.seed] ?? "?")",
            String(format: "test accuracy %.2f %% on %d images of %@", 100 * accuracy(predicted, mnist.test.labels),
                   mnist.test.count, o.dataDirectory ?? "the bundled MNIST data"),
        ]
        let text = PredictionsFile.text(predicted, comments: comments)
        if let output = o.output {
            try text.write(toFile: output, atomically: true, encoding: .utf8)
            printError(comments[1] + "; written to \(output)")
        } else {
            print(text, terminator: "")
        }
    } catch {
        printError("mnist: \(path): \(error)")
        exit(1)
    }
}

/// The model saved by `mnist --save` in `path`, its preset and the file's metadata.
private func loadSavedModel(_ path: String) throws -> (any Module, Preset, [String: String]) {
    let url = URL(fileURLWithPath: path)
    let metadata = try SafeTensors.read(from: url).metadata
    guard let name = metadata[Key.preset], let preset = presets.first(where: { $0.name == name }) else {
        throw SavedModelError(description: "not saved by `mnist --save` (no known model name in its metadata)")
    }
    var g = RandomGenerator(seed: 0)
    let model = preset.build(&g)
    try Checkpoint.load(into: model, from: url, strict: false)
    return (model, preset, metadata)
}

private struct SavedModelError: Error, CustomStringConvertible { let description: String }

/// True if `path` looks like a safetensors file (an 8-byte header length, then `{`);
/// anything else is read as a predictions file.
private func isSafeTensorsFile(_ path: String) throws -> Bool {
    guard let handle = FileHandle(forReadingAtPath: path) else {
        throw SavedModelError(description: "cannot open it (no such file, or not readable)")
    }
    defer { try? handle.close() }
    let head = try handle.read(upToCount: 9) ?? Data()
    return head.count == 9 && head[head.startIndex + 8] == UInt8(ascii: "{")
}

private func accuracy(_ predicted: [Int], _ labels: [Int]) -> Double {
    Double(zip(predicted, labels).filter { $0 == $1 }.count) / Double(max(labels.count, 1))
}

/// Redraws the one-line progress bar on standard error.
func progressBar(epoch: Int, of epochs: Int, done: Int, total: Int, loss: Double, rate: Double) {
    let width = 30
    let filled = total == 0 ? width : width * done / total
    let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
    let line = String(format: "\repoch %d/%d [%@] %d/%d  %.0f ex/s  loss %.4f", epoch, epochs, bar, done, total, rate, loss)
    FileHandle.standardError.write(Data(line.utf8))
}

private func words(_ s: String) -> [UInt64] { s.split(separator: ",").compactMap { UInt64($0) } }

/// Epoch records as "epoch:loss:train:validation:test:seconds;…" (exact decimal round trips).
private func encodeHistory(_ records: [EpochRecord]) -> String {
    records.map { r in
        [String(r.epoch), "\(r.trainLoss)", "\(r.trainAccuracy)", r.validationAccuracy.map { "\($0)" } ?? "",
         "\(r.testAccuracy)", "\(r.seconds)"].joined(separator: ":")
    }.joined(separator: ";")
}

private func decodeHistory(_ s: String) -> [EpochRecord] {
    s.split(separator: ";").compactMap { item in
        let f = item.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 6, let e = Int(f[0]), let l = Double(f[1]), let tr = Double(f[2]),
              let te = Double(f[4]), let sec = Double(f[5]) else { return nil }
        return EpochRecord(epoch: e, trainLoss: l, trainAccuracy: tr, validationAccuracy: Double(f[3]),
                           testAccuracy: te, seconds: sec)
    }
}

extension Preset {
    /// The preset with another λ (from --lambda).
    init(copying p: Preset, lambda: Double) {
        self.init(name: p.name, summary: p.summary, bookAccuracy: p.bookAccuracy, epochs: p.epochs,
                  batchSize: p.batchSize, learningRate: p.learningRate, lambda: lambda, lambdaForm: p.lambdaForm,
                  cost: p.cost, layout: p.layout, expanded: p.expanded, optimizer: p.optimizer, build: p.build)
    }
}
