import CNablaKernels
/// A set of labelled grayscale images held as their bytes (one `UInt8` per pixel, as IDX
/// files store them) in one contiguous row-major buffer of shape `count × height × width`,
/// plus one integer label per image.
///
/// Bytes rather than floats because a dataset lives for the whole run: MNIST's 70,000 images
/// take 55 MB as bytes but 220 MB as `Float`, and Nielsen's ×5 expanded training set 196 MB
/// instead of 784 MB. A pixel becomes a `Float` (`Float(Double(byte) * scale)`, so 0…255 with
/// the MNIST scale 1/255 gives exactly `Float(byte) / 255`, as PyTorch's `ToTensor` does)
/// only when a batch is gathered, where converting a few hundred images costs nothing.
///
/// It is a value type whose arrays are copy-on-write: passing it around, batching it, or
/// iterating it over many epochs never copies the pixels. The pixels are an `ArraySlice` so
/// that splits share one buffer: MNIST's training and validation sets are two views of the
/// training file's bytes, and `examples(in:)` and `prefix(_:)` copy nothing. A view keeps
/// its whole buffer alive; `ImageDataset(pixels: Array(d.pixels), …)` makes a compact copy.
public struct ImageDataset: Sendable {
    /// All pixels as stored bytes, image after image, each image row-major;
    /// `count × height × width` values. Use `floatImages()` or `image(at:)` for the scaled values.
    public let pixels: ArraySlice<UInt8>
    /// The factor that turns a stored byte into a pixel value: `1/255` maps 0…255 to [0, 1].
    public let scale: Double
    /// The class index of each image.
    public let labels: [Int]
    /// Image height in pixels.
    public let height: Int
    /// Image width in pixels.
    public let width: Int
    /// The value of every possible byte, `Float(Double(byte) * scale)`: one load per pixel
    /// for `pixelValue(_:)` and the whole-dataset conversions. Mini-batches are gathered by a
    /// C kernel that computes the same formula in vector registers (same bits; faster than
    /// table lookups with gathers).
    let valueTable: [Float]

    /// The scale of MNIST-style data: bytes 0…255 become values in [0, 1].
    public static let unitScale: Double = 1.0 / 255

    /// Creates a dataset from a flat buffer of pixel bytes and its labels.
    ///
    /// - Parameter scale: what one unit of a byte is worth once converted to `Float`
    ///   (1/255 maps 0…255 onto [0, 1]; 1 keeps the byte values).
    /// - Precondition: `pixels.count == labels.count * height * width`; `scale` is finite.
    public init(pixels: [UInt8], labels: [Int], height: Int, width: Int, scale: Double = ImageDataset.unitScale) {
        self.init(pixels: pixels[...], labels: labels, height: height, width: width, scale: scale)
    }

    /// Creates a dataset that views part of a larger buffer of pixel bytes (sharing it, not
    /// copying it), and its labels.
    ///
    /// - Parameter scale: what one unit of a byte is worth once converted to `Float`.
    /// - Precondition: `pixels.count == labels.count * height * width`; `scale` is finite.
    public init(pixels: ArraySlice<UInt8>, labels: [Int], height: Int, width: Int, scale: Double = ImageDataset.unitScale) {
        precondition(height >= 0 && width >= 0, "ImageDataset: negative image size \(height)×\(width)")
        precondition(pixels.count == labels.count * height * width,
                     "ImageDataset: \(pixels.count) pixel bytes do not make \(labels.count) images of \(height)×\(width)")
        precondition(scale.isFinite, "ImageDataset: scale must be finite, got \(scale)")
        self.pixels = pixels
        self.labels = labels
        self.height = height
        self.width = width
        self.scale = scale
        self.valueTable = (0...255).map { Float(Double($0) * scale) }
    }

    /// The number of images (and labels).
    public var count: Int { labels.count }

    /// Whether the dataset has no images.
    public var isEmpty: Bool { labels.isEmpty }

    /// Pixels per image: `height × width`.
    public var imageSize: Int { height * width }

    /// The `Float` value a stored byte stands for: `Float(Double(byte) * scale)`.
    public func pixelValue(_ byte: UInt8) -> Float { valueTable[Int(byte)] }

    /// The stored bytes of image `index`, row-major: a view of the shared buffer, so its
    /// indices are the buffer's (start from `startIndex`, or wrap it in `Array`).
    public func imageBytes(at index: Int) -> ArraySlice<UInt8> {
        precondition(index >= 0 && index < count, "ImageDataset.imageBytes(at:): index \(index) outside 0..<\(count)")
        let start = pixels.startIndex + index * imageSize
        return pixels[start ..< start + imageSize]
    }

    /// The pixel values of image `index`, row-major, converted to `Float` (a new array).
    public func image(at index: Int) -> [Float] {
        precondition(index >= 0 && index < count, "ImageDataset.image(at:): index \(index) outside 0..<\(count)")
        return convertedPixels(index * imageSize ..< (index + 1) * imageSize)
    }

    /// Every pixel value converted to `Float`, image after image: a new array four times the
    /// size of `pixels`, for callers that really want all of it as floats.
    public func floatImages() -> [Float] {
        convertedPixels(0 ..< pixels.count)
    }

    /// The values of the bytes at `range` of `pixels`.
    private func convertedPixels(_ range: Range<Int>) -> [Float] {
        [Float](unsafeUninitializedCapacity: range.count) { out, initialized in
            if let base = out.baseAddress, !range.isEmpty {
                convertPixels(range.lowerBound, count: range.count, into: base)
            }
            initialized = range.count
        }
    }

    /// Writes the values of `count` bytes of `pixels` starting at offset `start` (from the
    /// first pixel, whatever the slice's indices) to `destination`:
    /// the one conversion loop every float view of the data goes through.
    func convertPixels(_ start: Int, count n: Int, into destination: UnsafeMutablePointer<Float>) {
        pixels.withUnsafeBufferPointer { src in
            valueTable.withUnsafeBufferPointer { table in
                let s = src.baseAddress! + start
                let t = table.baseAddress!
                for j in 0..<n { destination[j] = t[Int(s[j])] }
            }
        }
    }

    /// Writes the float values of the images at `indices` one after another to `destination`
    /// (through the C kernel that prefetches all the rows first, then computes
    /// `Float(Double(byte) * scale)` for each byte: the values of `valueTable`).
    func gatherRows(_ indices: UnsafeBufferPointer<Int>, into destination: UnsafeMutablePointer<Float>) {
        pixels.withUnsafeBufferPointer { src in
            indices.withMemoryRebound(to: CLong.self) { rows in
                nabla_gather_rows_u8_f32(src.baseAddress!, imageSize, rows.baseAddress!, rows.count,
                                         scale, destination)
            }
        }
    }

    /// Starts fetching the images at `indices` into the caches (a hint; returns at once).
    func prefetchRows(_ indices: UnsafeBufferPointer<Int>) {
        pixels.withUnsafeBufferPointer { src in
            indices.withMemoryRebound(to: CLong.self) { rows in
                nabla_prefetch_rows(src.baseAddress!, imageSize, rows.baseAddress!, rows.count)
            }
        }
    }

    /// The examples in `range`, as a new dataset viewing the same pixel buffer (no copy).
    public func examples(in range: Range<Int>) -> ImageDataset {
        precondition(range.lowerBound >= 0 && range.upperBound <= count,
                     "ImageDataset.examples(in:): range \(range) outside 0..<\(count)")
        if range == 0..<count { return self }
        let start = pixels.startIndex
        return ImageDataset(pixels: pixels[start + range.lowerBound * imageSize ..< start + range.upperBound * imageSize],
                            labels: Array(labels[range]), height: height, width: width, scale: scale)
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
