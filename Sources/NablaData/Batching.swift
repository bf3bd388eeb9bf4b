import Nabla
import Foundation

/// How a batch lays out its images.
public enum ImageLayout: Sendable, Equatable {
    /// `N × (H·W)`: one flat row per image, for dense networks.
    case flat
    /// `N × 1 × H × W`: one single-channel image per example, for convolutions.
    case channelsFirst
}

/// A mini-batch: its images converted to `Float` and gathered into one float32 tensor,
/// ready to feed a network, and their labels.
public struct Batch: Sendable {
    /// The batch's pixel values, one image after another, of shape `[N, H·W]` or
    /// `[N, 1, H, W]` depending on the layout. Gathering writes straight into it.
    public let imagesTensor: Tensor
    /// The class index of each image.
    public var labels: [Int]
    /// Image height in pixels.
    public let height: Int
    /// Image width in pixels.
    public let width: Int

    /// Creates a batch from a float32 tensor of images and their labels.
    /// - Precondition: `imagesTensor` is float32 with `labels.count` rows of `height × width`
    ///   values (`[N, H·W]`, `[N, 1, H, W]`, or any shape starting with `N` that holds them).
    public init(imagesTensor: Tensor, labels: [Int], height: Int, width: Int) {
        precondition(imagesTensor.dtype == .float32,
                     "Batch: images must be float32, got \(imagesTensor.dtype)")
        precondition(imagesTensor.rank >= 1 && imagesTensor.shape[0] == labels.count
                        && imagesTensor.count == labels.count * height * width,
                     "Batch: images of shape \(imagesTensor.shape) do not hold \(labels.count) images of \(height)×\(width)")
        self.imagesTensor = imagesTensor
        self.labels = labels
        self.height = height
        self.width = width
    }

    /// The shape of `imagesTensor`: `[N, H·W]` or `[N, 1, H, W]`.
    public var imageShape: [Int] { imagesTensor.shape }

    /// The pixel values as a flat array (a copy of `imagesTensor`'s buffer, for inspection
    /// and tests; feed `imagesTensor` to networks).
    public var images: [Float] { imagesTensor.scalars }

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
        return order.withUnsafeBufferPointer { all in
            // Ask for the next batch's rows now: they arrive from memory while this batch
            // trains, instead of stalling the next gather (~7 µs per batch of 10 measured).
            let nextEnd = Swift.min(end + batchSize, order.count)
            if end < nextEnd { dataset.prefetchRows(UnsafeBufferPointer(rebasing: all[end..<nextEnd])) }
            return dataset.gather(UnsafeBufferPointer(rebasing: all[start..<end]), layout: layout)
        }
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

    /// Gathers the examples at `indices` into one batch, converting their bytes to `Float`
    /// straight into the batch's tensor: one pass over the batch, no intermediate array.
    public func gather(_ indices: [Int], layout: ImageLayout = .flat) -> Batch {
        indices.withUnsafeBufferPointer { gather($0, layout: layout) }
    }

    func gather(_ indices: UnsafeBufferPointer<Int>, layout: ImageLayout) -> Batch {
        let n = indices.count
        let size = imageSize
        for i in indices {
            precondition(i >= 0 && i < count, "ImageDataset.gather: index \(i) outside 0..<\(count)")
        }
        let images = Tensor(unsafeUninitializedShape: layout == .flat ? [n, size] : [n, 1, height, width],
                            of: Float.self) { dst in
            if n * size > 0 { gatherRows(indices, into: dst.baseAddress!) }
        }
        let batchLabels = labels.withUnsafeBufferPointer { src in indices.map { src[$0] } }
        return Batch(imagesTensor: images, labels: batchLabels, height: height, width: width)
    }
}
