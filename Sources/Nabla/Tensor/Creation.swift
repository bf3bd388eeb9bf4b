extension Tensor {
    // MARK: from Swift values

    /// A scalar (rank-0) float32 tensor.
    public init(_ value: Float) {
        self.init(shape: [], scalars: [value])
    }

    /// A scalar tensor of the given dtype.
    public init(_ value: Double, dtype: DType) {
        self = Tensor.full([], value: value, dtype: dtype)
    }

    /// A tensor of `shape` holding `scalars` in row-major order (float32).
    public init(shape: [Int], scalars: [Float]) {
        self.init(shape: shape, typedScalars: scalars)
    }

    /// A tensor of `shape` holding `scalars` in row-major order (float64).
    public init(shape: [Int], scalars: [Double]) {
        self.init(shape: shape, typedScalars: scalars)
    }

    /// A tensor of `shape` holding `scalars` converted to `dtype`.
    public init(shape: [Int], scalars: [Double], dtype: DType) {
        switch dtype {
        case .float64: self.init(shape: shape, typedScalars: scalars)
        case .float32: self.init(shape: shape, typedScalars: scalars.map { Float($0) })
        }
    }

    init<T: TensorScalar>(shape: [Int], typedScalars scalars: [T]) {
        Tensor.validate(shape: shape, op: "Tensor(shape:scalars:)")
        guard shape.elementCount == scalars.count else {
            opFailure("Tensor(shape:scalars:)", "shape \(describe(shape)) holds \(shape.elementCount) elements but \(scalars.count) were given")
        }
        let s = TensorStorage.make(count: scalars.count, dtype: T.dtype)
        scalars.withUnsafeBufferPointer { src in
            s.pointer(as: T.self).update(from: src.baseAddress!, count: src.count)
        }
        self.init(storage: s, shape: shape)
    }

    /// A 1-D float32 tensor.
    public init(_ scalars: [Float]) { self.init(shape: [scalars.count], scalars: scalars) }
    /// A 1-D float64 tensor.
    public init(_ scalars: [Double]) { self.init(shape: [scalars.count], scalars: scalars) }

    /// A 2-D float32 tensor from rows of equal length.
    public init(_ rows: [[Float]]) {
        self.init(shape: Tensor.nestedShape(rows.map(\.count), outer: rows.count), scalars: rows.flatMap { $0 })
    }
    /// A 2-D float64 tensor from rows of equal length.
    public init(_ rows: [[Double]]) {
        self.init(shape: Tensor.nestedShape(rows.map(\.count), outer: rows.count), scalars: rows.flatMap { $0 })
    }
    /// A 3-D float32 tensor from planes of equal-length rows.
    public init(_ planes: [[[Float]]]) {
        let rows = planes.map { Tensor.nestedShape($0.map(\.count), outer: $0.count) }
        Tensor.checkPlanes(rows)
        self.init(shape: [planes.count] + (rows.first ?? [0, 0]), scalars: planes.flatMap { $0.flatMap { $0 } })
    }
    /// A 3-D float64 tensor from planes of equal-length rows.
    public init(_ planes: [[[Double]]]) {
        let rows = planes.map { Tensor.nestedShape($0.map(\.count), outer: $0.count) }
        Tensor.checkPlanes(rows)
        self.init(shape: [planes.count] + (rows.first ?? [0, 0]), scalars: planes.flatMap { $0.flatMap { $0 } })
    }

    private static func checkPlanes(_ shapes: [[Int]]) {
        if let bad = shapes.firstIndex(where: { $0 != shapes[0] }) {
            opFailure("Tensor(_:)", "ragged nested array: plane 0 is \(describe(shapes[0])), plane \(bad) is \(describe(shapes[bad]))")
        }
    }

    private static func nestedShape(_ counts: [Int], outer: Int) -> [Int] {
        let inner = counts.first ?? 0
        if let bad = counts.firstIndex(where: { $0 != inner }) {
            opFailure("Tensor(_:)", "ragged nested array: row 0 has \(inner) elements, row \(bad) has \(counts[bad])")
        }
        return [outer, inner]
    }

    static func validate(shape: [Int], op: String) {
        if let d = shape.first(where: { $0 < 0 }) {
            opFailure(op, "shape \(describe(shape)) has a negative dimension \(d)")
        }
    }

    // MARK: filled tensors

    /// A tensor of `shape` with every element equal to `value`.
    public static func full(_ shape: [Int], value: Double, dtype: DType = .float32) -> Tensor {
        validate(shape: shape, op: "full")
        let n = shape.elementCount
        let s = TensorStorage.make(count: n, dtype: dtype)
        switch dtype {
        case .float32: s.pointer(as: Float.self).initialize(repeating: Float(value), count: n)
        case .float64: s.pointer(as: Double.self).initialize(repeating: value, count: n)
        }
        return Tensor(storage: s, shape: shape)
    }

    /// Zeros of `shape`.
    public static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        validate(shape: shape, op: "zeros")
        return Tensor(storage: .zeros(count: shape.elementCount, dtype: dtype), shape: shape)
    }

    /// A tensor of `shape` whose values `initializer` writes, with no zero fill first (as
    /// `Array(unsafeUninitializedCapacity:initializingWith:)`): for values produced straight
    /// into place, such as a data loader converting a batch of images. The initializer must
    /// write every element; the buffer starts with arbitrary contents.
    public init<T: TensorScalar>(unsafeUninitializedShape shape: [Int], of _: T.Type,
                                 initializingWith initializer: (UnsafeMutableBufferPointer<T>) throws -> Void) rethrows {
        Tensor.validate(shape: shape, op: "Tensor(unsafeUninitializedShape:)")
        let storage = TensorStorage.make(count: shape.elementCount, dtype: T.dtype)
        try initializer(UnsafeMutableBufferPointer(start: storage.pointer(as: T.self), count: shape.elementCount))
        self.init(storage: storage, shape: shape)
    }

    /// Ones of `shape`.
    public static func ones(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        full(shape, value: 1, dtype: dtype)
    }

    /// Zeros with the shape and dtype of `other`.
    public static func zeros(like other: Tensor) -> Tensor { zeros(other.shape, dtype: other.dtype) }
    /// Ones with the shape and dtype of `other`.
    public static func ones(like other: Tensor) -> Tensor { ones(other.shape, dtype: other.dtype) }
    /// `value` everywhere, with the shape and dtype of `other`.
    public static func full(like other: Tensor, value: Double) -> Tensor {
        full(other.shape, value: value, dtype: other.dtype)
    }

    /// `start, start + step, …` up to but excluding `end` (like NumPy's `arange`).
    public static func arange(_ start: Double = 0, _ end: Double, step: Double = 1,
                              dtype: DType = .float32) -> Tensor {
        guard step != 0, step.isFinite else { opFailure("arange", "step must be finite and non-zero, got \(step)") }
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        return Tensor(shape: [n], scalars: (0..<n).map { start + Double($0) * step }, dtype: dtype)
    }

    /// `count` evenly spaced values from `start` to `end`, both included.
    public static func linspace(_ start: Double, _ end: Double, count: Int,
                                dtype: DType = .float32) -> Tensor {
        guard count >= 0 else { opFailure("linspace", "count must be ≥ 0, got \(count)") }
        let step = count > 1 ? (end - start) / Double(count - 1) : 0
        return Tensor(shape: [count], scalars: (0..<count).map {
            $0 == count - 1 ? end : start + Double($0) * step
        }, dtype: dtype)
    }

    /// The n×n identity matrix.
    public static func identity(_ n: Int, dtype: DType = .float32) -> Tensor {
        guard n >= 0 else { opFailure("identity", "size must be ≥ 0, got \(n)") }
        var scalars = [Double](repeating: 0, count: n * n)
        for i in 0..<n { scalars[i * n + i] = 1 }
        return Tensor(shape: [n, n], scalars: scalars, dtype: dtype)
    }

    // MARK: random tensors

    /// Samples from N(mean, std²) drawn from `generator`.
    public static func randomNormal(_ shape: [Int], mean: Double = 0, std: Double = 1,
                                    dtype: DType = .float32,
                                    using generator: inout RandomGenerator) -> Tensor {
        validate(shape: shape, op: "randomNormal")
        var t = Tensor.zeros(shape, dtype: dtype)
        switch dtype {
        case .float32: t.withUnsafeMutableBufferPointer(as: Float.self) { generator.fillNormal($0, mean: mean, std: std) }
        case .float64: t.withUnsafeMutableBufferPointer(as: Double.self) { generator.fillNormal($0, mean: mean, std: std) }
        }
        return t
    }

    /// Samples from N(mean, std²): from a generator made from `seed`, or from the shared
    /// generator (`GlobalRandom`) when `seed` is nil.
    public static func randomNormal(_ shape: [Int], mean: Double = 0, std: Double = 1,
                                    dtype: DType = .float32, seed: UInt64? = nil) -> Tensor {
        if let seed {
            var g = RandomGenerator(seed: seed)
            return randomNormal(shape, mean: mean, std: std, dtype: dtype, using: &g)
        }
        return GlobalRandom.withGenerator { randomNormal(shape, mean: mean, std: std, dtype: dtype, using: &$0) }
    }

    /// Samples from the uniform distribution on [low, high) drawn from `generator`.
    public static func randomUniform(_ shape: [Int], low: Double = 0, high: Double = 1,
                                     dtype: DType = .float32,
                                     using generator: inout RandomGenerator) -> Tensor {
        validate(shape: shape, op: "randomUniform")
        guard low <= high else { opFailure("randomUniform", "low \(low) is above high \(high)") }
        var t = Tensor.zeros(shape, dtype: dtype)
        switch dtype {
        case .float32: t.withUnsafeMutableBufferPointer(as: Float.self) { generator.fillUniform($0, low: low, high: high) }
        case .float64: t.withUnsafeMutableBufferPointer(as: Double.self) { generator.fillUniform($0, low: low, high: high) }
        }
        return t
    }

    /// Samples from U[low, high): from a generator made from `seed`, or from the shared one.
    public static func randomUniform(_ shape: [Int], low: Double = 0, high: Double = 1,
                                     dtype: DType = .float32, seed: UInt64? = nil) -> Tensor {
        if let seed {
            var g = RandomGenerator(seed: seed)
            return randomUniform(shape, low: low, high: high, dtype: dtype, using: &g)
        }
        return GlobalRandom.withGenerator { randomUniform(shape, low: low, high: high, dtype: dtype, using: &$0) }
    }

    /// Normal samples with the shape and dtype of `other`.
    public static func randomNormal(like other: Tensor, mean: Double = 0, std: Double = 1,
                                    seed: UInt64? = nil) -> Tensor {
        randomNormal(other.shape, mean: mean, std: std, dtype: other.dtype, seed: seed)
    }
    /// Uniform samples with the shape and dtype of `other`.
    public static func randomUniform(like other: Tensor, low: Double = 0, high: Double = 1,
                                     seed: UInt64? = nil) -> Tensor {
        randomUniform(other.shape, low: low, high: high, dtype: other.dtype, seed: seed)
    }

    // MARK: reading values back

    /// All elements in row-major order, as Float.
    public var scalars: [Float] { scalars(as: Float.self) }

    /// All elements in row-major order, converted to `T`.
    public func scalars<T: TensorScalar>(as _: T.Type) -> [T] {
        switch dtype {
        case .float32:
            let p = storage.pointer(as: Float.self)
            if T.self == Float.self { return Array(UnsafeBufferPointer(start: p, count: count)) as! [T] }
            return (0..<count).map { T(Double(p[$0])) }
        case .float64:
            let p = storage.pointer(as: Double.self)
            if T.self == Double.self { return Array(UnsafeBufferPointer(start: p, count: count)) as! [T] }
            return (0..<count).map { T(p[$0]) }
        }
    }

    /// The value of a one-element tensor, as Float.
    public var scalar: Float { Float(scalarDouble(op: "scalar")) }

    /// The value of a one-element tensor, as Double.
    public var doubleScalar: Double { scalarDouble(op: "doubleScalar") }

    private func scalarDouble(op: String) -> Double {
        guard count == 1 else { opFailure(op, "tensor of shape \(describe(shape)) has \(count) elements, not 1") }
        return element(atFlatIndex: 0)
    }

    /// The element at `indices` (one per dimension; negative counts from the end), as Double.
    public func element(at indices: Int...) -> Double { element(at: indices) }

    /// The element at `indices` (one per dimension; negative counts from the end), as Double.
    public func element(at indices: [Int]) -> Double {
        guard indices.count == rank else {
            opFailure("element(at:)", "\(indices.count) indices for a tensor of rank \(rank) (shape \(describe(shape)))")
        }
        var flat = 0
        for (d, var i) in indices.enumerated() {
            if i < 0 { i += shape[d] }
            guard i >= 0 && i < shape[d] else {
                opFailure("element(at:)", "index \(indices[d]) is out of range for dimension \(d) of size \(shape[d])")
            }
            flat = flat * shape[d] + i
        }
        return element(atFlatIndex: flat)
    }

    func element(atFlatIndex i: Int) -> Double {
        switch dtype {
        case .float32: Double(storage.pointer(as: Float.self)[i])
        case .float64: storage.pointer(as: Double.self)[i]
        }
    }

    /// The same values converted to `dtype` (differentiable: the gradient is converted back).
    public func cast(to dtype: DType) -> Tensor {
        if dtype == self.dtype { return self }
        let out = TensorStorage.make(count: count, dtype: dtype)
        switch (self.dtype, dtype) {
        case (.float32, .float64):
            let s = storage.pointer(as: Float.self), d = out.pointer(as: Double.self)
            for i in 0..<count { d[i] = Double(s[i]) }
        case (.float64, .float32):
            let s = storage.pointer(as: Double.self), d = out.pointer(as: Float.self)
            for i in 0..<count { d[i] = Float(s[i]) }
        default: break
        }
        let source = self.dtype
        return Tensor(storage: out, shape: shape).recorded("cast", self) { g, _ in [g.cast(to: source)] }
    }
}
