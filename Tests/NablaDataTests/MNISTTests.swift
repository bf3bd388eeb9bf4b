import Foundation
import Testing
@testable import NablaData

/// Smallest and largest value, by a plain pointer loop (fast enough in debug builds).
private func minMax<C: Collection>(_ values: C) -> (C.Element, C.Element) where C.Element: Comparable {
    values.withContiguousStorageIfAvailable { p in
        var lo = p[0], hi = p[0]
        for v in p { lo = Swift.min(lo, v); hi = Swift.max(hi, v) }
        return (lo, hi)
    }!
}

/// Writes a small fake MNIST folder; image `i` has every pixel equal to `i`, label `i % 10`.
private func writeFakeMNIST(in dir: String, train: Int = 12, test: Int = 4, height: Int = 28, width: Int = 28,
                            gzip: Bool = true, dotted: Bool = false, trainLabels: [UInt8]? = nil,
                            testHeight: Int? = nil) throws {
    func name(_ base: String) -> String {
        let n = dotted ? base.replacingOccurrences(of: "-idx", with: ".idx") : base
        return dir + "/" + n + (gzip ? ".gz" : "")
    }
    func images(_ n: Int, _ h: Int) throws -> IDXFile {
        try IDXFile(dimensions: [n, h, width], bytes: (0..<n).flatMap { i in [UInt8](repeating: UInt8(i % 256), count: h * width) })
    }
    try images(train, height).write(to: name("train-images-idx3-ubyte"), gzip: gzip)
    try IDXFile(dimensions: [trainLabels?.count ?? train], bytes: trainLabels ?? (0..<train).map { UInt8($0 % 10) })
        .write(to: name("train-labels-idx1-ubyte"), gzip: gzip)
    try images(test, testHeight ?? height).write(to: name("t10k-images-idx3-ubyte"), gzip: gzip)
    try IDXFile(dimensions: [test], bytes: (0..<test).map { UInt8($0 % 10) }).write(to: name("t10k-labels-idx1-ubyte"), gzip: gzip)
}

@Suite struct BundledMNISTTests {
    @Test func loadsWithTheKnownCounts() throws {
        let mnist = try bundledMNIST.get()
        #expect(mnist.training.count == 60_000)
        #expect(mnist.test.count == 10_000)
        #expect(mnist.validation.count == 0)
        #expect(mnist.training.height == 28 && mnist.training.width == 28)
        #expect(mnist.training.pixels.count == 60_000 * 784)
        #expect(mnist.test.pixels.count == 10_000 * 784)
        #expect(mnist.training.scale == 1.0 / 255 && mnist.test.scale == 1.0 / 255)
        #expect(mnist.training.labels[0] == 5)
        #expect(mnist.training.labels[1] == 0)
        #expect(mnist.test.labels[0] == 7)
        #expect(mnist.training.labelCounts() == [0: 5923, 1: 6742, 2: 5958, 3: 6131, 4: 5842,
                                                 5: 5421, 6: 5918, 7: 6265, 8: 5851, 9: 5949])
        #expect(mnist.test.labelCounts() == [0: 980, 1: 1135, 2: 1032, 3: 1010, 4: 982,
                                             5: 892, 6: 958, 7: 1028, 8: 974, 9: 1009])
    }

    @Test func pixelsAreScaledToTheUnitInterval() throws {
        let mnist = try bundledMNIST.get()
        // Stored as the file's bytes, which use the whole range…
        let (trainLow, trainHigh) = minMax(mnist.training.pixels)
        #expect(trainLow == 0 && trainHigh == 255)
        let (testLow, testHigh) = minMax(mnist.test.pixels)
        #expect(testLow == 0 && testHigh == 255)
        // …and read as floats in [0, 1].
        let (floatLow, floatHigh) = minMax(mnist.test.floatImages())
        #expect(floatLow == 0 && floatHigh == 1)
        // The first training image (a 5): its top row is blank, and its first ink in
        // row-major order is the byte 3 at index 152 (row 5, column 12).
        let first = Array(mnist.training.image(at: 0))
        #expect(first[0..<28].allSatisfy { $0 == 0 })
        let firstInk = try #require(first.firstIndex { $0 != 0 })
        #expect(firstInk == 152)
        #expect(first[firstInk] == Float(3) / 255)
        #expect(mnist.training.imageBytes(at: 0)[152] == 3)
    }

    @Test func nielsenSplitTakesValidationFromTheEndOfTraining() throws {
        let full = try bundledMNIST.get()
        let mnist = try MNIST(directory: bundledMNISTDirectory, split: .nielsen, trainingLimit: 1000)
        #expect(mnist.training.count == 1000)
        #expect(mnist.validation.count == 10_000)
        #expect(mnist.test.count == 10_000)
        #expect(mnist.training.labels == Array(full.training.labels[0..<1000]))
        #expect(mnist.validation.labels == Array(full.training.labels[50_000...]))
        #expect(mnist.validation.image(at: 0) == full.training.image(at: 50_000))
        #expect(mnist.validation.imageBytes(at: 9_999) == full.training.imageBytes(at: 59_999))
        #expect(mnist.validation.pixels.count == 10_000 * 784)
        // A limit that leaves most of the file unused copies what it keeps, so the file can go.
        #expect(mnist.training.pixels.startIndex == 0 && mnist.training.pixels.count == 1000 * 784)
        #expect(mnist.validation.pixels.startIndex == 0)
        #expect(mnist.test.labels == full.test.labels)
    }
}

@Suite struct MNISTFolderTests {
    @Test func splitsAndTrainingLimitOnAFakeFolder() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeFakeMNIST(in: dir, train: 10_003, test: 5)
        let standard = try MNIST(directory: dir)
        #expect(standard.training.count == 10_003 && standard.validation.count == 0 && standard.test.count == 5)
        let nielsen = try MNIST(directory: dir, split: .nielsen)
        #expect(nielsen.training.count == 3 && nielsen.validation.count == 10_000)
        #expect(nielsen.validation.labels[0] == 3)
        // Without a limit both views share the file's buffer: validation starts after training.
        #expect(nielsen.validation.pixels.startIndex == 3 * 784)
        #expect(nielsen.training.pixels.startIndex == 0 && nielsen.training.pixels.count == 3 * 784)
        #expect(nielsen.validation.image(at: 0).allSatisfy { $0 == Float(3) / 255 })
        let limited = try MNIST(directory: dir, trainingLimit: 7)
        #expect(limited.training.count == 7)
        #expect(limited.training.labels == [0, 1, 2, 3, 4, 5, 6])
        #expect(limited.training.image(at: 6).allSatisfy { $0 == Float(6) / 255 })
        #expect(try MNIST(directory: dir, trainingLimit: 1_000_000).training.count == 10_003)
    }

    @Test(arguments: [(false, false), (false, true), (true, true)])
    func acceptsRawAndDottedFileNames(gzip: Bool, dotted: Bool) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeFakeMNIST(in: dir, train: 3, test: 2, gzip: gzip, dotted: dotted)
        let mnist = try MNIST(directory: dir)
        #expect(mnist.training.labels == [0, 1, 2])
        #expect(mnist.test.image(at: 1).allSatisfy { $0 == Float(1) / 255 })
    }

    @Test func acceptsOtherImageSizesAndReportsThem() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeFakeMNIST(in: dir, train: 2, test: 1, height: 5, width: 3)
        let mnist = try MNIST(directory: dir)
        #expect(mnist.training.height == 5 && mnist.training.width == 3)
        #expect(mnist.training.description == "ImageDataset(2 images of 5×3, 2 classes)")
    }

    @Test func missingFolder() {
        let message = thrownMessage { try MNIST(directory: "/no/such/mnist") }
        #expect(message == "/no/such/mnist: no such directory (expected the MNIST files here)")
    }

    @Test func missingFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeFakeMNIST(in: dir, train: 2, test: 1)
        try FileManager.default.removeItem(atPath: dir + "/t10k-labels-idx1-ubyte.gz")
        let message = thrownMessage { try MNIST(directory: dir) }
        #expect(message == "\(dir)/t10k-labels-idx1-ubyte.gz: no such file (also looked for t10k-labels-idx1-ubyte, t10k-labels.idx1-ubyte.gz, t10k-labels.idx1-ubyte)")
    }

    @Test func imageLabelCountMismatch() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeFakeMNIST(in: dir, train: 3, test: 1, trainLabels: [1, 2])
        #expect(thrownMessage { try MNIST(directory: dir) } == "train-images-idx3-ubyte.gz: 3 images but train-labels-idx1-ubyte.gz has 2 labels")
    }

    @Test func labelOutOfRange() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeFakeMNIST(in: dir, train: 3, test: 1, trainLabels: [1, 12, 2])
        #expect(thrownMessage { try MNIST(directory: dir) } == "train-labels-idx1-ubyte.gz: label 12 at index 1 is outside 0…9")
    }

    @Test func testImagesOfAnotherSize() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeFakeMNIST(in: dir, train: 2, test: 1, testHeight: 27)
        #expect(thrownMessage { try MNIST(directory: dir) } == "t10k-images-idx3-ubyte.gz: test images are 27×28 but training images are 28×28")
    }

    @Test func swappedImageAndLabelFiles() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeFakeMNIST(in: dir, train: 2, test: 1)
        let fm = FileManager.default
        try fm.moveItem(atPath: dir + "/train-images-idx3-ubyte.gz", toPath: dir + "/tmp.gz")
        try fm.moveItem(atPath: dir + "/train-labels-idx1-ubyte.gz", toPath: dir + "/train-images-idx3-ubyte.gz")
        try fm.moveItem(atPath: dir + "/tmp.gz", toPath: dir + "/train-labels-idx1-ubyte.gz")
        let message = thrownMessage { try MNIST(directory: dir) }
        #expect(message == "train-labels-idx1-ubyte.gz: expected a label file (unsigned bytes, 1 dimension), found uint8 with dimensions 2×28×28")
    }

    @Test func loadsASinglePair() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeFakeMNIST(in: dir, train: 4, test: 3)
        let test = try MNIST.load(imagesAt: dir + "/t10k-images-idx3-ubyte.gz", labelsAt: dir + "/t10k-labels-idx1-ubyte.gz")
        #expect(test.count == 3 && test.labels == [0, 1, 2])
    }
}
