import Foundation
import Testing
import Nabla
@testable import NablaNN

// Thousands of corrupted variants of a real checkpoint (a model's parameters, Adam's state and
// metadata): truncated at every length, bytes flipped everywhere, absurd header lengths,
// shapes and offsets, every wrong dtype, overlapping offsets, JSON cut short, non-UTF-8 bytes.
// Each must throw a one-line SafeTensorsError (or, where the corruption could leave a valid
// file, decode consistently); a crash would end the test process, a hang hits the time limit.

/// What the fuzz loop saw.
private struct FuzzTally {
    var cases = 0
    var errors = 0
    var accepted = 0
    var problems: [String] = []

    mutating func record(_ problem: String) {
        if problems.count < 10 { problems.append(problem) }
    }

    /// Decodes `bytes`; `mayBeValid` says whether the corruption could have left a valid file.
    mutating func check(_ bytes: [UInt8], _ what: @autoclosure () -> String, mayBeValid: Bool) {
        cases += 1
        do {
            let contents = try SafeTensors.decode(bytes)
            accepted += 1
            if !mayBeValid {
                record("\(what()): accepted a corrupt file (\(contents.tensors.count) tensors)")
            }
        } catch let e as SafeTensorsError {
            errors += 1
            let message = e.description
            if !message.hasPrefix("safetensors: ") || message.contains("\n") || message.count < 25 {
                record("\(what()): unclear message \"\(message)\"")
            }
        } catch {
            errors += 1
            record("\(what()): threw \(type(of: error)) instead of SafeTensorsError: \(error)")
        }
    }
}

/// A small model and the bytes of its checkpoint after one Adam step (model tensors, optimizer
/// state and metadata, as `Checkpoint.save` writes them).
private func realCheckpoint() throws -> (model: OptTestNet, optimizer: Adam, bytes: [UInt8]) {
    let model = OptTestNet(seed: 4)
    let adam = Adam(parameters: model.trainableParameters(), learningRate: 0.01)
    optTrainStep(model, adam)
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-fuzz-\(UUID())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = folder.appendingPathComponent("seed.safetensors")
    try Checkpoint.save(model, optimizer: adam, metadata: ["epoch": "3", "note": "ünï"], to: url)
    return (model, adam, [UInt8](try Data(contentsOf: url)))
}

/// A file made of a header (its length written in front) and data bytes.
private func assemble(_ header: [UInt8], _ data: ArraySlice<UInt8>) -> [UInt8] {
    withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header + data
}

/// Every range of `text` matching `pattern` (a regular expression).
private func matches(_ pattern: String, in text: String) -> [Range<String.Index>] {
    let regex = try! NSRegularExpression(pattern: pattern)
    return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { Range($0.range, in: text) }
}

@Suite("Checkpoint fuzzing") struct CheckpointFuzzTests {
    @Test(.timeLimit(.minutes(1)))
    func corruptedCheckpointsThrowClearErrors() throws {
        let (_, _, valid) = try realCheckpoint()
        let headerLength = Int(valid.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let headerEnd = 8 + headerLength
        let header = Array(valid[8..<headerEnd])
        let data = valid[headerEnd...]
        let headerText = String(decoding: header, as: UTF8.self)
        var tally = FuzzTally()
        var rng = RandomGenerator(seed: 7)

        // 1. Truncated at every length: the tensors must tile the data region, so no prefix is valid.
        for n in 0..<valid.count {
            tally.check(Array(valid[..<n]), "truncated to \(n) of \(valid.count)", mayBeValid: false)
        }
        tally.check(valid + [0], "one trailing byte", mayBeValid: false)

        // 2. Flipped bytes: in the length they break the framing; in the header they may give
        //    valid JSON with other names or metadata; in the data any bits are valid values.
        for position in 0..<valid.count {
            let masks: [UInt8] = position < headerEnd ? [0x01, 0x20, 0x80, UInt8.random(in: 1...255, using: &rng)] : [0xFF]
            for mask in masks {
                var bytes = valid
                bytes[position] ^= mask
                tally.check(bytes, "byte \(position) ^ \(mask)", mayBeValid: position >= 8)
            }
        }

        // 3. Absurd header lengths.
        for length: UInt64 in [0, 1, 7, UInt64(headerLength - 1), UInt64(headerLength + 1), UInt64(valid.count),
                               UInt64(SafeTensors.maximumHeaderLength), UInt64(SafeTensors.maximumHeaderLength) + 1,
                               1 << 32, 1 << 62, UInt64(Int.max), UInt64.max] {
            var bytes = valid
            bytes.replaceSubrange(0..<8, with: withUnsafeBytes(of: length.littleEndian, Array.init))
            tally.check(bytes, "header length \(length)", mayBeValid: false)
        }

        // 4. The JSON cut short at every length (the length field adjusted to match).
        //    Cuts inside the trailing space padding leave the JSON whole.
        let jsonLength = (header.lastIndex { $0 != UInt8(ascii: " ") } ?? -1) + 1
        for n in 0..<header.count {
            tally.check(assemble(Array(header[..<n]), data), "JSON cut to \(n)", mayBeValid: n >= jsonLength)
        }

        // 5. Non-UTF-8 bytes inserted anywhere in the header.
        let invalidUTF8: [[UInt8]] = [[0x80], [0xC0, 0xAF], [0xFF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]]
        for position in stride(from: 0, through: header.count, by: 3) {
            for bad in invalidUTF8 {
                var h = header
                h.insert(contentsOf: bad, at: position)
                tally.check(assemble(h, data), "non-UTF-8 \(bad) at \(position)", mayBeValid: false)
            }
        }

        // 6. JSON punctuation inserted anywhere. Inside a name or a metadata string most
        //    characters are legal; a control character never is.
        for position in 0...header.count {
            let punctuation = Array("{}[]\",:\\0-e\u{1}".utf8)
            let c = punctuation[Int(rng.next() % UInt64(punctuation.count))]
            var h = header
            h.insert(c, at: position)
            tally.check(assemble(h, data), "'\(c)' inserted at \(position)", mayBeValid: c != 0x01)
        }

        // 7. Structural rewrites of the header's text: every dtype, absurd shapes and offsets.
        func rewrite(_ pattern: String, with replacements: [String], mayBeValid: Bool = false) {
            for range in matches(pattern, in: headerText) {
                for replacement in replacements where replacement != headerText[range] {
                    var text = headerText
                    text.replaceSubrange(range, with: replacement)
                    tally.check(assemble(Array(text.utf8), data), "\(headerText[range]) → \(replacement)", mayBeValid: mayBeValid)
                }
            }
        }
        let dtypes = ["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "I64", "U64", "F8_E5M2",
                      "F8_E4M3", "C64", "f32", "F32 ", "", "FLOAT", "F128"].map { "\"dtype\":\"\($0)\"" }
            + ["\"dtype\":32", "\"dtype\":null", "\"dtype\":[\"F32\"]", "\"dtype\":{}", "\"dtype\":\"F64\""]
        rewrite("\"dtype\":\"F32\"", with: dtypes)
        rewrite("\"shape\":\\[[0-9,]*\\]", with: [
            "\"shape\":[4294967296,4294967296]", "\"shape\":[9223372036854775807]", "\"shape\":[9223372036854775807,2]",
            "\"shape\":[99999999999999999999]", "\"shape\":[-1]", "\"shape\":[1.0]", "\"shape\":[1e3]",
            "\"shape\":[3037000500,3037000500]", "\"shape\":[\"3\"]", "\"shape\":3", "\"shape\":[[3]]",
            "\"shape\":[1000000,1000000,1000000]", "\"shape\":[0]", "\"shape\":[1,1,1,1,1,1,1,1,1,99]",
        ])
        rewrite("\"data_offsets\":\\[[0-9]+,[0-9]+\\]", with: [
            "\"data_offsets\":[0,0]", "\"data_offsets\":[0,8]", "\"data_offsets\":[4,4]",
            "\"data_offsets\":[0,18446744073709551615]", "\"data_offsets\":[9223372036854775807,9223372036854775807]",
            "\"data_offsets\":[9223372036854775800,9223372036854775807]", "\"data_offsets\":[1,0]",
            "\"data_offsets\":[-4,8]", "\"data_offsets\":[0,1e2]", "\"data_offsets\":[0]", "\"data_offsets\":[0,8,16]",
            "\"data_offsets\":null", "\"data_offsets\":[\"0\",\"8\"]", "\"data_offsets\":[0.0,8.0]",
            "\"data_offsets\":[\(data.count),\(data.count + 8)]", "\"data_offsets\":[\(data.count - 4),\(data.count + 4)]",
        ])
        rewrite("\"__metadata__\":\\{", with: ["\"__metadata__\":{\"n\":1,", "\"__metadata__\":{\"n\":null,",
                                               "\"__metadata__\":{\"\\ud800\":\"x\",", "\"__metadata__\":{\"\\uZZZZ\":\"x\","])

        // 8. Overlapping, shifted and swapped offsets for every pair of tensors.
        let offsetRanges = matches("\\[[0-9]+,[0-9]+\\]\\}", in: headerText)
        for (i, a) in offsetRanges.enumerated() {
            for b in offsetRanges[(i + 1)...] {
                var text = headerText
                let first = String(headerText[a]), second = String(headerText[b])
                // b's range given to a: two tensors claim the same bytes (or a size mismatch).
                text.replaceSubrange(a, with: second)
                let copied = text
                tally.check(assemble(Array(copied.utf8), data), "offsets \(second) copied over \(first)", mayBeValid: false)
            }
        }

        // 9. Random garbage, some of it behind a plausible header length.
        for i in 0..<500 {
            let n = Int(rng.next() % 96)
            var bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if i % 2 == 0 && n >= 8 {
                bytes.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(rng.next() % UInt64(n)).littleEndian, Array.init))
            }
            tally.check(bytes, "random #\(i)", mayBeValid: true)
        }

        print("Checkpoint fuzz: \(tally.cases) cases, \(tally.errors) errors thrown, \(tally.accepted) accepted (valid after corruption), 0 crashes")
        #expect(tally.problems.isEmpty, "\(tally.problems.joined(separator: "\n"))")
        #expect(tally.cases >= 3000)
        #expect(tally.errors > tally.cases / 2)
    }

    /// Corrupt files through `Checkpoint.load`: every error is a CheckpointError naming the
    /// file, and the model and the optimizer are left exactly as they were.
    @Test(.timeLimit(.minutes(1)))
    func corruptFilesLeaveTheModelAndOptimizerUntouched() throws {
        let (_, _, valid) = try realCheckpoint()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-fuzz-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("corrupt.safetensors")

        let model = OptTestNet(seed: 99)
        let adam = Adam(parameters: model.trainableParameters(), learningRate: 0.5)
        optTrainStep(model, adam)
        let before = model.namedParameters().map { optBits($0.parameter.value) }
        let stateBefore = adam.exportState().slots.map { $0.mapValues(optBits) }

        var rng = RandomGenerator(seed: 3)
        var cases = 0, errors = 0
        for i in 0..<150 {
            var bytes = valid
            switch i % 3 {
            case 0: bytes = Array(bytes[..<Int(rng.next() % UInt64(bytes.count))])
            case 1: bytes[8 + Int(rng.next() % 200)] = rng.next() % 2 == 0 ? 0x01 : 0xFF   // never valid in the header
            default: bytes[Int(rng.next() % 8)] ^= UInt8.random(in: 1...255, using: &rng)
            }
            try Data(bytes).write(to: url)
            cases += 1
            do {
                try Checkpoint.load(into: model, optimizer: adam, from: url)
                Issue.record("case \(i): a corrupt checkpoint loaded")
            } catch let e as CheckpointError {
                errors += 1
                #expect(e.description.hasPrefix("Checkpoint.load: ") && e.description.contains("corrupt.safetensors"),
                        "case \(i): \(e.description)")
            }
        }
        #expect(errors == cases)
        #expect(model.namedParameters().map { optBits($0.parameter.value) } == before)
        #expect(adam.exportState().slots.map { $0.mapValues(optBits) } == stateBefore)
        #expect(adam.learningRate == 0.5)
    }
}
