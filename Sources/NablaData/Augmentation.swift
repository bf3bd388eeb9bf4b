import Nabla
import Foundation

// Data augmentation by translation. A shift moves the picture and fills the uncovered
// border with zeros (black, MNIST's background); each row is moved with one memcpy.

/// Copies the `height × width` image at `source` into `destination` moved `down` rows and
/// `right` columns (negative values move up/left), zero-filling what is uncovered.
func shiftImage(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>,
                height: Int, width: Int, down: Int, right: Int) {
    destination.update(repeating: 0, count: height * width)
    let columns = width - abs(right)
    guard columns > 0, abs(down) < height else { return }
    let fromColumn = max(-right, 0)
    let toColumn = max(right, 0)
    for row in max(down, 0) ..< min(height, height + down) {
        memcpy(destination + row * width + toColumn, source + (row - down) * width + fromColumn,
               columns * MemoryLayout<Float>.stride)
    }
}

/// Shifts every image of a flat `count × height × width` buffer by the offsets `shift(i)` gives.
private func shiftAll(_ images: [Float], count: Int, height: Int, width: Int,
                      shift: (Int) -> (down: Int, right: Int)) -> [Float] {
    let size = height * width
    return images.withUnsafeBufferPointer { src in
        [Float](unsafeUninitializedCapacity: count * size) { dst, initialized in
            for i in 0..<count {
                let (down, right) = shift(i)
                shiftImage(src.baseAddress! + i * size, into: dst.baseAddress! + i * size,
                           height: height, width: width, down: down, right: right)
            }
            initialized = count * size
        }
    }
}

extension ImageDataset {
    /// Nielsen's expanded training set (chapter 6, `expand_mnist.py`): each image followed by
    /// copies shifted one pixel up, down, left and right, zero-filled; five times the data,
    /// labels repeated. The order is not shuffled; shuffle when batching.
    ///
    /// Memory: five times the dataset's pixels (about 780 MB for 50,000 MNIST images).
    public func expandedByOnePixelShifts() -> ImageDataset {
        let shifts = [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)]     // original, up, down, left, right
        let size = imageSize
        let n = count * shifts.count
        if n == 0 || size == 0 { return ImageDataset(images: [], labels: Array(repeating: 0, count: 0), height: height, width: width) }
        let pixels = images.withUnsafeBufferPointer { src in
            [Float](unsafeUninitializedCapacity: n * size) { dst, initialized in
                for i in 0..<count {
                    for (k, (down, right)) in shifts.enumerated() {
                        shiftImage(src.baseAddress! + i * size, into: dst.baseAddress! + (i * shifts.count + k) * size,
                                   height: height, width: width, down: down, right: right)
                    }
                }
                initialized = n * size
            }
        }
        var expandedLabels = [Int]()
        expandedLabels.reserveCapacity(n)
        for label in labels { expandedLabels.append(contentsOf: repeatElement(label, count: shifts.count)) }
        return ImageDataset(images: pixels, labels: expandedLabels, height: height, width: width)
    }

    /// A copy with every image shifted by a random offset of at most `maxShift` pixels in
    /// each direction (vertical and horizontal drawn independently and uniformly from
    /// `-maxShift...maxShift`), zero-filled. Same generator state, same result.
    public func randomlyShifted<G: RandomNumberGenerator>(upTo maxShift: Int, using generator: inout G) -> ImageDataset {
        precondition(maxShift >= 0, "randomlyShifted(upTo:using:): maxShift must be ≥ 0, got \(maxShift)")
        guard count > 0, imageSize > 0 else { return self }
        let offsets = randomOffsets(count: count, maxShift: maxShift, using: &generator)
        let pixels = shiftAll(images, count: count, height: height, width: width) { offsets[$0] }
        return ImageDataset(images: pixels, labels: labels, height: height, width: width)
    }
}

extension Batch {
    /// A copy of the batch with every image shifted by a random offset of at most
    /// `maxShift` pixels in each direction, zero-filled: cheap per-epoch augmentation.
    public func randomlyShifted<G: RandomNumberGenerator>(upTo maxShift: Int, using generator: inout G) -> Batch {
        precondition(maxShift >= 0, "randomlyShifted(upTo:using:): maxShift must be ≥ 0, got \(maxShift)")
        guard count > 0, height * width > 0 else { return self }
        let offsets = randomOffsets(count: count, maxShift: maxShift, using: &generator)
        let pixels = shiftAll(images, count: count, height: height, width: width) { offsets[$0] }
        return Batch(images: pixels, imageShape: imageShape, labels: labels, height: height, width: width)
    }
}

/// `count` offsets, each (down, right) uniform in `-maxShift...maxShift`.
private func randomOffsets<G: RandomNumberGenerator>(count: Int, maxShift: Int,
                                                     using generator: inout G) -> [(down: Int, right: Int)] {
    (0..<count).map { _ in
        (generator.uniformIndex(below: 2 * maxShift + 1) - maxShift,
         generator.uniformIndex(below: 2 * maxShift + 1) - maxShift)
    }
}
