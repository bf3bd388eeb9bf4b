import Nabla
import Foundation

/// How a batch lays out its images.
public enum ImageLayout: Sendable, Equatable {
    /// `N × (H·W)`: one flat row per image, for dense networks.
    case flat
    /// `N × 1 × H × W`: one single-channel image per example, for convolutions.
    case channelsFirst
}

/// A mini-batch: its images gathered into one contiguous row-major buffer, and their labels.
public struct Batch: Sendable {
    /// The pixels of the batch's images, one image after another, in `imageShape`.
    public var images: [Float]
    /// The shape of `images`: `[N, H·W]` or `[N, 1, H, W]` depending on the layout.
    public var imageShape: [Int]
    /// The class index of each image.
    public var labels: [Int]
    /// Image height in pixels.
    public let height: Int
    /// Image width in pixels.
    public let width: Int

    /// Creates a batch from gathered images and labels.
    /// - Precondition: `images.count == labels.count * height * width` and `imageShape`
    ///   describes that many values.
    public init(images: [Float], imageShape: [Int], labels: [Int], height: Int, width: Int) {
        precondition(images.count == labels.count * height * width && imageShape.reduce(1, *) == images.count,
                     "Batch: \(images.count) values do not match shape \(imageShape) for \(labels.count) images of \(height)×\(width)")
        self.images = images
        self.imageShape = imageShape
        self.labels = labels
        self.height = height
        self.width = width
    }

    /// The number of examples in the batch.
    public var count: Int { labels.count }

    /// The labels as one-hot rows, `count × classes` (Nielsen's vectorized results).
    /// - Precondition: every label is in `0..<classes`.
    public func oneHotLabels(classes: Int = 10) -> [Float] {
        var out = [Float](repeating: 0, count: count * classes)
        for (i, label) in labels.enumerated() {
            precondition(label >= 0 && label < classes, "Batch.oneHotLabels: label \(label) outside 0..<\(classes)")
            out[i * classes + label] = 1
        }
        return out
    }
}

/// The mini-batches of one epoch over a dataset, in a fixed visiting order.
///
/// Holding one is cheap: it shares the dataset's pixels and gathers each batch only when
/// asked. Every example appears in exactly one batch; the last batch may be smaller unless
/// `dropsLast` is set.
public struct Batches: RandomAccessCollection, Sendable {
    /// The dataset batched.
    public let dataset: ImageDataset
    /// The order in which examples are visited: a permutation of `0..<dataset.count`.
    public let order: [Int]
    /// Examples per batch (the last batch may hold fewer).
    public let batchSize: Int
    /// Whether a last batch smaller than `batchSize` is left out.
    public let dropsLast: Bool
    /// How each batch lays out its images.
    public let layout: ImageLayout

    /// Creates the batches of `dataset` visited in `order`.
    /// - Precondition: `batchSize > 0`; `order` holds valid example indices.
    public init(dataset: ImageDataset, order: [Int], batchSize: Int, dropsLast: Bool = false,
                layout: ImageLayout = .flat) {
        precondition(batchSize > 0, "Batches: batch size must be positive, got \(batchSize)")
        precondition(order.allSatisfy { $0 >= 0 && $0 < dataset.count },
                     "Batches: order holds an index outside 0..<\(dataset.count)")
        self.dataset = dataset
        self.order = order
        self.batchSize = batchSize
        self.dropsLast = dropsLast
        self.layout = layout
    }

    /// The index of the first batch (always 0).
    public var startIndex: Int { 0 }

    /// One past the last batch: the number of batches.
    public var endIndex: Int {
        dropsLast ? order.count / batchSize : (order.count + batchSize - 1) / batchSize
    }

    /// Gathers batch `position`.
    public subscript(position: Int) -> Batch {
        precondition(position >= 0 && position < endIndex, "Batches: batch \(position) outside 0..<\(endIndex)")
        let start = position * batchSize
        let end = Swift.min(start + batchSize, order.count)
        return order.withUnsafeBufferPointer { dataset.gather(UnsafeBufferPointer(rebasing: $0[start..<end]), layout: layout) }
    }
}

extension ImageDataset {
    /// The batches of one epoch in the dataset's own order (no shuffling).
    public func batches(size: Int, dropLast: Bool = false, layout: ImageLayout = .flat) -> Batches {
        Batches(dataset: self, order: Array(0..<count), batchSize: size, dropsLast: dropLast, layout: layout)
    }

    /// The batches of one epoch in an order shuffled by `generator` (Fisher–Yates).
    ///
    /// The generator advances, so calling this once per epoch with the same generator gives
    /// a new order each epoch, and the same orders on every run from the same seed.
    public func batches<G: RandomNumberGenerator>(size: Int, shuffledBy generator: inout G,
                                                  dropLast: Bool = false, layout: ImageLayout = .flat) -> Batches {
        Batches(dataset: self, order: randomPermutation(count: count, using: &generator),
                batchSize: size, dropsLast: dropLast, layout: layout)
    }

    /// The batches of one epoch in an order fixed by `seed` (xoshiro256** and Fisher–Yates).
    /// Vary the seed per epoch, e.g. `seed: base &+ UInt64(epoch)`, for a new order each epoch.
    public func batches(size: Int, seed: UInt64, dropLast: Bool = false, layout: ImageLayout = .flat) -> Batches {
        var generator = RandomGenerator(seed: seed)
        return batches(size: size, shuffledBy: &generator, dropLast: dropLast, layout: layout)
    }

    /// Gathers the examples at `indices` into one batch, copying each image with one memcpy.
    public func gather(_ indices: [Int], layout: ImageLayout = .flat) -> Batch {
        indices.withUnsafeBufferPointer { gather($0, layout: layout) }
    }

    func gather(_ indices: UnsafeBufferPointer<Int>, layout: ImageLayout) -> Batch {
        let n = indices.count
        let size = imageSize
        let bytesPerImage = size * MemoryLayout<Float>.stride
        var batchLabels = [Int](repeating: 0, count: n)
        let pixels = images.withUnsafeBufferPointer { src in
            [Float](unsafeUninitializedCapacity: n * size) { dst, initialized in
                if n * size > 0 {
                    for (k, i) in indices.enumerated() {
                        precondition(i >= 0 && i < count, "ImageDataset.gather: index \(i) outside 0..<\(count)")
                        memcpy(dst.baseAddress! + k * size, src.baseAddress! + i * size, bytesPerImage)
                    }
                }
                initialized = n * size
            }
        }
        labels.withUnsafeBufferPointer { src in
            for (k, i) in indices.enumerated() { batchLabels[k] = src[i] }
        }
        let shape = layout == .flat ? [n, size] : [n, 1, height, width]
        return Batch(images: pixels, imageShape: shape, labels: batchLabels, height: height, width: width)
    }
}
