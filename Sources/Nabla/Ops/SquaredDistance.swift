extension Tensor {
    /// scale·Σ(a − b)² over every element of two tensors of one shape, as one op: the sum of
    /// squared errors behind a quadratic cost (Nielsen's ½‖a − y‖², PyTorch's `mse_loss`).
    ///
    /// The sum runs in double precision in one pass over both buffers; the result is a
    /// scalar of the inputs' dtype. The gradient is 2·scale·(a − b)·g for `a` and its
    /// negative for `b`. Outside `createGraph` it is computed in one loop, with the same
    /// roundings as the ops `(a − b) * (g * (2 * scale))`, which a recorded backward uses so
    /// that it can be differentiated again. Written out as ops, the difference, square,
    /// half, per-sample sum and mean were five forward nodes and about as many backward
    /// steps, a tenth of a training step of Nielsen's batch-10 784-30-10 network.
    ///
    /// ```swift
    /// let cost = Tensor.squaredDistance(output, target, scale: 0.5 / 10)   // ½‖a − y‖², mean over 10
    /// ```
    public static func squaredDistance(_ a: Tensor, _ b: Tensor, scale: Double = 1) -> Tensor {
        guard a.shape == b.shape else {
            opFailure("squaredDistance", "shapes \(describe(a.shape)) and \(describe(b.shape)) differ; both operands must have the same shape")
        }
        guard a.dtype == b.dtype else {
            opFailure("squaredDistance", "dtypes \(a.dtype) and \(b.dtype) differ; convert one with cast(to:)")
        }
        func total<T: TensorScalar>(_: T.Type) -> Double {
            let x = a.storage.pointer(as: T.self), y = b.storage.pointer(as: T.self)
            var sum = 0.0
            for i in 0..<a.count {
                let d = Double(x[i]) - Double(y[i])
                sum += d * d
            }
            return sum
        }
        let sum = a.dtype == .float32 ? total(Float.self) : total(Double.self)
        let result = Tensor(scale * sum, dtype: a.dtype)
        return result.recorded("squaredDistance", a, b) { g, c in
            let x = c.input(0), y = c.input(1)
            if GradMode.isEnabled {
                let d = (x - y) * (g * (2 * scale))
                return [c.needsGradient(0) ? d : nil, c.needsGradient(1) ? -d : nil]
            }
            func direct<T: TensorScalar>(_: T.Type) -> TensorList {
                let s = T(g.doubleScalar) * T(2 * scale)
                let xp = x.storage.pointer(as: T.self), yp = y.storage.pointer(as: T.self)
                let d = TensorStorage.make(count: x.count, dtype: x.dtype)
                let dp = d.pointer(as: T.self)
                for i in 0..<x.count { dp[i] = (xp[i] - yp[i]) * s }
                var negated: Tensor? = nil
                if c.needsGradient(1) {
                    let n = TensorStorage.make(count: x.count, dtype: x.dtype)
                    let np = n.pointer(as: T.self)
                    for i in 0..<x.count { np[i] = -dp[i] }
                    negated = Tensor(storage: n, shape: x.shape)
                }
                return [c.needsGradient(0) ? Tensor(storage: d, shape: x.shape) : nil, negated]
            }
            return x.dtype == .float32 ? direct(Float.self) : direct(Double.self)
        }
    }
}
