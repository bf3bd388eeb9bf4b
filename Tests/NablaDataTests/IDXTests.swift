import Foundation
import Testing
@testable import NablaData

/// The raw bytes of an IDX header: magic (type, rank) and big-endian dimensions.
private func header(type: UInt8 = 0x08, _ dimensions: [UInt32]) -> [UInt8] {
    var out: [UInt8] = [0, 0, type, UInt8(dimensions.count)]
    for d in dimensions { out += [UInt8(d >> 24), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
    return out
}

/// The error message from parsing `bytes` as a file named `name`.
private func parseError(_ bytes: [UInt8], name: String = "bad.idx") -> String? {
    thrownMessage { try IDXFile(fileBytes: bytes, path: "/some/dir/" + name) }
}

@Suite struct IDXRoundTripTests {
    @Test(arguments: [false, true])
    func unsignedBytesRoundTripThroughAFile(gzip: Bool) throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let original = try IDXFile(dimensions: [2, 3, 4], bytes: (0..<24).map { UInt8($0 * 10) })
        let path = dir + (gzip ? "/x-idx3-ubyte.gz" : "/x-idx3-ubyte")
        try original.write(to: path)
        let fileBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(isGzip(fileBytes) == gzip)
        #expect(fileBytes.count == (gzip ? fileBytes.count : 4 + 12 + 24))
        let back = try IDXFile(contentsOf: path)
        #expect(back == original)
        #expect(back.dimensions == [2, 3, 4])
        #expect(back.dataType == .uint8)
        #expect(back.count == 24)
        #expect(back.data[23] == 230)
        #expect(back.floats()[5] == 50)
    }

    @Test func encodingMatchesTheFormatByteForByte() throws {
        let file = try IDXFile(dimensions: [2, 1], bytes: [7, 9])
        #expect(file.encoded() == [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 1, 7, 9])
    }

    @Test func float32RoundTripsThroughGzip() throws {
        let values: [Float] = [0, 1.5, -2.25, .pi, 1e-30, -0]
        let file = try IDXFile(dimensions: [3, 2], floats: values)
        #expect(file.dataType == .float32)
        #expect(Array(file.encoded()[0..<4]) == [0, 0, 0x0D, 2])
        let back = try IDXFile(fileBytes: try gzip(file.encoded()), path: "f.gz")
        #expect(back.floats() == values)
        #expect(back.doubles() == values.map(Double.init))
    }

    @Test func signedAndWideTypesDecodeBigEndian() throws {
        let int8 = try IDXFile(fileBytes: header(type: 0x09, [3]) + [0xFF, 0x80, 0x7F])
        #expect(int8.floats() == [-1, -128, 127])
        let int16 = try IDXFile(fileBytes: header(type: 0x0B, [2]) + [0x01, 0x02, 0xFF, 0xFE])
        #expect(int16.doubles() == [258, -2])
        let int32 = try IDXFile(fileBytes: header(type: 0x0C, [1]) + [0xFF, 0xFF, 0xFF, 0x9C])
        #expect(int32.doubles() == [-100])
        let float64 = try IDXFile(fileBytes: header(type: 0x0E, [1]) + [0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18])
        #expect(float64.doubles() == [Double.pi])
    }

    @Test func emptyDimensionsAndEmptyDataAreValid() throws {
        let file = try IDXFile(fileBytes: try gzip(header([0, 28, 28])))
        #expect(file.dimensions == [0, 28, 28])
        #expect(file.data.isEmpty)
    }

    @Test func concatenatedGzipMembersDecodeAsOneStream() throws {
        let bytes = header([2, 2]) + [1, 2, 3, 4]
        let twoMembers = try gzip(Array(bytes[0..<6])) + gzip(Array(bytes[6...]))
        #expect(try IDXFile(fileBytes: twoMembers).data == [1, 2, 3, 4])
    }

    @Test func constructorRejectsMismatchedData() {
        let message = thrownMessage { try IDXFile(dimensions: [2, 2], bytes: [1, 2, 3]) }
        #expect(message?.contains("need 4 bytes, got 3") == true)
    }
}

@Suite struct IDXBadFileTests {
    @Test func wrongMagic() {
        let message = parseError([0x1F, 0x00, 0x08, 0x01, 0, 0, 0, 0], name: "train-images-idx3-ubyte")
        #expect(message == "train-images-idx3-ubyte: not an IDX file: magic number 1f 00 08 01 should start with 00 00")
    }

    @Test func badTypeByte() {
        let message = parseError(header(type: 0x07, [1]) + [0])
        #expect(message == "bad.idx: bad data type byte 0x07 (expected 08, 09, 0b, 0c, 0d or 0e)")
    }

    @Test func truncatedHeader() {
        #expect(parseError([0, 0, 8]) == "bad.idx: truncated header: 3 bytes, need at least 4 for the magic number")
        #expect(parseError([0, 0, 8, 3, 0, 0, 0, 1]) == "bad.idx: truncated header: 3 dimensions need 16 header bytes, file has 8")
    }

    @Test func truncatedData() {
        let message = parseError(header([60000, 28, 28]) + [UInt8](repeating: 0, count: 1234),
                                 name: "train-images-idx3-ubyte.gz")
        #expect(message == "train-images-idx3-ubyte.gz: truncated: header says 60000×28×28 bytes of data (47040000), file has 1234")
    }

    @Test func truncatedWideData() {
        #expect(parseError(header(type: 0x0D, [3]) + [0, 0, 0, 0]) == "bad.idx: truncated: header says 3×4 bytes of data (12), file has 4")
    }

    @Test func trailingData() {
        #expect(parseError(header([2, 2]) + [1, 2, 3, 4, 5]) == "bad.idx: trailing data: header says 2×2 bytes of data (4), file has 5")
    }

    @Test func trailingDataInsideGzip() throws {
        // Inflating stops one byte past the promised data, so a long tail is not read in full.
        let exact = parseError(try gzip(header([2, 2]) + [1, 2, 3, 4, 5]))
        #expect(exact == "bad.idx: trailing data: header says 2×2 bytes of data (4), file has 5")
        let long = parseError(try gzip(header([2, 2]) + [UInt8](repeating: 9, count: 100_000)))
        #expect(long == "bad.idx: trailing data: header says 2×2 bytes of data (4), file has at least 5")
    }

    @Test func absurdDimensionsThatOverflow() {
        let message = parseError(header([0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF]) + [1, 2, 3])
        #expect(message == "bad.idx: absurd dimensions 4294967295×4294967295×4294967295: data size overflows 64 bits")
        let twoDims = parseError(try! gzip(header([0xFFFF_FFFF, 0xFFFF_FFFF])))
        #expect(twoDims?.contains("absurd dimensions") == true)
    }

    @Test func hugeClaimedSizeIsCheckedBeforeAllocating() throws {
        // 4294967295 × 100000 bytes (~430 TB) claimed by a 30-byte file: must fail fast.
        let raw = header([0xFFFF_FFFF, 100_000]) + [1, 2, 3]
        #expect(parseError(raw)?.contains("truncated: header says 4294967295×100000 bytes") == true)
        let gz = parseError(try gzip(raw))
        #expect(gz?.contains("truncated: header says 4294967295×100000 bytes of data (429496729500000), file has 3") == true)
    }

    @Test func corruptGzip() throws {
        var bytes = try gzip(header([100]) + (0..<100).map { UInt8($0) }, level: 0)
        for i in 10..<20 { bytes[i] ^= 0xA5 }
        let message = parseError(bytes, name: "t10k-images-idx3-ubyte.gz")
        #expect(message?.hasPrefix("t10k-images-idx3-ubyte.gz: corrupt gzip: ") == true)
    }

    @Test func corruptGzipChecksum() throws {
        var bytes = try gzip(header([4]) + [1, 2, 3, 4])
        bytes[bytes.count - 6] ^= 0xFF       // inside the CRC-32
        #expect(parseError(bytes) == "bad.idx: corrupt gzip: incorrect data check")
    }

    @Test func truncatedGzip() throws {
        let bytes = try gzip(header([1000]) + (0..<1000).map { UInt8($0 % 251) })
        let message = parseError(Array(bytes[0 ..< bytes.count / 2]))
        #expect(message?.hasPrefix("bad.idx: corrupt gzip: compressed data ends early (truncated file?)") == true)
        #expect(parseError([0x1F, 0x8B])?.contains("compressed data ends early") == true)
    }

    @Test func junkAfterGzipStream() throws {
        let bytes = try gzip(header([1]) + [42]) + [1, 2, 3]
        #expect(parseError(bytes) == "bad.idx: corrupt gzip: 3 bytes of junk after the compressed stream")
    }

    @Test func emptyFile() {
        #expect(parseError([]) == "bad.idx: empty file")
    }

    @Test func missingFileNamesTheFullPath() {
        let message = thrownMessage { try IDXFile(contentsOf: "/nonexistent/dir/train-labels-idx1-ubyte.gz") }
        #expect(message == "/nonexistent/dir/train-labels-idx1-ubyte.gz: no such file")
        expectError(containing: "no such file") { try IDXFile(contentsOf: "/nonexistent/other.gz") }
    }

    @Test func directoryInsteadOfFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(thrownMessage { try IDXFile(contentsOf: dir) } == "\(dir): is a directory, not a file")
    }

    @Test func messagesAreOneLine() throws {
        let samples: [[UInt8]] = [[], [1, 2, 3, 4], header([5]), header([2]) + [1, 2, 3], [0x1F, 0x8B, 0, 0, 0]]
        for bytes in samples {
            let message = try #require(parseError(bytes))
            #expect(!message.contains("\n"))
        }
    }
}
