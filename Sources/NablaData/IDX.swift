/// A file in the IDX format (LeCun's MNIST format): a magic number naming the element type
/// and the number of dimensions, the dimensions as big-endian 32-bit sizes, then the
/// elements in row-major order, big-endian.
///
/// Reading accepts raw or gzip'd files (recognized by the gzip magic 1f 8b, not by the
/// name) and validates everything: magic, type, dimensions, and that the data is exactly as
/// long as the dimensions say. Every problem is a thrown `DataError` naming the file.
public struct IDXFile: Equatable, Sendable {
    /// The element type, as stored in the third byte of the magic number.
    public enum DataType: UInt8, CaseIterable, Sendable {
        /// Unsigned 8-bit integers (MNIST's images and labels).
        case uint8 = 0x08
        /// Signed 8-bit integers.
        case int8 = 0x09
        /// Signed 16-bit big-endian integers.
        case int16 = 0x0B
        /// Signed 32-bit big-endian integers.
        case int32 = 0x0C
        /// 32-bit big-endian IEEE floats.
        case float32 = 0x0D
        /// 64-bit big-endian IEEE floats.
        case float64 = 0x0E

        /// Bytes per element.
        public var byteWidth: Int {
            switch self {
            case .uint8, .int8: return 1
            case .int16: return 2
            case .int32, .float32: return 4
            case .float64: return 8
            }
        }
    }

    /// The element type.
    public let dataType: DataType
    /// The size of each dimension, outermost first (MNIST images: `[60000, 28, 28]`).
    public let dimensions: [Int]
    /// The elements' bytes exactly as stored in the file: row-major, big-endian.
    /// For `.uint8` files these are the values themselves.
    public let data: [UInt8]

    /// The number of elements: the product of the dimensions.
    public var count: Int { dimensions.reduce(1, *) }

    /// The largest number of dimensions the format can express (one byte).
    public static let maximumRank = 255

    /// Creates an IDX file of unsigned bytes with the given dimensions.
    /// - Throws: `DataError` if `bytes.count` is not the product of `dimensions`, or a
    ///   dimension is negative or does not fit in 32 bits.
    public init(dimensions: [Int], bytes: [UInt8]) throws {
        try self.init(dataType: .uint8, dimensions: dimensions, data: bytes)
    }

    /// Creates an IDX file from elements already encoded as the format stores them
    /// (big-endian, row-major).
    /// - Throws: `DataError` if the data length does not match the dimensions, or the
    ///   dimensions cannot be written in the format.
    public init(dataType: DataType, dimensions: [Int], data: [UInt8]) throws {
        guard dimensions.count <= Self.maximumRank else {
            throw DataError(path: "<IDX>", reason: "\(dimensions.count) dimensions; the IDX format allows at most 255")
        }
        guard dimensions.allSatisfy({ $0 >= 0 && $0 <= Int(UInt32.max) }) else {
            throw DataError(path: "<IDX>", reason: "dimensions \(formatShape(dimensions)) must each be in 0…\(UInt32.max)")
        }
        guard let bytes = Self.byteCount(dimensions, width: dataType.byteWidth), bytes == data.count else {
            throw DataError(path: "<IDX>", reason: "\(formatShape(dimensions)) elements of \(dataType.byteWidth) bytes need \(Self.byteCount(dimensions, width: dataType.byteWidth).map(String.init) ?? "too many") bytes, got \(data.count)")
        }
        self.dataType = dataType
        self.dimensions = dimensions
        self.data = data
    }

    /// Creates a float32 IDX file from `values` in row-major order.
    /// - Throws: `DataError` if `values.count` is not the product of `dimensions`.
    public init(dimensions: [Int], floats values: [Float]) throws {
        var data = [UInt8]()
        data.reserveCapacity(values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.bigEndian) { data.append(contentsOf: $0) } }
        try self.init(dataType: .float32, dimensions: dimensions, data: data)
    }

    /// Reads and validates the IDX file at `path`, raw or gzip'd.
    /// - Throws: `DataError` naming the file if it is missing, a directory, unreadable,
    ///   corrupt gzip, or not a valid IDX file.
    public init(contentsOf path: String) throws {
        try self.init(fileBytes: try readFileBytes(path), path: path)
    }

    /// Parses the bytes of an IDX file, raw or gzip'd; `path` only names the file in errors.
    /// - Throws: `DataError` if the bytes are not a valid IDX file.
    public init(fileBytes: [UInt8], path: String = "<memory>") throws {
        guard !fileBytes.isEmpty else { throw DataError(path: path, reason: "empty file") }
        if isGzip(fileBytes) {
            // Stop inflating one byte past what the header promises: enough to detect
            // trailing data, never more memory than the header justifies.
            var (bytes, hasMoreData) = try gunzip(fileBytes, path: path, limit: { produced in
                try Self.wantedLength(header: produced, path: path)
            })
            let header = try bytes.withUnsafeBufferPointer { try Self.validate($0, hasMoreData: hasMoreData, path: path) }
            // The data is the decompressed buffer minus its header, moved down in place:
            // no second 47 MB buffer for MNIST's training images.
            bytes.removeSubrange(0 ..< header.headerLength)
            self.init(validated: header.dataType, dimensions: header.dimensions, data: bytes)
        } else {
            let header = try fileBytes.withUnsafeBufferPointer { try Self.validate($0, hasMoreData: false, path: path) }
            self.init(validated: header.dataType, dimensions: header.dimensions,
                      data: Array(fileBytes[header.headerLength...]))
        }
    }

    /// Checks a whole (decompressed) IDX file: its header, and that the data is exactly as
    /// long as the header says.
    private static func validate(_ bytes: UnsafeBufferPointer<UInt8>, hasMoreData: Bool, path: String) throws -> Header {
        let header = try parseHeader(bytes, path: path, complete: true)
        let dataLength = bytes.count - header.headerLength
        let shape = formatShape(header.dimensions)
        let width = header.dataType.byteWidth
        let what = width == 1 ? "\(shape) bytes" : "\(shape)×\(width) bytes"
        if dataLength < header.dataLength {
            throw DataError(path: path, reason: "truncated: header says \(what) of data (\(header.dataLength)), file has \(dataLength)")
        }
        if dataLength > header.dataLength || hasMoreData {
            let has = hasMoreData ? "at least \(dataLength)" : "\(dataLength)"
            throw DataError(path: path, reason: "trailing data: header says \(what) of data (\(header.dataLength)), file has \(has)")
        }
        return header
    }

    private init(validated dataType: DataType, dimensions: [Int], data: [UInt8]) {
        self.dataType = dataType
        self.dimensions = dimensions
        self.data = data
    }

    // MARK: Header

    struct Header {
        var dataType: DataType
        var dimensions: [Int]
        var headerLength: Int
        var dataLength: Int
    }

    /// Total data bytes for these dimensions, or nil on overflow.
    static func byteCount(_ dimensions: [Int], width: Int) -> Int? {
        var total = width
        for d in dimensions {
            let (p, overflow) = total.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            total = p
        }
        return total
    }

    /// How many decompressed bytes to ask for, given those produced so far: the header
    /// first, then header plus data plus one (to notice trailing data).
    static func wantedLength(header produced: UnsafeBufferPointer<UInt8>, path: String) throws -> Int {
        if produced.count < 4 { return 4 }
        let rank = Int(produced[3])
        if produced.count < 4 + 4 * rank {
            _ = try parseHeader(produced, path: path, complete: false)   // fail early on a bad magic
            return 4 + 4 * rank
        }
        let header = try parseHeader(UnsafeBufferPointer(rebasing: produced[0..<(4 + 4 * rank)]), path: path, complete: true)
        let (total, overflow) = header.headerLength.addingReportingOverflow(header.dataLength)
        return overflow || total == Int.max ? Int.max : total + 1
    }

    /// Parses the magic number and dimensions. With `complete: false`, a short buffer only
    /// gets its magic checked.
    static func parseHeader(_ bytes: UnsafeBufferPointer<UInt8>, path: String, complete: Bool) throws -> Header {
        guard bytes.count >= 4 else {
            throw DataError(path: path, reason: "truncated header: \(bytes.count) bytes, need at least 4 for the magic number")
        }
        guard bytes[0] == 0, bytes[1] == 0 else {
            let hex = bytes[0..<4].map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: " ")
            throw DataError(path: path, reason: "not an IDX file: magic number \(hex) should start with 00 00")
        }
        guard let type = DataType(rawValue: bytes[2]) else {
            throw DataError(path: path, reason: "bad data type byte 0x\(String(bytes[2], radix: 16).leftPadded(to: 2)) (expected 08, 09, 0b, 0c, 0d or 0e)")
        }
        let rank = Int(bytes[3])
        let headerLength = 4 + 4 * rank
        guard bytes.count >= headerLength else {
            if !complete { return Header(dataType: type, dimensions: [], headerLength: headerLength, dataLength: 0) }
            throw DataError(path: path, reason: "truncated header: \(rank) dimensions need \(headerLength) header bytes, file has \(bytes.count)")
        }
        var dimensions = [Int]()
        dimensions.reserveCapacity(rank)
        for i in 0..<rank {
            let o = 4 + 4 * i
            dimensions.append(Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3]))
        }
        // Int.max is reserved so that "header + data + 1" never overflows.
        guard let dataLength = byteCount(dimensions, width: type.byteWidth),
              !headerLength.addingReportingOverflow(dataLength).overflow,
              headerLength + dataLength < Int.max else {
            throw DataError(path: path, reason: "absurd dimensions \(formatShape(dimensions)): data size overflows 64 bits")
        }
        return Header(dataType: type, dimensions: dimensions, headerLength: headerLength, dataLength: dataLength)
    }

    // MARK: Values

    /// The elements converted to `Float`, in row-major order (any data type).
    public func floats() -> [Float] { values(Float.self) }

    /// The elements converted to `Double`, in row-major order (any data type).
    public func doubles() -> [Double] { values(Double.self) }

    private func values<T: BinaryFloatingPoint>(_: T.Type) -> [T] {
        let n = count
        return data.withUnsafeBufferPointer { b in
            [T](unsafeUninitializedCapacity: n) { out, initialized in
                func be(_ i: Int, _ width: Int) -> UInt64 {
                    var v: UInt64 = 0
                    for k in 0..<width { v = v << 8 | UInt64(b[i * width + k]) }
                    return v
                }
                switch dataType {
                case .uint8: for i in 0..<n { out[i] = T(b[i]) }
                case .int8: for i in 0..<n { out[i] = T(Int8(bitPattern: b[i])) }
                case .int16: for i in 0..<n { out[i] = T(Int16(bitPattern: UInt16(be(i, 2)))) }
                case .int32: for i in 0..<n { out[i] = T(Int32(bitPattern: UInt32(be(i, 4)))) }
                case .float32: for i in 0..<n { out[i] = T(Float(bitPattern: UInt32(be(i, 4)))) }
                case .float64: for i in 0..<n { out[i] = T(Double(bitPattern: be(i, 8))) }
                }
                initialized = n
            }
        }
    }

    // MARK: Writing

    /// The file's bytes in the IDX format, uncompressed.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = [0, 0, dataType.rawValue, UInt8(dimensions.count)]
        out.reserveCapacity(4 + 4 * dimensions.count + data.count)
        for d in dimensions {
            let u = UInt32(d)
            out += [UInt8(u >> 24), UInt8(u >> 16 & 0xFF), UInt8(u >> 8 & 0xFF), UInt8(u & 0xFF)]
        }
        out += data
        return out
    }

    /// Writes the file to `path` atomically, gzip'd when `gzip` is true.
    /// - Throws: `DataError` naming `path` if it cannot be written.
    public func write(to path: String, gzip compress: Bool) throws {
        let bytes = compress ? try gzip(encoded(), path: path) : encoded()
        try writeFileBytes(bytes, to: path)
    }

    /// Writes the file to `path` atomically, gzip'd when the path ends in `.gz`.
    /// - Throws: `DataError` naming `path` if it cannot be written.
    public func write(to path: String) throws {
        try write(to: path, gzip: path.hasSuffix(".gz"))
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
