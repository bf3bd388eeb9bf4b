// Comparisons return masks (1 where true, 0 where false) of the inputs' dtype and never
// carry gradients. maximum/minimum are differentiable.

infix operator .== : ComparisonPrecedence
infix operator .!= : ComparisonPrecedence
infix operator .< : ComparisonPrecedence
infix operator .<= : ComparisonPrecedence
infix operator .> : ComparisonPrecedence
infix operator .>= : ComparisonPrecedence

enum EqualKernel: BinaryKernel { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a == b ? 1 : 0 } }
enum NotEqualKernel: BinaryKernel { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a != b ? 1 : 0 } }
enum LessKernel: BinaryKernel { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a < b ? 1 : 0 } }
enum LessEqualKernel: BinaryKernel { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a <= b ? 1 : 0 } }
enum GreaterKernel: BinaryKernel { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a > b ? 1 : 0 } }
enum GreaterEqualKernel: BinaryKernel { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a >= b ? 1 : 0 } }
enum MaxKernel: BinaryKernel { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a >= b || b.isNaN ? (b.isNaN ? b : a) : b } }
enum MinKernel: BinaryKernel { @inline(__always) static func apply<T: TensorScalar>(_ a: T, _ b: T) -> T { a <= b || b.isNaN ? (b.isNaN ? b : a) : b } }

extension Tensor {
    /// 1 where `a == b` elementwise (broadcasting), else 0. No gradient.
    public static func .== (a: Tensor, b: Tensor) -> Tensor { zipElements(a, b, EqualKernel.self, op: ".==") }
    /// 1 where `a != b`, else 0. No gradient.
    public static func .!= (a: Tensor, b: Tensor) -> Tensor { zipElements(a, b, NotEqualKernel.self, op: ".!=") }
    /// 1 where `a < b`, else 0. No gradient.
    public static func .< (a: Tensor, b: Tensor) -> Tensor { zipElements(a, b, LessKernel.self, op: ".<") }
    /// 1 where `a <= b`, else 0. No gradient.
    public static func .<= (a: Tensor, b: Tensor) -> Tensor { zipElements(a, b, LessEqualKernel.self, op: ".<=") }
    /// 1 where `a > b`, else 0. No gradient.
    public static func .> (a: Tensor, b: Tensor) -> Tensor { zipElements(a, b, GreaterKernel.self, op: ".>") }
    /// 1 where `a >= b`, else 0. No gradient.
    public static func .>= (a: Tensor, b: Tensor) -> Tensor { zipElements(a, b, GreaterEqualKernel.self, op: ".>=") }

    /// 1 where the element equals `b`, else 0.
    public static func .== (a: Tensor, b: Double) -> Tensor { a .== Tensor(b, dtype: a.dtype) }
    /// 1 where the element differs from `b`, else 0.
    public static func .!= (a: Tensor, b: Double) -> Tensor { a .!= Tensor(b, dtype: a.dtype) }
    /// 1 where the element is below `b`, else 0.
    public static func .< (a: Tensor, b: Double) -> Tensor { a .< Tensor(b, dtype: a.dtype) }
    /// 1 where the element is at most `b`, else 0.
    public static func .<= (a: Tensor, b: Double) -> Tensor { a .<= Tensor(b, dtype: a.dtype) }
    /// 1 where the element is above `b`, else 0.
    public static func .> (a: Tensor, b: Double) -> Tensor { a .> Tensor(b, dtype: a.dtype) }
    /// 1 where the element is at least `b`, else 0.
    public static func .>= (a: Tensor, b: Double) -> Tensor { a .>= Tensor(b, dtype: a.dtype) }

    /// The larger of `a` and `b` elementwise (broadcasting). Where they tie, each gets half
    /// the gradient, as in PyTorch.
    public static func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
        zipElements(a, b, MaxKernel.self, op: "maximum").recorded("maximum", a, b) { g, c in
            let ad = a.detached(), bd = b.detached()
            let ties = (ad .== bd) * 0.5
            return [c.needsGradient(0) ? g * ((ad .> bd) + ties) : nil,
                    c.needsGradient(1) ? g * ((ad .< bd) + ties) : nil]
        }
    }

    /// The smaller of `a` and `b` elementwise (broadcasting); ties split the gradient.
    public static func minimum(_ a: Tensor, _ b: Tensor) -> Tensor {
        zipElements(a, b, MinKernel.self, op: "minimum").recorded("minimum", a, b) { g, c in
            let ad = a.detached(), bd = b.detached()
            let ties = (ad .== bd) * 0.5
            return [c.needsGradient(0) ? g * ((ad .< bd) + ties) : nil,
                    c.needsGradient(1) ? g * ((ad .> bd) + ties) : nil]
        }
    }

    /// Elements of `a` where `mask` is non-zero and of `b` elsewhere (all three broadcast).
    /// The mask gets no gradient.
    public static func `where`(_ mask: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        guard a.dtype == b.dtype else { opFailure("where", "dtypes \(a.dtype) and \(b.dtype) differ") }
        let shape = broadcastShape(broadcastShape(mask.shape, a.shape, op: "where"), b.shape, op: "where")
        let m = mask.detached().cast(to: a.dtype).broadcast(to: shape)
        let av = a.detached().broadcast(to: shape), bv = b.detached().broadcast(to: shape)
        let out = TensorStorage.make(count: shape.elementCount, dtype: a.dtype)
        func select<T: TensorScalar>(_: T.Type) {
            let pm = m.storage.pointer(as: T.self), pa = av.storage.pointer(as: T.self)
            let pb = bv.storage.pointer(as: T.self), po = out.pointer(as: T.self)
            for i in 0..<out.count { po[i] = pm[i] != 0 ? pa[i] : pb[i] }
        }
        switch a.dtype {
        case .float32: select(Float.self)
        case .float64: select(Double.self)
        }
        let chosen = m .!= 0
        return Tensor(storage: out, shape: shape).recorded("where", a, b) { g, c in
            let zero = Tensor.zeros(like: g)
            return [c.needsGradient(0) ? Tensor.where(chosen, g, zero) : nil,
                    c.needsGradient(1) ? Tensor.where(chosen, zero, g) : nil]
        }
    }
}
