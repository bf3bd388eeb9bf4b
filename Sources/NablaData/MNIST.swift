import Foundation

/// The MNIST handwritten digits (or anything in the same four-file IDX layout, such as
/// Fashion-MNIST): training, validation and test sets. Pixels stay the files' bytes in
/// memory and become values in [0, 1] (byte / 255) when batches are gathered.
///
/// ```swift
/// let mnist = try MNIST(directory: "Examples/Data/mnist", split: .nielsen)
/// for batch in mnist.training.batches(size: 10, shuffledBy: &rng) { … }
/// ```
public struct MNIST: Sendable {
    /// How the 60,000 training images are divided between training and validation.
    public enum Split: String, Sendable, CaseIterable {
        /// All 60,000 for training; validation is empty. The test set is the 10,000 test images.
        case standard
        /// Michael Nielsen's split: the first 50,000 for training, the last 10,000 for
        /// validation (all of them, if there are no more than 10,000); the test set is the
        /// 10,000 test images.
        case nielsen
    }

    /// The training examples.
    public var training: ImageDataset
    /// The validation examples (empty with `.standard`).
    public var validation: ImageDataset
    /// The test examples.
    public var test: ImageDataset

    /// The four standard file names, without `.gz`.
    public static let fileNames = (trainingImages: "train-images-idx3-ubyte",
                                   trainingLabels: "train-labels-idx1-ubyte",
                                   testImages: "t10k-images-idx3-ubyte",
                                   testLabels: "t10k-labels-idx1-ubyte")

    /// Loads the four MNIST files from `directory`.
    ///
    /// Each file may be gzip'd (`train-images-idx3-ubyte.gz`), raw (`train-images-idx3-ubyte`),
    /// or use the dotted variant of the name (`train-images.idx3-ubyte`, with or without `.gz`).
    /// - Parameters:
    ///   - split: how the training images divide into training and validation.
    ///   - trainingLimit: keep only the first `trainingLimit` training examples (after the split).
    /// - Throws: `DataError` naming the folder or file that is missing or bad, including
    ///   image/label count mismatches, labels outside 0…9, or test images of another size.
    public init(directory: String, split: Split = .standard, trainingLimit: Int? = nil) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw DataError(path: directory, reason: "no such directory (expected the MNIST files here)", showsFullPath: true)
        }
        guard isDirectory.boolValue else {
            throw DataError(path: directory, reason: "is a file, not a directory of MNIST files", showsFullPath: true)
        }
        let names = Self.fileNames
        let paths = try [names.trainingImages, names.trainingLabels, names.testImages, names.testLabels]
            .map { try Self.locate($0, in: directory) }

        // Decompressing the two image files is most of the work: do them on both cores.
        let results = ResultBox(count: 4)
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            results.set(i, Result { try IDXFile(contentsOf: paths[i]) })
        }
        let idx = try results.values.map { try $0!.get() }

        let trainLabels = try Self.labels(idx[1], path: paths[1])
        let testLabels = try Self.labels(idx[3], path: paths[3])
        let (trainH, trainW) = try Self.imageSize(idx[0], path: paths[0], labelCount: trainLabels.count, labelPath: paths[1])
        let (testH, testW) = try Self.imageSize(idx[2], path: paths[2], labelCount: testLabels.count, labelPath: paths[3])
        guard (testH, testW) == (trainH, trainW) else {
            throw DataError(path: paths[2], reason: "test images are \(testH)×\(testW) but training images are \(trainH)×\(trainW)")
        }

        var trainingRange = 0 ..< trainLabels.count
        var validationRange = trainLabels.count ..< trainLabels.count
        if split == .nielsen {
            let cut = max(trainLabels.count - 10_000, 0)
            trainingRange = 0 ..< cut
            validationRange = cut ..< trainLabels.count
        }
        if let limit = trainingLimit {
            trainingRange = 0 ..< min(max(limit, 0), trainingRange.count)
        }
        // Training and validation view the file's buffer, unless a training limit leaves most
        // of it unused: then copying the few examples kept lets the rest be freed.
        let compact = (trainingRange.count + validationRange.count) * 2 < trainLabels.count
        training = Self.dataset(idx[0].data, labels: trainLabels, range: trainingRange, height: trainH, width: trainW,
                                copying: compact)
        validation = Self.dataset(idx[0].data, labels: trainLabels, range: validationRange, height: trainH, width: trainW,
                                  copying: compact)
        test = Self.dataset(idx[2].data, labels: testLabels, range: 0 ..< testLabels.count, height: testH, width: testW)
    }

    /// Loads one pair of image and label files (e.g. only the test set) as a dataset whose
    /// bytes become values in [0, 1] when gathered.
    /// - Throws: `DataError` naming the file that is missing or bad.
    public static func load(imagesAt imagesPath: String, labelsAt labelsPath: String) throws -> ImageDataset {
        let imageFile = try IDXFile(contentsOf: imagesPath)
        let labels = try Self.labels(try IDXFile(contentsOf: labelsPath), path: labelsPath)
        let (h, w) = try imageSize(imageFile, path: imagesPath, labelCount: labels.count, labelPath: labelsPath)
        return dataset(imageFile.data, labels: labels, range: 0 ..< labels.count, height: h, width: w)
    }

    // MARK: Helpers

    /// Finds `base` in `directory` as `base.gz`, `base`, or the dotted variant of either.
    static func locate(_ base: String, in directory: String) throws -> String {
        // "train-images-idx3-ubyte" → "train-images.idx3-ubyte"
        var dotted = base
        if let r = base.range(of: "-idx") { dotted.replaceSubrange(r, with: ".idx") }
        let candidates = [base + ".gz", base, dotted + ".gz", dotted]
        let fm = FileManager.default
        for name in candidates {
            let path = (directory as NSString).appendingPathComponent(name)
            if fm.fileExists(atPath: path) { return path }
        }
        let first = (directory as NSString).appendingPathComponent(candidates[0])
        throw DataError(path: first, reason: "no such file (also looked for \(candidates.dropFirst().joined(separator: ", ")))",
                        showsFullPath: true)
    }

    static func labels(_ file: IDXFile, path: String) throws -> [Int] {
        guard file.dataType == .uint8, file.dimensions.count == 1 else {
            throw DataError(path: path, reason: "expected a label file (unsigned bytes, 1 dimension), found \(file.dataType) with dimensions \(formatShape(file.dimensions))")
        }
        let labels = file.data.map(Int.init)
        if let bad = labels.firstIndex(where: { $0 > 9 }) {
            throw DataError(path: path, reason: "label \(labels[bad]) at index \(bad) is outside 0…9")
        }
        return labels
    }

    static func imageSize(_ file: IDXFile, path: String, labelCount: Int, labelPath: String) throws -> (Int, Int) {
        guard file.dataType == .uint8, file.dimensions.count == 3 else {
            throw DataError(path: path, reason: "expected an image file (unsigned bytes, 3 dimensions N×H×W), found \(file.dataType) with dimensions \(formatShape(file.dimensions))")
        }
        guard file.dimensions[0] == labelCount else {
            throw DataError(path: path, reason: "\(file.dimensions[0]) images but \((labelPath as NSString).lastPathComponent) has \(labelCount) labels")
        }
        return (file.dimensions[1], file.dimensions[2])
    }

    /// Images `range` as a dataset of the file's bytes (scale 1/255): a view sharing the one
    /// decompressed buffer (training and validation then cost nothing), or with `copying`, a
    /// compact copy of just those images.
    static func dataset(_ pixels: [UInt8], labels: [Int], range: Range<Int>, height: Int, width: Int,
                        copying: Bool = false) -> ImageDataset {
        let size = height * width
        let view = pixels[range.lowerBound * size ..< range.upperBound * size]
        return ImageDataset(pixels: copying ? ArraySlice(Array(view)) : view,
                            labels: Array(labels[range]), height: height, width: width)
    }
}

/// Results filled in from concurrent work, guarded by a lock.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Result<IDXFile, Error>?]
    init(count: Int) { results = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<IDXFile, Error>) { lock.withLock { results[i] = r } }
    var values: [Result<IDXFile, Error>?] { lock.withLock { results } }
}
