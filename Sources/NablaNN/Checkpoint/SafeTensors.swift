import Foundation
import Nabla
#if canImport(Glibc)
import Glibc
#endif

/// Why a safetensors file could not be read or written: a one-line description naming the
/// file (when known), the tensor and the rule broken.
public struct SafeTensorsError: Error, CustomStringConvertible {
    /// The explanation.
    public let description: String
    /// An error with the given explanation.
    public init(_ description: String) { self.description = description }
}

/// Reads and writes the safetensors format used by Hugging Face and PyTorch, so that weights
/// move between Nabla and Python.
///
/// Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping each tensor
/// name to `{"dtype", "shape", "data_offsets": [begin, end]}` (plus an optional
/// `"__metadata__"` of string → string), then the raw little-endian data; offsets count from
/// the first byte after the header. The reader checks every rule of the format and throws
/// on any violation; it never traps, whatever the bytes.
public enum SafeTensors {
    /// The largest header accepted (the reference implementation's limit), so that a corrupt
    /// length cannot make the reader allocate gigabytes.
    public static let maximumHeaderLength = 100_000_000

    /// The key of the free-form string metadata in the header.
    public static let metadataKey = "__metadata__"

    /// The contents of a safetensors file.
    public struct Contents {
        /// The tensors, in the order of their data in the file.
        public var tensors: [(name: String, tensor: Tensor)]
        /// The free-form metadata (empty when the file has none).
        public var metadata: [String: String]

        /// Contents with the given tensors and metadata.
        public init(tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) {
            self.tensors = tensors
            self.metadata = metadata
        }

        /// The tensor called `name`, if any.
        public subscript(name: String) -> Tensor? { tensors.first { $0.name == name }?.tensor }
    }

    // MARK: writing

    /// The file's bytes for `tensors` and `metadata`. Float64 tensors come first and the
    /// header is padded with spaces to a multiple of 8, so every tensor's data is aligned to its
    /// element size. Throws on duplicate names or the reserved name `__metadata__`.
    public static func encode(_ tensors: [(name: String, tensor: Tensor)],
                              metadata: [String: String] = [:]) throws -> [UInt8] {
        var seen = Set<String>()
        for (name, _) in tensors {
            guard name != metadataKey else {
                throw SafeTensorsError("safetensors: a tensor may not be named \"\(metadataKey)\" (reserved for metadata)")
            }
            guard seen.insert(name).inserted else {
                throw SafeTensorsError("safetensors: duplicate tensor name \"\(name)\"")
            }
        }
        let ordered = tensors.sorted { a, b in
            a.tensor.dtype.byteCount != b.tensor.dtype.byteCount
                ? a.tensor.dtype.byteCount > b.tensor.dtype.byteCount : a.name < b.name
        }
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(jsonQuoted($0.key)):\(jsonQuoted($0.value))" }
            entries.append("\(jsonQuoted(metadataKey)):{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for (name, t) in ordered {
            let size = t.count * t.dtype.byteCount
            let dtype = t.dtype == .float32 ? "F32" : "F64"
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonQuoted(name)):{\"dtype\":\"\(dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + size)]}")
            offset += size
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }

        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: header)
        for (_, t) in ordered {
            switch t.dtype {
            case .float32: appendLittleEndian(t, UInt32.self, Float.self, to: &bytes)
            case .float64: appendLittleEndian(t, UInt64.self, Double.self, to: &bytes)
            }
        }
        return bytes
    }

    private static func appendLittleEndian<Bits: FixedWidthInteger, T: TensorScalar>(
        _ t: Tensor, _: Bits.Type, _: T.Type, to bytes: inout [UInt8]
    ) {
        t.withUnsafeBufferPointer(as: T.self) { src in
            #if _endian(little)
            bytes.append(contentsOf: UnsafeRawBufferPointer(src))
            #else
            src.withMemoryRebound(to: Bits.self) { bits in
                for b in bits { withUnsafeBytes(of: b.littleEndian) { bytes.append(contentsOf: $0) } }
            }
            #endif
        }
    }

    /// Writes `tensors` and `metadata` to `url` atomically: the bytes go to a temporary file in
    /// the same folder, which is flushed to disk and then renamed over `url`, so a crash leaves
    /// either the old file or the new one, never a half-written file.
    public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:],
                             to url: URL) throws {
        try writeAtomically(try encode(tensors, metadata: metadata), to: url)
    }

    // MARK: reading

    /// Reads and validates the safetensors file at `url`.
    public static func read(from url: URL) throws -> Contents {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw SafeTensorsError("safetensors: cannot read \(url.path): \(error.localizedDescription)")
        }
        do {
            return try data.withUnsafeBytes { try decode($0) }
        } catch let e as SafeTensorsError {
            throw SafeTensorsError("\(url.lastPathComponent): \(e.description)")
        }
    }

    /// Parses and validates the bytes of a safetensors file.
    public static func decode(_ bytes: [UInt8]) throws -> Contents {
        try bytes.withUnsafeBytes { try decode($0) }
    }

    /// Parses and validates the bytes of a safetensors file.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> Contents {
        guard bytes.count >= 8 else {
            throw SafeTensorsError("safetensors: the file is \(bytes.count) bytes, too short for the 8-byte header length")
        }
        var length64: UInt64 = 0
        for i in (0..<8).reversed() { length64 = length64 << 8 | UInt64(bytes[i]) }
        guard length64 <= UInt64(maximumHeaderLength) else {
            throw SafeTensorsError("safetensors: header length \(length64) exceeds the limit of \(maximumHeaderLength) bytes")
        }
        let headerLength = Int(length64)
        guard headerLength <= bytes.count - 8 else {
            throw SafeTensorsError("safetensors: header length \(headerLength) exceeds the \(bytes.count - 8) bytes after the length (file truncated?)")
        }
        let header = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + headerLength)])
        guard String(validating: header, as: UTF8.self) != nil else {
            throw SafeTensorsError("safetensors: the header is not valid UTF-8")
        }
        let json: HeaderJSON
        do {
            json = try HeaderJSON.parse(header)
        } catch {
            throw SafeTensorsError("safetensors: invalid JSON header: \(error.message)")
        }
        guard case .object(let members) = json else {
            throw SafeTensorsError("safetensors: the header is \(json.kind), expected a JSON object")
        }
        let data = UnsafeRawBufferPointer(rebasing: bytes[(8 + headerLength)...])

        var metadata: [String: String] = [:]
        var layouts: [Layout] = []
        for (name, value) in members {
            if name == metadataKey {
                metadata = try parseMetadata(value)
            } else {
                layouts.append(try parseLayout(name, value, dataCount: data.count))
            }
        }
        try checkCoverage(layouts, dataCount: data.count)

        let tensors = layouts.map { layout in
            (name: layout.name, tensor: makeTensor(layout, data))
        }
        return Contents(tensors: tensors, metadata: metadata)
    }

    /// Where one tensor's data lies and how to read it.
    private struct Layout {
        let name: String
        let dtype: DType
        let shape: [Int]
        let begin: Int
        let end: Int
    }

    /// The dtype names of the format that Nabla recognises but cannot hold.
    private static let otherDTypes: Set<String> = [
        "BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "I64", "U64",
        "F8_E5M2", "F8_E4M3", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64",
    ]

    private static func parseMetadata(_ value: HeaderJSON) throws -> [String: String] {
        guard case .object(let pairs) = value else {
            throw SafeTensorsError("safetensors: \(metadataKey) is \(value.kind), expected an object of strings")
        }
        var out: [String: String] = [:]
        for (key, v) in pairs {
            guard case .string(let s) = v else {
                throw SafeTensorsError("safetensors: \(metadataKey) entry \"\(key)\" is \(v.kind), expected a string")
            }
            out[key] = s
        }
        return out
    }

    private static func parseLayout(_ name: String, _ value: HeaderJSON, dataCount: Int) throws -> Layout {
        let what = "tensor \"\(name)\""
        guard case .object(let fields) = value else {
            throw SafeTensorsError("safetensors: \(what) is described by \(value.kind), expected an object")
        }
        var dtypeField: HeaderJSON?, shapeField: HeaderJSON?, offsetsField: HeaderJSON?
        for (key, v) in fields {
            switch key {
            case "dtype": dtypeField = v
            case "shape": shapeField = v
            case "data_offsets": offsetsField = v
            default: throw SafeTensorsError("safetensors: \(what) has an unknown field \"\(key)\"")
            }
        }
        guard let dtypeField else { throw SafeTensorsError("safetensors: \(what) has no dtype") }
        guard let shapeField else { throw SafeTensorsError("safetensors: \(what) has no shape") }
        guard let offsetsField else { throw SafeTensorsError("safetensors: \(what) has no data_offsets") }

        guard case .string(let dtypeName) = dtypeField else {
            throw SafeTensorsError("safetensors: \(what) has a dtype that is \(dtypeField.kind), expected a string")
        }
        let dtype: DType
        switch dtypeName {
        case "F32": dtype = .float32
        case "F64": dtype = .float64
        case _ where otherDTypes.contains(dtypeName):
            throw SafeTensorsError("safetensors: unsupported dtype \(dtypeName) for \(what) (Nabla reads F32 and F64)")
        default:
            throw SafeTensorsError("safetensors: unknown dtype \"\(dtypeName)\" for \(what)")
        }

        guard case .array(let dims) = shapeField else {
            throw SafeTensorsError("safetensors: \(what) has a shape that is \(shapeField.kind), expected an array")
        }
        var shape: [Int] = []
        var count = 1
        for d in dims {
            guard let n = d.nonNegativeInteger else {
                throw SafeTensorsError("safetensors: \(what) has an invalid shape dimension (expected integers ≥ 0)")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow else { throw SafeTensorsError("safetensors: \(what) has a shape too large to hold") }
            shape.append(n)
            count = product
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteCount)
        guard !overflow else { throw SafeTensorsError("safetensors: \(what) has a shape too large to hold") }

        guard case .array(let offsets) = offsetsField, offsets.count == 2,
              let begin = offsets[0].nonNegativeInteger, let end = offsets[1].nonNegativeInteger else {
            throw SafeTensorsError("safetensors: \(what) has invalid data_offsets (expected [begin, end] with integers ≥ 0)")
        }
        guard begin <= end else {
            throw SafeTensorsError("safetensors: \(what) has data_offsets [\(begin), \(end)] with begin after end")
        }
        guard end <= dataCount else {
            throw SafeTensorsError("safetensors: \(what) has data_offsets [\(begin), \(end)] out of range: the data region is \(dataCount) bytes (file truncated?)")
        }
        guard end - begin == byteCount else {
            throw SafeTensorsError("safetensors: \(what) has shape \(shape) of \(dtypeName), which needs \(byteCount) bytes, but data_offsets [\(begin), \(end)] span \(end - begin)")
        }
        return Layout(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    /// The tensors' byte ranges must tile the data region exactly: no overlap, no gap, nothing
    /// left over (as the format requires, so that no bytes hide in a file).
    private static func checkCoverage(_ layouts: [Layout], dataCount: Int) throws {
        let sorted = layouts.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var position = 0
        var previous: String?
        for l in sorted {
            if l.begin < position {
                throw SafeTensorsError("safetensors: tensors \"\(previous ?? "")\" and \"\(l.name)\" overlap (data_offsets of \"\(l.name)\" start at \(l.begin), before \(position))")
            }
            if l.begin > position {
                throw SafeTensorsError("safetensors: bytes \(position)..<\(l.begin) of the data region belong to no tensor (gap before \"\(l.name)\")")
            }
            position = l.end
            previous = l.name
        }
        guard position == dataCount else {
            throw SafeTensorsError("safetensors: the data region is \(dataCount) bytes but the tensors cover \(position) (trailing bytes)")
        }
    }

    private static func makeTensor(_ l: Layout, _ data: UnsafeRawBufferPointer) -> Tensor {
        var t = Tensor.zeros(l.shape, dtype: l.dtype)
        let source = UnsafeRawBufferPointer(rebasing: data[l.begin..<l.end])
        switch l.dtype {
        case .float32: copyLittleEndian(source, into: &t, UInt32.self, Float.self)
        case .float64: copyLittleEndian(source, into: &t, UInt64.self, Double.self)
        }
        return t
    }

    private static func copyLittleEndian<Bits: FixedWidthInteger, T: TensorScalar>(
        _ source: UnsafeRawBufferPointer, into t: inout Tensor, _: Bits.Type, _: T.Type
    ) {
        t.withUnsafeMutableBufferPointer(as: T.self) { dst in
            let raw = UnsafeMutableRawBufferPointer(dst)
            // copyMemory works at any source alignment; the bits stay as they are (NaN payloads too).
            raw.copyMemory(from: source)
            #if !_endian(little)
            dst.withMemoryRebound(to: Bits.self) { bits in
                for i in bits.indices { bits[i] = Bits(littleEndian: bits[i]) }
            }
            #endif
        }
    }
}
