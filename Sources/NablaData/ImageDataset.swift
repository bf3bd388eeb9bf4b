/// A set of labelled grayscale images held as one contiguous row-major `[Float]` buffer of
/// shape `count × height × width`, plus one integer label per image.
///
/// It is a value type whose arrays are copy-on-write: passing it around, batching it, or
/// iterating it over many epochs never copies the pixels.
public struct ImageDataset: Sendable {
    /// All pixels, image after image, each image row-major; `count × height × width` values.
    public let images: [Float]
    /// The class index of each image.
    public let labels: [Int]
    /// Image height in pixels.
    public let height: Int
    /// Image width in pixels.
    public let width: Int

    /// Creates a dataset from a flat pixel buffer and its labels.
    ///
    /// - Precondition: `images.count == labels.count * height * width`.
    public init(images: [Float], labels: [Int], height: Int, width: Int) {
        precondition(height >= 0 && width >= 0, "ImageDataset: negative image size \(height)×\(width)")
        precondition(images.count == labels.count * height * width,
                     "ImageDataset: \(images.count) pixel values do not make \(labels.count) images of \(height)×\(width)")
        self.images = images
        self.labels = labels
        self.height = height
        self.width = width
    }

    /// The number of images (and labels).
    public var count: Int { labels.count }

    /// Whether the dataset has no images.
    public var isEmpty: Bool { labels.isEmpty }

    /// Pixels per image: `height × width`.
    public var imageSize: Int { height * width }

    /// The pixels of image `index`, row-major.
    public func image(at index: Int) -> ArraySlice<Float> {
        images[index * imageSize ..< (index + 1) * imageSize]
    }

    /// The examples in `range`, as a new dataset (copies just those examples).
    public func examples(in range: Range<Int>) -> ImageDataset {
        precondition(range.lowerBound >= 0 && range.upperBound <= count,
                     "ImageDataset.examples(in:): range \(range) outside 0..<\(count)")
        if range == 0..<count { return self }
        return ImageDataset(images: Array(images[range.lowerBound * imageSize ..< range.upperBound * imageSize]),
                            labels: Array(labels[range]), height: height, width: width)
    }

    /// The first `n` examples (all of them if there are fewer than `n`).
    public func prefix(_ n: Int) -> ImageDataset {
        examples(in: 0 ..< min(max(n, 0), count))
    }

    /// How many images carry each label.
    public func labelCounts() -> [Int: Int] {
        var counts = [Int: Int]()
        for label in labels { counts[label, default: 0] += 1 }
        return counts
    }
}

extension ImageDataset: CustomStringConvertible {
    /// A one-line summary such as `ImageDataset(60000 images of 28×28, 10 classes)`.
    public var description: String {
        "ImageDataset(\(count) images of \(height)×\(width), \(labelCounts().count) classes)"
    }
}
