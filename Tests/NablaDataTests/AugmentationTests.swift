import Nabla
import Testing
@testable import NablaData

/// A hand-made 3×3 image with pixels 1…9 in row-major order.
private let digits: [Float] = [1, 2, 3,
                               4, 5, 6,
                               7, 8, 9]

private func shifted(_ image: [Float], height: Int = 3, width: Int = 3, down: Int, right: Int) -> [Float] {
    var out = [Float](repeating: -1, count: image.count)
    image.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            shiftImage(src.baseAddress!, into: dst.baseAddress!, height: height, width: width, down: down, right: right)
        }
    }
    return out
}

@Suite struct AugmentationTests {
    @Test func nielsenExpansionShiftsOnePixelEachWay() {
        let data = ImageDataset(images: digits + digits.map { $0 * 10 }, labels: [4, 7], height: 3, width: 3)
        let expanded = data.expandedByOnePixelShifts()
        #expect(expanded.count == 10)
        #expect(expanded.labels == [4, 4, 4, 4, 4, 7, 7, 7, 7, 7])
        #expect(Array(expanded.image(at: 0)) == digits)
        #expect(Array(expanded.image(at: 1)) == [4, 5, 6, 7, 8, 9, 0, 0, 0])        // up
        #expect(Array(expanded.image(at: 2)) == [0, 0, 0, 1, 2, 3, 4, 5, 6])        // down
        #expect(Array(expanded.image(at: 3)) == [2, 3, 0, 5, 6, 0, 8, 9, 0])        // left
        #expect(Array(expanded.image(at: 4)) == [0, 1, 2, 0, 4, 5, 0, 7, 8])        // right
        #expect(Array(expanded.image(at: 5)) == digits.map { $0 * 10 })
        #expect(Array(expanded.image(at: 9)) == [0, 10, 20, 0, 40, 50, 0, 70, 80])
    }

    @Test func shiftsCombineAndZeroFill() {
        #expect(shifted(digits, down: 1, right: -1) == [0, 0, 0, 2, 3, 0, 5, 6, 0])
        #expect(shifted(digits, down: -2, right: 2) == [0, 0, 7, 0, 0, 0, 0, 0, 0])
        #expect(shifted(digits, down: 3, right: 0) == [Float](repeating: 0, count: 9))
        #expect(shifted(digits, down: 0, right: -5) == [Float](repeating: 0, count: 9))
        #expect(shifted(digits, down: 0, right: 0) == digits)
        // Non-square: 2×3.
        #expect(shifted([1, 2, 3, 4, 5, 6], height: 2, width: 3, down: 1, right: 1) == [0, 0, 0, 0, 1, 2])
    }

    @Test func randomShiftsAreSeededAndBounded() {
        let data = ImageDataset(images: Array(repeating: digits, count: 50).flatMap { $0 },
                                labels: Array(repeating: 3, count: 50), height: 3, width: 3)
        var g1 = RandomGenerator(seed: 5)
        var g2 = RandomGenerator(seed: 5)
        let a = data.randomlyShifted(upTo: 1, using: &g1)
        let b = data.randomlyShifted(upTo: 1, using: &g2)
        #expect(a.images == b.images)
        #expect(a.labels == data.labels)
        var allowed = [[Float]]()
        for down in -1...1 { for right in -1...1 { allowed.append(shifted(digits, down: down, right: right)) } }
        var used = Set<[Float]>()
        for i in 0..<a.count {
            let image = Array(a.image(at: i))
            #expect(allowed.contains(image))
            used.insert(image)
        }
        #expect(used.count > 4)      // 50 draws from 9 offsets: many are used
        var g3 = RandomGenerator(seed: 5)
        #expect(data.randomlyShifted(upTo: 0, using: &g3).images == data.images)
    }

    @Test func batchesCanBeShiftedToo() {
        let data = ImageDataset(images: digits, labels: [1], height: 3, width: 3)
        let batch = data.batches(size: 1, layout: .channelsFirst)[0]
        var g = RandomGenerator(seed: 11)
        let moved = batch.randomlyShifted(upTo: 2, using: &g)
        #expect(moved.imageShape == [1, 1, 3, 3])
        #expect(moved.labels == [1])
        var allowed = [[Float]]()
        for down in -2...2 { for right in -2...2 { allowed.append(shifted(digits, down: down, right: right)) } }
        #expect(allowed.contains(moved.images))
    }
}
