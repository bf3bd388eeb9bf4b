// Elementwise arithmetic with NumPy broadcasting. Each op's backward returns gradients at
// the broadcast output shape; the engine sums them back to each input's shape.

enum AddKernel: BinaryKernel { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a + b } }
enum SubKernel: BinaryKernel { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a - b } }
enum MulKernel: BinaryKernel { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a * b } }
enum DivKernel: BinaryKernel { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a / b } }
enum PowKernel: BinaryKernel { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { T.pow(a, b) } }
enum NegKernel: UnaryKernel { @inline(__always) static func apply<T: TensorScalar>(_ x: T) -> T { -x } }

extension Tensor {
    /// Elementwise sum, broadcasting.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        zipElements(a, b, AddKernel.self, op: "add").recorded("add", a, b) { g, _ in [g, g] }
    }

    /// Elementwise difference, broadcasting.
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        zipElements(a, b, SubKernel.self, op: "sub").recorded("sub", a, b) { g, c in
            [g, c.needsGradient(1) ? -g : nil]
        }
    }

    /// Elementwise product, broadcasting.
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        zipElements(a, b, MulKernel.self, op: "mul").recorded("mul", a, b) { g, c in
            [c.needsGradient(0) ? g * c.input(1) : nil, c.needsGradient(1) ? g * c.input(0) : nil]
        }
    }

    /// Elementwise quotient, broadcasting.
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        zipElements(a, b, DivKernel.self, op: "div").recorded("div", a, b) { g, c in
            let a = c.input(0), b = c.input(1)
            return [c.needsGradient(0) ? g / b : nil, c.needsGradient(1) ? -g * a / (b * b) : nil]
        }
    }

    /// Elementwise negation.
    public static prefix func - (x: Tensor) -> Tensor {
        x.mapElements(NegKernel.self).recorded("neg", x) { g, _ in [-g] }
    }

    // Scalars on either side become rank-0 tensors of the tensor's dtype.

    /// Adds a scalar to every element.
    public static func + (a: Tensor, b: Double) -> Tensor { a + Tensor(b, dtype: a.dtype) }
    /// Adds a scalar to every element.
    public static func + (a: Double, b: Tensor) -> Tensor { Tensor(a, dtype: b.dtype) + b }
    /// Subtracts a scalar from every element.
    public static func - (a: Tensor, b: Double) -> Tensor { a - Tensor(b, dtype: a.dtype) }
    /// Subtracts every element from a scalar.
    public static func - (a: Double, b: Tensor) -> Tensor { Tensor(a, dtype: b.dtype) - b }
    /// Multiplies every element by a scalar.
    public static func * (a: Tensor, b: Double) -> Tensor { a * Tensor(b, dtype: a.dtype) }
    /// Multiplies every element by a scalar.
    public static func * (a: Double, b: Tensor) -> Tensor { Tensor(a, dtype: b.dtype) * b }
    /// Divides every element by a scalar.
    public static func / (a: Tensor, b: Double) -> Tensor { a / Tensor(b, dtype: a.dtype) }
    /// Divides a scalar by every element.
    public static func / (a: Double, b: Tensor) -> Tensor { Tensor(a, dtype: b.dtype) / b }

    /// `a = a + b`.
    public static func += (a: inout Tensor, b: Tensor) { a = a + b }
    /// `a = a - b`.
    public static func -= (a: inout Tensor, b: Tensor) { a = a - b }
    /// `a = a * b`.
    public static func *= (a: inout Tensor, b: Tensor) { a = a * b }
    /// `a = a / b`.
    public static func /= (a: inout Tensor, b: Tensor) { a = a / b }

    /// Elementwise power with a tensor exponent, broadcasting. The gradient with respect to
    /// the exponent is `a^b · log a`, defined for positive `a`.
    public func pow(_ exponent: Tensor) -> Tensor {
        let a = self, b = exponent
        return Tensor.zipElements(a, b, PowKernel.self, op: "pow").recorded("pow", a, b, savingOutput: true) { g, c in
            let y = c.output
            return [c.needsGradient(0) ? g * b * a.pow(b - 1) : nil,
                    c.needsGradient(1) ? g * y * a.log() : nil]
        }
    }

    /// Every element raised to a constant power.
    public func pow(_ exponent: Double) -> Tensor {
        if exponent == 2 { return square() }
        if exponent == 1 { return self }
        let x = self
        return Tensor.zipElements(x, Tensor(exponent, dtype: dtype), PowKernel.self, op: "pow")
            .recorded("pow", x) { g, _ in [g * exponent * x.pow(exponent - 1)] }
    }

    /// Every element squared.
    public func square() -> Tensor {
        let x = self
        return Tensor.zipElements(x, x, MulKernel.self, op: "square").recorded("square", x) { g, c in
            [g * c.input(0) * 2]
        }
    }
}
