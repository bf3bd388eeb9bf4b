#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The element type of a tensor.
public enum DType: String, Sendable, CustomStringConvertible {
    /// 32-bit IEEE float: the default for models and training.
    case float32
    /// 64-bit IEEE float: used by the gradient checker and by users who want it.
    case float64

    /// Bytes per element.
    public var byteCount: Int { self == .float32 ? 4 : 8 }

    /// The name as NumPy and safetensors-adjacent tools print it ("float32", "float64").
    public var description: String { rawValue }
}

/// A Swift floating-point type that can be the element of a tensor (`Float` or `Double`).
///
/// The static math functions let generic kernels call the C library's single- or
/// double-precision routine without going through Foundation.
public protocol TensorScalar: BinaryFloatingPoint, Sendable, CustomStringConvertible {
    /// The tensor dtype stored with this Swift type.
    static var dtype: DType { get }
    /// e^x.
    static func exp(_ x: Self) -> Self
    /// Natural logarithm.
    static func log(_ x: Self) -> Self
    /// Hyperbolic tangent.
    static func tanh(_ x: Self) -> Self
    /// x^y.
    static func pow(_ x: Self, _ y: Self) -> Self
    /// log(1 + x), accurate for small x.
    static func log1p(_ x: Self) -> Self
    /// e^x − 1, accurate for small x.
    static func expm1(_ x: Self) -> Self
    /// The error function.
    static func erf(_ x: Self) -> Self
    /// Converts from Double (rounding to nearest for Float).
    init(_ value: Double)
    /// The value as a Double.
    var doubleValue: Double { get }
}

extension Float: TensorScalar {
    public static var dtype: DType { .float32 }
    @inline(__always) public static func exp(_ x: Float) -> Float { expf(x) }
    @inline(__always) public static func log(_ x: Float) -> Float { logf(x) }
    @inline(__always) public static func tanh(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) public static func pow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
    @inline(__always) public static func log1p(_ x: Float) -> Float { log1pf(x) }
    @inline(__always) public static func expm1(_ x: Float) -> Float { expm1f(x) }
    @inline(__always) public static func erf(_ x: Float) -> Float { erff(x) }
    @inline(__always) public var doubleValue: Double { Double(self) }
}

extension Double: TensorScalar {
    public static var dtype: DType { .float64 }
    @inline(__always) public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    @inline(__always) public static func log(_ x: Double) -> Double { Glibc.log(x) }
    @inline(__always) public static func tanh(_ x: Double) -> Double { Glibc.tanh(x) }
    @inline(__always) public static func pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
    @inline(__always) public static func log1p(_ x: Double) -> Double { Glibc.log1p(x) }
    @inline(__always) public static func expm1(_ x: Double) -> Double { Glibc.expm1(x) }
    @inline(__always) public static func erf(_ x: Double) -> Double { Glibc.erf(x) }
    @inline(__always) public var doubleValue: Double { self }
}
