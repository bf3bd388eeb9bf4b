import CNablaKernels

// Elementwise functions of one tensor. Each backward is written with tensor ops, so it can
// itself be differentiated when `createGraph` is on.

enum ExpKernel: UnaryKernel {
    @inline(__always) static func apply<T: TensorScalar>(_ x: T) -> T { T.exp(x) }
    static func applyFloat32(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) -> Bool {
        nabla_vexp_f32(x, y, n); return true
    }
}
enum LogKernel: UnaryKernel {
    @inline(__always) static func apply<T: TensorScalar>(_ x: T) -> T { T.log(x) }
    static func applyFloat32(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) -> Bool {
        nabla_vlog_f32(x, y, n); return true
    }
}
enum SigmoidKernel: UnaryKernel {
    // 1/(1+e^-x) for x ≥ 0 and e^x/(1+e^x) otherwise: never overflows, saturates to 0 and 1.
    @inline(__always) static func apply<T: TensorScalar>(_ x: T) -> T {
        if x >= 0 { return 1 / (1 + T.exp(-x)) }
        let e = T.exp(x)
        return e / (1 + e)
    }
    static func applyFloat32(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) -> Bool {
        nabla_vsigmoid_f32(x, y, n); return true
    }
}
enum TanhKernel: UnaryKernel {
    @inline(__always) static func apply<T: TensorScalar>(_ x: T) -> T { T.tanh(x) }
    static func applyFloat32(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) -> Bool {
        nabla_vtanh_f32(x, y, n); return true
    }
}
enum SqrtKernel: UnaryKernel { @inline(__always) static func apply<T: TensorScalar>(_ x: T) -> T { x.squareRoot() } }
enum AbsKernel: UnaryKernel { @inline(__always) static func apply<T: TensorScalar>(_ x: T) -> T { Swift.abs(x) } }
enum SignKernel: UnaryKernel {
    @inline(__always) static func apply<T: TensorScalar>(_ x: T) -> T { x > 0 ? 1 : (x < 0 ? -1 : 0) }
}
enum ReluKernel: UnaryKernel {
    @inline(__always) static func apply<T: TensorScalar>(_ x: T) -> T { x > 0 ? x : 0 }
    static func applyFloat32(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) -> Bool {
        nabla_vrelu_f32(x, y, n); return true
    }
}
enum PositiveMaskKernel: UnaryKernel { @inline(__always) static func apply<T: TensorScalar>(_ x: T) -> T { x > 0 ? 1 : 0 } }
enum SoftplusKernel: UnaryKernel {
    // log(1 + e^x) = max(x, 0) + log1p(e^-|x|): finite for any x.
    @inline(__always) static func apply<T: TensorScalar>(_ x: T) -> T { Swift.max(x, 0) + T.log1p(T.exp(-Swift.abs(x))) }
}
enum ErfKernel: UnaryKernel { @inline(__always) static func apply<T: TensorScalar>(_ x: T) -> T { T.erf(x) } }
enum GeluKernel: UnaryKernel {
    @inline(__always) static func apply<T: TensorScalar>(_ x: T) -> T {
        x * (1 + T.erf(x * T(0.70710678118654752440))) / 2
    }
}

extension Tensor {
    /// e^x elementwise.
    public func exp() -> Tensor {
        mapElements(ExpKernel.self).recorded("exp", self, savingOutput: true) { g, c in [g * c.output] }
    }

    /// Natural logarithm elementwise.
    public func log() -> Tensor {
        mapElements(LogKernel.self).recorded("log", self) { g, c in [g / c.input(0)] }
    }

    /// Square root elementwise.
    public func sqrt() -> Tensor {
        mapElements(SqrtKernel.self).recorded("sqrt", self, savingOutput: true) { g, c in [g / (c.output * 2)] }
    }

    /// Absolute value elementwise (gradient 0 at 0, as PyTorch).
    public func abs() -> Tensor {
        mapElements(AbsKernel.self).recorded("abs", self) { g, c in [g * c.input(0).sign()] }
    }

    /// −1, 0 or 1 by the sign of each element (no gradient).
    public func sign() -> Tensor { mapElements(SignKernel.self) }

    /// The logistic function 1 / (1 + e^−x), computed without overflow for any x.
    public func sigmoid() -> Tensor {
        mapElements(SigmoidKernel.self).recorded("sigmoid", self, savingOutput: true) { g, c in
            [Tensor.sigmoidBackward(g, c.output)]
        }
    }

    /// Hyperbolic tangent elementwise.
    public func tanh() -> Tensor {
        mapElements(TanhKernel.self).recorded("tanh", self, savingOutput: true) { g, c in
            [Tensor.tanhBackward(g, c.output)]
        }
    }

    /// max(x, 0) elementwise (gradient 0 at 0, as PyTorch).
    public func relu() -> Tensor {
        mapElements(ReluKernel.self).recorded("relu", self) { g, c in
            [Tensor.reluBackward(g, c.input(0))]
        }
    }

    /// x for x > 0, `negativeSlope`·x otherwise.
    public func leakyRelu(negativeSlope: Double = 0.01) -> Tensor {
        let x = self
        let mask = x.mapElements(PositiveMaskKernel.self)
        let slope = mask * (1 - negativeSlope) + negativeSlope
        return (x.detached() * slope).recorded("leakyRelu", x) { g, _ in [g * slope] }
    }

    /// x for x > 0, α(e^x − 1) otherwise.
    public func elu(alpha: Double = 1) -> Tensor {
        let x = self
        let mask = x.mapElements(PositiveMaskKernel.self)
        let negative = (x.detached().clamp(max: 0).exp() - 1) * alpha
        let out = x.detached() * mask + negative * (1 - mask)
        return out.recorded("elu", x) { g, _ in
            [g * (mask + (1 - mask) * x.clamp(max: 0).exp() * alpha)]
        }
    }

    /// log(1 + e^x), computed stably for any x. Its derivative is the sigmoid.
    public func softplus() -> Tensor {
        mapElements(SoftplusKernel.self).recorded("softplus", self) { g, c in [g * c.input(0).sigmoid()] }
    }

    /// The error function elementwise.
    public func erf() -> Tensor {
        mapElements(ErfKernel.self).recorded("erf", self) { g, c in
            let x = c.input(0)
            return [g * (-(x * x)).exp() * 1.1283791670955126]   // 2/√π
        }
    }

    /// GELU, x·Φ(x) with Φ the standard normal CDF (the exact form, as PyTorch's default).
    public func gelu() -> Tensor {
        mapElements(GeluKernel.self).recorded("gelu", self) { g, c in
            let x = c.input(0)
            let cdf = ((x * 0.7071067811865476).erf() + 1) * 0.5
            let pdf = (x * x * -0.5).exp() * 0.3989422804014327   // 1/√(2π)
            return [g * (cdf + x * pdf)]
        }
    }

    /// Each element limited to [min, max]; the gradient passes where the element is inside.
    public func clamp(min lower: Double? = nil, max upper: Double? = nil) -> Tensor {
        if let lower, let upper, lower > upper {
            opFailure("clamp", "min \(lower) is above max \(upper)")
        }
        let x = self
        var out = x.detached()
        var inside = Tensor.ones(like: x)
        if let lower {
            let l = Tensor(lower, dtype: dtype)
            out = Tensor.zipElements(out, l, MaxKernel.self, op: "clamp")
            inside = inside * Tensor.zipElements(x.detached(), l, GreaterEqualKernel.self, op: "clamp")
        }
        if let upper {
            let u = Tensor(upper, dtype: dtype)
            out = Tensor.zipElements(out, u, MinKernel.self, op: "clamp")
            inside = inside * Tensor.zipElements(x.detached(), u, LessEqualKernel.self, op: "clamp")
        }
        return out.recorded("clamp", x) { g, _ in [g * inside] }
    }
}

// Fused backward ops: one pass over memory instead of three or four temporaries. Each is
// itself differentiable (its backward written with tensor ops) so second derivatives work.

enum SigmoidBackwardKernel: BinaryKernel {
    @inline(__always) static func apply<T: TensorScalar>(_ g: T, _ y: T) -> T { g * y * (1 - y) }
}
enum TanhBackwardKernel: BinaryKernel {
    @inline(__always) static func apply<T: TensorScalar>(_ g: T, _ y: T) -> T { g * (1 - y * y) }
}
enum ReluBackwardKernel: BinaryKernel {
    @inline(__always) static func apply<T: TensorScalar>(_ g: T, _ x: T) -> T { x > 0 ? g : 0 }
    static func applyFloat32(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                             _ n: Int) -> Bool {
        nabla_vrelu_backward_f32(g, x, y, n); return true
    }
}

extension Tensor {
    /// g·y·(1 − y): the sigmoid's vector–Jacobian product given its output y.
    static func sigmoidBackward(_ g: Tensor, _ y: Tensor) -> Tensor {
        zipElements(g, y, SigmoidBackwardKernel.self, op: "sigmoidBackward")
            .recorded("sigmoidBackward", g, y) { gg, c in
                let g = c.input(0), y = c.input(1)
                return [c.needsGradient(0) ? sigmoidBackward(gg, y) : nil,
                        c.needsGradient(1) ? gg * g * (1 - 2 * y) : nil]
            }
    }

    /// g·(1 − y²): tanh's vector–Jacobian product given its output y.
    static func tanhBackward(_ g: Tensor, _ y: Tensor) -> Tensor {
        zipElements(g, y, TanhBackwardKernel.self, op: "tanhBackward")
            .recorded("tanhBackward", g, y) { gg, c in
                let g = c.input(0), y = c.input(1)
                return [c.needsGradient(0) ? tanhBackward(gg, y) : nil,
                        c.needsGradient(1) ? gg * g * y * -2 : nil]
            }
    }

    /// g where x > 0, else 0: relu's vector–Jacobian product (linear in g; x is a constant).
    static func reluBackward(_ g: Tensor, _ x: Tensor) -> Tensor {
        let result = zipElements(g, x, ReluBackwardKernel.self, op: "reluBackward")
        guard recording(g) else { return result }
        return result.recorded("reluBackward", g) { gg, c in [reluBackward(gg, x)] }
    }
}
