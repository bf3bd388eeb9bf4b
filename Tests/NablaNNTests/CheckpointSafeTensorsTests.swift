import Foundation
import Testing
import Nabla
@testable import NablaNN

/// The bytes of a safetensors file with the given header text and data bytes.
private func file(header: String, data: [UInt8] = []) -> [UInt8] {
    let h = Array(header.utf8)
    return withUnsafeBytes(of: UInt64(h.count).littleEndian, Array.init) + h + data
}

/// Asserts that decoding `bytes` throws a SafeTensorsError whose message contains `fragment`.
private func expectRejected(_ bytes: [UInt8], _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        let c = try SafeTensors.decode(bytes)
        Issue.record("accepted a corrupt file (\(c.tensors.count) tensors); expected an error containing \"\(fragment)\"",
                     sourceLocation: sourceLocation)
    } catch let e as SafeTensorsError {
        #expect(e.description.contains(fragment), "message \"\(e.description)\" lacks \"\(fragment)\"",
                sourceLocation: sourceLocation)
        #expect(!e.description.contains("\n"), "messages are one line", sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected error type \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
}

private let twelveBytes = [UInt8](repeating: 0, count: 12)

@Suite("SafeTensors format") struct CheckpointSafeTensorsTests {
    @Test func roundTripIsBitExact() throws {
        let f32Bits: [UInt32] = [0x7FC0_0001, 0xFFA0_1234, 0x0000_0001, 0x8000_0000, 0x7F80_0000,
                                 0x007F_FFFF, 0x3F80_0000, 0xFF7F_FFFF]     // NaN payloads, denormals, −0, ∞
        let f64Bits: [UInt64] = [0x7FF8_0000_0000_0BAD, 0xFFF0_0000_0000_0001, 0x0000_0000_0000_0001,
                                 0x8000_0000_0000_0000, 0x000F_FFFF_FFFF_FFFF, 0x3FF0_0000_0000_0001]
        let a = Tensor(shape: [2, 4], scalars: f32Bits.map { Float(bitPattern: $0) })
        let b = Tensor(shape: [3, 2], scalars: f64Bits.map { Double(bitPattern: $0) })
        let scalar = Tensor(Float(-2.5))
        let empty = Tensor.zeros([0, 3], dtype: .float64)
        let metadata = ["epoch": "7", "rng": "[1, 2]", "quote\"and\\slash": "ünïcödé ∇ \u{1}\n"]
        let bytes = try SafeTensors.encode([("a", a), ("b", b), ("scalar", scalar), ("empty", empty)], metadata: metadata)
        let headerLength = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect(headerLength % 8 == 0, "header padded to 8 bytes so F64 data is aligned")
        let back = try SafeTensors.decode(bytes)
        #expect(back.metadata == metadata)
        #expect(back.tensors.map(\.name) == ["b", "empty", "a", "scalar"], "F64 first, then by name")
        #expect(optBits(try #require(back["a"])) == f32Bits.map(UInt64.init))
        #expect(optBits(try #require(back["b"])) == f64Bits)
        #expect(back["a"]?.shape == [2, 4] && back["b"]?.shape == [3, 2] && back["b"]?.dtype == .float64)
        #expect(back["scalar"]?.shape == [] && back["scalar"]?.scalars == [-2.5])
        #expect(back["empty"]?.shape == [0, 3] && back["empty"]?.count == 0)
        #expect(try SafeTensors.encode(back.tensors, metadata: back.metadata) == bytes, "re-encoding is stable")
    }

    @Test func fileRoundTripAndEncodeErrors() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-st-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("t.safetensors")
        let t = Tensor(shape: [2], scalars: [Double.pi, -Double.ulpOfOne])
        try SafeTensors.write([("x", t)], to: url)
        #expect(optBits(try #require(try SafeTensors.read(from: url)["x"])) == optBits(t))
        #expect(throws: SafeTensorsError.self) { try SafeTensors.encode([("x", t), ("x", t)]) }
        #expect(throws: SafeTensorsError.self) { try SafeTensors.encode([("__metadata__", t)]) }
        do {
            _ = try SafeTensors.read(from: folder.appendingPathComponent("missing.safetensors"))
            Issue.record("read a missing file")
        } catch let e as SafeTensorsError {
            #expect(e.description.contains("cannot read"))
        }
    }

    @Test func truncatedFilesAreRejected() throws {
        let bytes = try SafeTensors.encode([("a", Tensor([Float(1), 2, 3])), ("b", Tensor(shape: [2], scalars: [1.0, 2.0]))])
        let headerEnd = 8 + Int(bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        expectRejected([], "too short")
        expectRejected(Array(bytes[..<7]), "too short")
        expectRejected(Array(bytes[..<8]), "exceeds the 0 bytes")
        expectRejected(Array(bytes[..<20]), "exceeds")
        expectRejected(Array(bytes[..<(headerEnd - 1)]), "exceeds")
        expectRejected(Array(bytes[..<headerEnd]), "out of range")
        expectRejected(Array(bytes[..<(headerEnd + 10)]), "out of range")
        expectRejected(Array(bytes.dropLast()), "out of range")
        expectRejected(bytes + [0], "trailing")
    }

    @Test func headerLengthChecks() {
        var huge = file(header: "{}")
        for i in 0..<8 { huge[i] = 0xFF }
        expectRejected(huge, "exceeds the limit")
        var large = file(header: "{}")
        large.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(200_000_000).littleEndian, Array.init))
        expectRejected(large, "exceeds the limit")
        var longer = file(header: "{}")
        longer[0] = 100
        expectRejected(longer, "exceeds the 2 bytes")
    }

    @Test func malformedHeadersAreRejected() {
        expectRejected(file(header: "{\"a\": "), "invalid JSON")
        expectRejected(file(header: "{\"a\":{}} x"), "invalid JSON")
        expectRejected(file(header: "{'a':1}"), "invalid JSON")
        expectRejected(file(header: "[1, 2]"), "expected a JSON object")
        expectRejected(file(header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}\u{0}}", data: twelveBytes), "invalid JSON")
        var nonUTF8 = file(header: "{\"a\":1}  ")
        nonUTF8[10] = 0xFF
        expectRejected(nonUTF8, "not valid UTF-8")
        let deep = String(repeating: "[", count: 100_000)
        expectRejected(file(header: deep), "nesting deeper")
    }

    @Test func invalidTensorEntriesAreRejected() {
        func entry(_ body: String, data: [UInt8] = twelveBytes) -> [UInt8] { file(header: "{\"x\":{\(body)}}", data: data) }
        expectRejected(entry("\"dtype\":\"F16\",\"shape\":[6],\"data_offsets\":[0,12]"), "unsupported dtype F16 for tensor \"x\"")
        expectRejected(entry("\"dtype\":\"Q7\",\"shape\":[3],\"data_offsets\":[0,12]"), "unknown dtype \"Q7\"")
        expectRejected(entry("\"dtype\":7,\"shape\":[3],\"data_offsets\":[0,12]"), "expected a string")
        expectRejected(entry("\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,12]"), "needs 16 bytes")
        expectRejected(entry("\"dtype\":\"F32\",\"shape\":[-3],\"data_offsets\":[0,12]"), "invalid shape dimension")
        expectRejected(entry("\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,12]"), "invalid shape dimension")
        expectRejected(entry("\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,0],\"data_offsets\":[0,0]"), "too large")
        expectRejected(entry("\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]"), "out of range")
        expectRejected(entry("\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[12,0]"), "begin after end")
        expectRejected(entry("\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0]"), "invalid data_offsets")
        expectRejected(entry("\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,99999999999999999999999]"), "invalid data_offsets")
        expectRejected(entry("\"shape\":[3],\"data_offsets\":[0,12]"), "has no dtype")
        expectRejected(entry("\"dtype\":\"F32\",\"data_offsets\":[0,12]"), "has no shape")
        expectRejected(entry("\"dtype\":\"F32\",\"shape\":[3]"), "has no data_offsets")
        expectRejected(entry("\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12],\"extra\":1"), "unknown field \"extra\"")
        expectRejected(file(header: "{\"x\":[1]}"), "expected an object")
        expectRejected(file(header: "{\"__metadata__\":{\"epoch\":3}}"), "\"epoch\" is a number, expected a string")
        expectRejected(file(header: "{\"__metadata__\":[]}"), "expected an object of strings")
    }

    @Test func offsetsMustTileTheDataRegion() {
        let f = "\"dtype\":\"F32\",\"shape\":[2]"
        expectRejected(file(header: "{\"a\":{\(f),\"data_offsets\":[0,8]},\"b\":{\(f),\"data_offsets\":[4,12]}}",
                            data: twelveBytes), "overlap")
        expectRejected(file(header: "{\"a\":{\(f),\"data_offsets\":[0,8]},\"b\":{\(f),\"data_offsets\":[0,8]}}",
                            data: Array(twelveBytes[..<8])), "overlap")
        expectRejected(file(header: "{\"a\":{\(f),\"data_offsets\":[4,12]}}", data: twelveBytes), "belong to no tensor")
        expectRejected(file(header: "{\"a\":{\(f),\"data_offsets\":[0,8]}}", data: twelveBytes), "trailing")
        expectRejected(file(header: "{}", data: [1]), "trailing")
        expectRejected(file(header: "{\"a\":{\(f),\"data_offsets\":[0,8]},\"a\":{\(f),\"data_offsets\":[8,16]}}",
                            data: twelveBytes + [0, 0, 0, 0]), "duplicate key \"a\"")
    }

    @Test func acceptsSpacePaddingAndEscapes() throws {
        let header = " {\"a\\u00e9\\n\":{\"data_offsets\":[0,4],\"shape\":[],\"dtype\":\"F32\"}}    "
        let c = try SafeTensors.decode(file(header: header, data: withUnsafeBytes(of: Float(1.5).bitPattern.littleEndian, Array.init)))
        #expect(c["aé\n"]?.scalars == [1.5])
        #expect(c.metadata.isEmpty)
    }

    @Test func randomCorruptionNeverCrashes() throws {
        // Every mutation of a valid file must either decode or throw, never trap.
        let valid = try SafeTensors.encode([("w", Tensor.randomNormal([3, 2], seed: 1)),
                                            ("v", Tensor.randomNormal([2], dtype: .float64, seed: 2))],
                                           metadata: ["k": "v"])
        var rng = RandomGenerator(seed: 42)
        var rejected = 0
        for _ in 0..<400 {
            var bytes = valid
            switch rng.next() % 3 {
            case 0:
                let i = Int(rng.next() % UInt64(bytes.count))
                bytes[i] = UInt8(truncatingIfNeeded: rng.next())
            case 1:
                bytes = Array(bytes[..<Int(rng.next() % UInt64(bytes.count))])
            default:
                let i = 8 + Int(rng.next() % 120)
                bytes[i] = [UInt8(ascii: "\""), UInt8(ascii: "{"), UInt8(ascii: "]"), UInt8(ascii: "9"), 0x80][Int(rng.next() % 5)]
            }
            do { _ = try SafeTensors.decode(bytes) } catch is SafeTensorsError { rejected += 1 }
        }
        #expect(rejected > 300)
    }
}
