import Nabla
import Testing
@testable import NablaData

/// A hand-made 3×3 image with pixels 1…9 in row-major order.
private let digits: [UInt8] = [1, 2, 3,
                               4, 5, 6,
                               7, 8, 9]

/// The same image as floats, for batches (whose pixels are floats).
private let floatDigits: [Float] = digits.map(Float.init)

private func shifted<T: Numeric>(_ image: [T], height: Int = 3, width: Int = 3, down: Int, right: Int) -> [T] {
    var out = [T](repeating: 1, count: image.count)
    image.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            shiftImage(src.baseAddress!, into: dst.baseAddress!, height: height, width: width, down: down, right: right)
        }
    }
    return out
}

@Suite struct AugmentationTests {
    @Test func nielsenExpansionShiftsOnePixelEachWay() {
        let data = ImageDataset(pixels: digits + digits.map { $0 * 10 }, labels: [4, 7], height: 3, width: 3, scale: 1)
        let expanded = data.expandedByOnePixelShifts()
        #expect(expanded.count == 10)
        #expect(expanded.pixels.count == 90)
        #expect(expanded.scale == 1)
        #expect(expanded.labels == [4, 4, 4, 4, 4, 7, 7, 7, 7, 7])
        #expect(Array(expanded.imageBytes(at: 0)) == digits)
        #expect(Array(expanded.imageBytes(at: 1)) == [4, 5, 6, 7, 8, 9, 0, 0, 0])        // up
        #expect(Array(expanded.imageBytes(at: 2)) == [0, 0, 0, 1, 2, 3, 4, 5, 6])        // down
        #expect(Array(expanded.imageBytes(at: 3)) == [2, 3, 0, 5, 6, 0, 8, 9, 0])        // left
        #expect(Array(expanded.imageBytes(at: 4)) == [0, 1, 2, 0, 4, 5, 0, 7, 8])        // right
        #expect(Array(expanded.imageBytes(at: 5)) == digits.map { $0 * 10 })
        #expect(Array(expanded.imageBytes(at: 9)) == [0, 10, 20, 0, 40, 50, 0, 70, 80])
        // The float view goes through the scale.
        #expect(expanded.image(at: 4) == [0, 1, 2, 0, 4, 5, 0, 7, 8])
        let unit = ImageDataset(pixels: digits, labels: [0], height: 3, width: 3).expandedByOnePixelShifts()
        #expect(unit.image(at: 1) == [4, 5, 6, 7, 8, 9, 0, 0, 0].map { Float($0) / 255 })
    }

    @Test func shiftsCombineAndZeroFill() {
        #expect(shifted(digits, down: 1, right: -1) == [0, 0, 0, 2, 3, 0, 5, 6, 0])
        #expect(shifted(digits, down: -2, right: 2) == [0, 0, 7, 0, 0, 0, 0, 0, 0])
        #expect(shifted(digits, down: 3, right: 0) == [UInt8](repeating: 0, count: 9))
        #expect(shifted(digits, down: 0, right: -5) == [UInt8](repeating: 0, count: 9))
        #expect(shifted(digits, down: 0, right: 0) == digits)
        // Non-square: 2×3.
        #expect(shifted([1, 2, 3, 4, 5, 6] as [UInt8], height: 2, width: 3, down: 1, right: 1) == [0, 0, 0, 0, 1, 2])
        // Floats move the same way (batches shift floats).
        #expect(shifted(floatDigits, down: 1, right: -1) == [0, 0, 0, 2, 3, 0, 5, 6, 0])
        #expect(shifted([1.5, 2, 3, 4, 5, 6] as [Float], height: 2, width: 3, down: -1, right: 1) == [0, 4, 5, 0, 0, 0])
    }

    @Test func randomShiftsAreSeededAndBounded() {
        let data = ImageDataset(pixels: Array(repeating: digits, count: 50).flatMap { $0 },
                                labels: Array(repeating: 3, count: 50), height: 3, width: 3)
        var g1 = RandomGenerator(seed: 5)
        var g2 = RandomGenerator(seed: 5)
        let a = data.randomlyShifted(upTo: 1, using: &g1)
        let b = data.randomlyShifted(upTo: 1, using: &g2)
        #expect(a.pixels == b.pixels)
        #expect(a.scale == data.scale)
        #expect(a.labels == data.labels)
        var allowed = [[UInt8]]()
        for down in -1...1 { for right in -1...1 { allowed.append(shifted(digits, down: down, right: right)) } }
        var used = Set<[UInt8]>()
        for i in 0..<a.count {
            let image = Array(a.imageBytes(at: i))
            #expect(allowed.contains(image))
            used.insert(image)
        }
        #expect(used.count > 4)      // 50 draws from 9 offsets: many are used
        var g3 = RandomGenerator(seed: 5)
        #expect(data.randomlyShifted(upTo: 0, using: &g3).pixels == data.pixels)
    }

    @Test func batchesCanBeShiftedToo() {
        let data = ImageDataset(pixels: digits, labels: [1], height: 3, width: 3, scale: 1)
        let batch = data.batches(size: 1, layout: .channelsFirst)[0]
        var g = RandomGenerator(seed: 11)
        let moved = batch.randomlyShifted(upTo: 2, using: &g)
        #expect(moved.imageShape == [1, 1, 3, 3])
        #expect(moved.labels == [1])
        var allowed = [[Float]]()
        for down in -2...2 { for right in -2...2 { allowed.append(shifted(floatDigits, down: down, right: right)) } }
        #expect(allowed.contains(moved.images))
        #expect(moved.images != floatDigits)         // seed 11 draws a real move
        #expect(batch.images == floatDigits)         // the original batch is untouched
    }
}
