import Nabla
import Testing
@testable import NablaData

/// `n` (≤ 256) images of `height × width`; every pixel of image `i` is the byte `i`, worth
/// `Float(i)` (scale 1); its label is `i % 10`.
func numberedDataset(_ n: Int, height: Int = 2, width: Int = 3) -> ImageDataset {
    ImageDataset(pixels: (0..<n).flatMap { i in [UInt8](repeating: UInt8(i), count: height * width) },
                 labels: (0..<n).map { $0 % 10 }, height: height, width: width, scale: 1)
}

/// Two 2×3 images whose bytes are 0…11, worth their byte values (scale 1).
private func twelvePixels() -> ImageDataset {
    ImageDataset(pixels: (0..<12).map(UInt8.init), labels: [3, 1], height: 2, width: 3, scale: 1)
}

/// Which example each image of a batch came from (numbered datasets only).
private func exampleIndices(_ batch: Batch) -> [Int] {
    let size = batch.height * batch.width
    return (0..<batch.count).map { k in
        let row = batch.images[k * size ..< (k + 1) * size]
        #expect(row.allSatisfy { $0 == row.first! }, "image \(k) of the batch is not one whole example")
        return Int(row.first!)
    }
}

@Suite struct RandomTests {
    @Test func xoshiroMatchesTheReferenceSequence() {
        var g = RandomGenerator(state: [1, 2, 3, 4])
        #expect([g.next(), g.next(), g.next(), g.next()] == [11520, 0, 1509978240, 1215971899390074240])
    }

    @Test func permutationsArePinnedPerSeed() {
        var g = RandomGenerator(seed: 42)
        let order = randomPermutation(count: 10, using: &g)
        #expect(order.sorted() == Array(0..<10))
        // Pinned so that a change of algorithm (which would change every user's shuffles) is noticed.
        #expect(order == [9, 1, 4, 2, 8, 7, 6, 5, 3, 0])   // also computed by an independent Python model
    }

    @Test func uniformIndexStaysInRange() {
        var g = RandomGenerator(seed: 7)
        var seen = Set<Int>()
        for _ in 0..<1000 {
            let v = g.uniformIndex(below: 7)
            #expect(v >= 0 && v < 7)
            seen.insert(v)
        }
        #expect(seen.count == 7)
    }
}

@Suite struct BatchingTests {
    @Test func shufflingIsDeterministicPerSeedAndAPermutation() {
        let data = numberedDataset(100)
        let a = data.batches(size: 10, seed: 1).order
        let b = data.batches(size: 10, seed: 1).order
        let c = data.batches(size: 10, seed: 2).order
        #expect(a == b)
        #expect(a != c)
        #expect(a.sorted() == Array(0..<100))
        #expect(c.sorted() == Array(0..<100))
        #expect(a != Array(0..<100))
    }

    @Test func aSharedGeneratorGivesANewOrderEachEpoch() {
        let data = numberedDataset(50)
        var g1 = RandomGenerator(seed: 9)
        let epoch1 = data.batches(size: 8, shuffledBy: &g1).order
        let epoch2 = data.batches(size: 8, shuffledBy: &g1).order
        #expect(epoch1 != epoch2)
        var g2 = RandomGenerator(seed: 9)
        #expect(data.batches(size: 8, shuffledBy: &g2).order == epoch1)
        #expect(data.batches(size: 8, shuffledBy: &g2).order == epoch2)
    }

    @Test func batchesCoverEveryExampleOncePerEpoch() {
        let data = numberedDataset(23)
        let batches = data.batches(size: 5, seed: 3)
        #expect(batches.count == 5)
        #expect(batches.map(\.count) == [5, 5, 5, 5, 3])
        var seen = [Int]()
        for batch in batches {
            let indices = exampleIndices(batch)
            #expect(batch.labels == indices.map { $0 % 10 })
            #expect(batch.imageShape == [batch.count, 6])
            seen += indices
        }
        #expect(seen == batches.order)
        #expect(seen.sorted() == Array(0..<23))
    }

    @Test func fixedOrderWithoutShuffling() {
        let batches = numberedDataset(7).batches(size: 3)
        #expect(batches.map(exampleIndices) == [[0, 1, 2], [3, 4, 5], [6]])
    }

    @Test func dropLastLeavesOutThePartialBatch() {
        let batches = numberedDataset(23).batches(size: 5, seed: 3, dropLast: true)
        #expect(batches.count == 4)
        #expect(batches.allSatisfy { $0.count == 5 })
        #expect(Set(batches.flatMap(exampleIndices)).count == 20)
        #expect(numberedDataset(4).batches(size: 5, dropLast: true).isEmpty)
    }

    @Test func channelsFirstLayoutAndGatheredPixels() {
        let data = twelvePixels()
        let batch = data.gather([1, 0, 1], layout: .channelsFirst)
        #expect(batch.imageShape == [3, 1, 2, 3])
        #expect(batch.images == [6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
        #expect(batch.labels == [1, 3, 1])
        #expect(batch.oneHotLabels(classes: 4) == [0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0])
    }

    @Test func realMNISTBatchesGatherTheRightRows() throws {
        let training = try bundledMNIST.get().training
        let batches = training.batches(size: 10, seed: 2024)
        #expect(batches.count == 6000)
        let batch = batches[17]
        #expect(batch.imageShape == [10, 784])
        for k in 0..<10 {
            let i = batches.order[170 + k]
            #expect(batch.labels[k] == training.labels[i])
                #expect(Array(batch.images[k * 784 ..< (k + 1) * 784]) == training.image(at: i))
        }
        // The gathered values are the bytes over 255, exactly.
        let i = batches.order[170]
        let expected = training.imageBytes(at: i).map { Float($0) / 255 }
        #expect(Array(batch.images[0 ..< 784]) == expected)
        #expect(expected.contains { $0 > 0 })
    }

    @Test func batchesBecomeTensors() {
        let data = twelvePixels()
        let batch = data.batches(size: 2, layout: .channelsFirst)[0]
        let images = batch.imagesTensor
        #expect(images.shape == [2, 1, 2, 3])
        #expect(images.scalars == (0..<12).map(Float.init))
        #expect(batch.labelsTensor.shape == [2])
        #expect(batch.labelsTensor.scalars == [3, 1])
        let oneHot = batch.oneHotLabelsTensor(classes: 4)
        #expect(oneHot.shape == [2, 4])
        #expect(oneHot.scalars == [0, 0, 0, 1, 0, 1, 0, 0])
    }

    @Test func wholeDatasetsBecomeTensors() {
        let data = twelvePixels()
        #expect(data.imagesTensor().shape == [2, 6])
        #expect(data.imagesTensor(layout: .channelsFirst).shape == [2, 1, 2, 3])
        #expect(data.imagesTensor().scalars == (0..<12).map(Float.init))
        #expect(data.imagesTensor().scalars == data.floatImages())
        #expect(data.labelsTensor.scalars == [3, 1])
        let unit = ImageDataset(pixels: [0, 51, 255, 1], labels: [0, 1], height: 1, width: 2)
        #expect(unit.imagesTensor().scalars == [0, 0.2, 1, Float(1) / 255])
        let empty = ImageDataset(pixels: [], labels: [], height: 28, width: 28)
        #expect(empty.imagesTensor().shape == [0, 784])
    }

    @Test func gatheringWritesStraightIntoAFloat32Tensor() {
        // Bytes 0, 1, 254, 255 in the first image, 128, 3, 7, 9 in the second (1×4 each).
        let data = ImageDataset(pixels: [0, 1, 254, 255, 128, 3, 7, 9], labels: [5, 6], height: 1, width: 4)
        let batch = data.gather([1, 0])
        #expect(batch.imagesTensor.dtype == .float32)
        #expect(!batch.imagesTensor.requiresGrad)
        #expect(batch.imagesTensor.shape == [2, 4])
        #expect(batch.imageShape == [2, 4])
        #expect(batch.imagesTensor.scalars == [128, 3, 7, 9, 0, 1, 254, 255].map { Float($0) / 255 })
        #expect(batch.images == batch.imagesTensor.scalars)
        #expect(batch.labels == [6, 5])
        // Each gather makes its own tensor: batches never share or alias buffers.
        let again = data.gather([1, 0])
        #expect(!again.imagesTensor.sharesStorage(with: batch.imagesTensor))
        #expect(again.imagesTensor.scalars == batch.imagesTensor.scalars)
        let conv = data.gather([0], layout: .channelsFirst)
        #expect(conv.imagesTensor.shape == [1, 1, 1, 4])
        #expect(conv.imagesTensor.scalars == [0, Float(1) / 255, Float(254) / 255, 1])
        // A batch can also be made from any float32 tensor of the right size.
        let made = Batch(imagesTensor: Tensor(shape: [1, 4], scalars: [1, 2, 3, 4] as [Float]), labels: [2], height: 2, width: 2)
        #expect(made.images == [1, 2, 3, 4] && made.count == 1)
        let empty = data.gather([])
        #expect(empty.imagesTensor.shape == [0, 4] && empty.count == 0)
    }
}

@Suite struct PixelConversionTests {
    @Test func bytesBecomeExactlyTheirValueOver255() {
        let data = ImageDataset(pixels: (0...255).map(UInt8.init), labels: [0], height: 16, width: 16)
        #expect(data.scale == 1.0 / 255)
        #expect(data.pixelValue(0) == 0)
        #expect(data.pixelValue(255) == 1)
        let values = data.floatImages()
        #expect(values.count == 256)
        #expect(values.first == 0 && values.last == 1)
        // Every byte k gives the Float nearest to k/255 (what PyTorch's ToTensor computes),
        // not the slightly different Float(k) * Float(1/255) (which differs for k = 3, 6, 7…).
        for k in 0...255 {
            #expect(values[k] == Float(k) / 255, "byte \(k)")
            #expect(data.pixelValue(UInt8(k)) == values[k])
        }
        #expect(values[3] == Float(3) / 255)
        #expect(values[3] != Float(3) * (Float(1) / 255))
        #expect(data.image(at: 0) == values)
        #expect(data.gather([0]).images == values)
        #expect(data.imagesTensor().scalars == values)
    }

    @Test func otherScalesKeepOrScaleTheBytes() {
        let raw = ImageDataset(pixels: [0, 7, 200, 255], labels: [1, 2], height: 1, width: 2, scale: 1)
        #expect(raw.floatImages() == [0, 7, 200, 255])
        #expect(raw.gather([1]).images == [200, 255])
        let halves = ImageDataset(pixels: [0, 1, 3, 255], labels: [1], height: 2, width: 2, scale: 0.5)
        #expect(halves.floatImages() == [0, 0.5, 1.5, 127.5])
        #expect(halves.examples(in: 0..<1).scale == 0.5)
        #expect(halves.prefix(1).floatImages() == [0, 0.5, 1.5, 127.5])
    }

    @Test func examplesKeepTheirBytes() {
        let data = numberedDataset(5, height: 1, width: 2)
        let middle = data.examples(in: 1..<4)
        #expect(middle.pixels == [1, 1, 2, 2, 3, 3])
        #expect(middle.labels == [1, 2, 3])
        #expect(Array(middle.imageBytes(at: 2)) == [3, 3])
        #expect(middle.image(at: 2) == [3, 3])
        // A view of a view: everything indexes from its own first example.
        let inner = middle.examples(in: 1..<3)
        #expect(inner.pixels.startIndex == 4)           // shares the original buffer
        #expect(inner.pixels == [2, 2, 3, 3])
        #expect(Array(inner.imageBytes(at: 0)) == [2, 2])
        #expect(inner.image(at: 1) == [3, 3])
        #expect(inner.floatImages() == [2, 2, 3, 3])
        #expect(inner.gather([1, 0]).images == [3, 3, 2, 2])
        #expect(inner.imagesTensor().scalars == [2, 2, 3, 3])
        #expect(inner.expandedByOnePixelShifts().pixels == [2, 2, 0, 0, 0, 0, 2, 0, 0, 2,
                                                            3, 3, 0, 0, 0, 0, 3, 0, 0, 3])
        #expect(inner.prefix(1).pixels == [2, 2])
        let compact = ImageDataset(pixels: Array(inner.pixels), labels: inner.labels, height: 1, width: 2, scale: 1)
        #expect(compact.pixels.startIndex == 0 && compact.floatImages() == inner.floatImages())
    }
}
