import Foundation
import Nabla
import Testing
@testable import NablaData

#if canImport(Glibc)
import Glibc
#endif

// Thousands of corrupted variants of valid IDX files, raw and gzip'd. Each variant must either
// throw a one-line DataError naming the file, or (when the corruption only touched element
// bytes, which the format cannot check) parse to exactly the corrupted bytes. A crash would
// end the test process and a hang would hit the time limit. The resident-set peak is printed,
// not asserted (other suites run in parallel): it shows that no absurd size claimed by a
// header was ever allocated.

/// What the fuzz loop saw.
private struct FuzzTally {
    var cases = 0
    var errors = 0
    var accepted = 0
    var problems: [String] = []

    mutating func record(_ problem: String) {
        if problems.count < 10 { problems.append(problem) }
    }
}

/// The peak resident set of this process so far, in MB.
private func peakResidentMB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// The valid files the corruptions start from: several element types and ranks.
private func seedFiles() throws -> [(name: String, file: IDXFile)] {
    [
        ("images-idx3-ubyte", try IDXFile(dimensions: [3, 4, 5], bytes: (0..<60).map { UInt8($0 * 4) })),
        ("labels-idx1-ubyte", try IDXFile(dimensions: [9], bytes: (0..<9).map { UInt8($0) })),
        ("floats-idx2", try IDXFile(dimensions: [2, 3], floats: [0.5, -1, 2, 1e-3, 7, -0])),
        ("shorts-idx1", try IDXFile(dataType: .int16, dimensions: [4], data: [0, 1, 0xFF, 0xFE, 0x7F, 0xFF, 0x80, 0])),
        ("doubles-idx1", try IDXFile(dataType: .float64, dimensions: [2], data: [UInt8](repeating: 0x3F, count: 16))),
        ("scalar-idx0", try IDXFile(dimensions: [], bytes: [42])),
    ]
}

/// Parses `bytes` and checks the outcome; `mayBeValid` says whether the corruption could have
/// left a well-formed file (then the parse must give back the element bytes as they are now).
private func check(_ bytes: [UInt8], name: String, what: String, mayBeValid: Bool,
                   expectedData: [UInt8]? = nil, tally: inout FuzzTally) {
    tally.cases += 1
    let path = "/fuzz/\(name)"
    do {
        let file = try IDXFile(fileBytes: bytes, path: path)
        tally.accepted += 1
        if !mayBeValid {
            tally.record("\(what): accepted a corrupt file as \(file.dataType) \(file.dimensions)")
        } else if let expectedData, file.data != expectedData {
            tally.record("\(what): accepted, but the data differs from the file's bytes")
        }
    } catch let error as DataError {
        tally.errors += 1
        let message = error.description
        if !message.hasPrefix(name + ": ") || message.contains("\n") || error.reason.isEmpty {
            tally.record("\(what): unclear message \"\(message)\"")
        }
    } catch {
        tally.errors += 1
        tally.record("\(what): threw \(type(of: error)) instead of DataError: \(error)")
    }
}

/// The big-endian bytes of a 32-bit dimension.
private func bigEndian(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
}

@Suite("IDX fuzzing") struct IDXFuzzTests {
    @Test(.timeLimit(.minutes(1)))
    func corruptedFilesThrowClearErrors() throws {
        var tally = FuzzTally()
        var rng = RandomGenerator(seed: 2026)
        let peakBefore = peakResidentMB()

        for (name, original) in try seedFiles() {
            let raw = original.encoded()
            let headerLength = 4 + 4 * original.dimensions.count
            let compressed = try gzip(raw, path: name)

            // Truncated at every length, raw and gzip'd (a gzip file cut anywhere loses its
            // trailer, so it can never be accepted).
            for n in 0..<raw.count {
                check(Array(raw[..<n]), name: name, what: "raw truncated to \(n)", mayBeValid: false, tally: &tally)
            }
            for n in 0..<compressed.count {
                check(Array(compressed[..<n]), name: name + ".gz", what: "gzip truncated to \(n)",
                      mayBeValid: false, tally: &tally)
            }
            // Trailing junk.
            for extra in [[UInt8(0)], [0xFF, 0xEE], [UInt8](repeating: 7, count: 100)] {
                check(raw + extra, name: name, what: "raw + \(extra.count) bytes", mayBeValid: false, tally: &tally)
                check(compressed + extra, name: name + ".gz", what: "gzip + \(extra.count) junk bytes",
                      mayBeValid: false, tally: &tally)
                check(try gzip(raw + extra), name: name + ".gz", what: "gzip of raw + \(extra.count)",
                      mayBeValid: false, tally: &tally)
            }

            // Flipped bytes: every position of the raw file with several masks. Flips in the
            // header always break the size rule (or the magic); flips in the data are legal.
            for position in 0..<raw.count {
                for mask in [UInt8(0x01), 0x02, 0x80, 0xFF, UInt8.random(in: 1...255, using: &rng)] {
                    var bytes = raw
                    bytes[position] ^= mask
                    // A type byte turned into another type of the same width (08 ↔ 09,
                    // 0c ↔ 0d) is a valid file too: the format has no checksum.
                    let sameWidthType = position == 2
                        && IDXFile.DataType(rawValue: bytes[2])?.byteWidth == original.dataType.byteWidth
                    let legal = position >= headerLength || sameWidthType
                    check(bytes, name: name, what: "raw byte \(position) ^ \(mask)", mayBeValid: legal,
                          expectedData: legal ? Array(bytes[headerLength...]) : nil, tally: &tally)
                }
            }
            // Flipped bytes in the compressed stream: the CRC-32 and length trailer catch them,
            // except flips in the gzip header's optional fields, which may be ignored (then the
            // file is the original).
            for position in 0..<compressed.count {
                for mask in [UInt8(0x01), 0x40, UInt8.random(in: 1...255, using: &rng)] {
                    var bytes = compressed
                    bytes[position] ^= mask
                    check(bytes, name: name + ".gz", what: "gzip byte \(position) ^ \(mask)", mayBeValid: true,
                          expectedData: original.data, tally: &tally)
                }
            }

            // Absurd header fields, raw and wrapped in valid gzip: ranks and dimensions that
            // claim terabytes, with the real data far too short.
            var absurd: [[UInt8]] = []
            for rank in [0, 1, 5, 200, 255] where rank != original.dimensions.count {
                var bytes = raw
                bytes[3] = UInt8(rank)
                absurd.append(bytes)
            }
            for d in 0..<original.dimensions.count {
                for value: UInt32 in [0, 0xFFFF_FFFF, 0x7FFF_FFFF, 0x8000_0000, 0x0001_0000, UInt32(original.dimensions[d] + 1)] {
                    var bytes = raw
                    bytes.replaceSubrange((4 + 4 * d)..<(8 + 4 * d), with: bigEndian(value))
                    absurd.append(bytes)
                }
            }
            absurd.append([0, 0, 0x08, 3] + bigEndian(0xFFFF_FFFF) + bigEndian(0xFFFF_FFFF) + bigEndian(0xFFFF_FFFF) + [1, 2, 3])
            absurd.append([0, 0, 0x0E, 4] + [UInt8](repeating: 0xFF, count: 16))
            absurd.append([0, 0, 0x08, 255] + [UInt8](repeating: 0x7F, count: 1020))
            for type: UInt8 in [0x00, 0x07, 0x0A, 0x0F, 0x10, 0xFF] {
                var bytes = raw
                bytes[2] = type
                absurd.append(bytes)
            }
            for (i, bytes) in absurd.enumerated() {
                check(bytes, name: name, what: "absurd header #\(i)", mayBeValid: false, tally: &tally)
                check(try gzip(bytes), name: name + ".gz", what: "gzip'd absurd header #\(i)",
                      mayBeValid: false, tally: &tally)
            }
        }

        // Random bytes, some starting with the gzip magic or a plausible IDX magic.
        for i in 0..<1000 {
            let length = Int(rng.next() % 64)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if i % 3 == 1 && bytes.count >= 2 { bytes[0] = 0x1f; bytes[1] = 0x8b }
            if i % 3 == 2 && bytes.count >= 4 { bytes[0] = 0; bytes[1] = 0; bytes[2] = 0x08; bytes[3] = UInt8(i % 4) }
            // A random tail can complete a tiny valid file; anything accepted must re-encode to itself.
            tally.cases += 1
            do {
                let file = try IDXFile(fileBytes: bytes, path: "/fuzz/random")
                tally.accepted += 1
                if !isGzip(bytes) && file.encoded() != bytes { tally.record("random #\(i): accepted but re-encodes differently") }
            } catch let e as DataError {
                tally.errors += 1
                if !e.description.hasPrefix("random: ") { tally.record("random #\(i): unclear message \"\(e)\"") }
            }
        }

        let growth = peakResidentMB() - peakBefore
        print("IDX fuzz: \(tally.cases) cases, \(tally.errors) errors thrown, \(tally.accepted) accepted (valid after corruption), 0 crashes, peak RSS growth \(Int(growth)) MB")
        #expect(tally.problems.isEmpty, "\(tally.problems.joined(separator: "\n"))")
        #expect(tally.cases >= 3000)
        #expect(tally.errors >= tally.cases / 2)
    }

    @Test func absurdSizesInGzipNeverAllocateWhatTheHeaderClaims() throws {
        // A valid gzip stream whose IDX header claims 4 GiB × 4 GiB of data but holds 3 bytes.
        let claim = [0, 0, 0x08, 2] + bigEndian(0xFFFF_FFFF) + bigEndian(0xFFFF_FFFF) + [1, 2, 3]
        let message = thrownMessage { try IDXFile(fileBytes: try gzip(claim), path: "huge.gz") }
        #expect(message?.hasPrefix("huge.gz: ") == true)
        #expect(message?.contains("4294967295×4294967295") == true, "the message shows the claimed shape: \(message ?? "nil")")
    }
}
