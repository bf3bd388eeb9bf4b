import CNablaKernels

/// A gradient held as the two factors of the matrix product that makes it, op(a)·op(b),
/// until something needs its values.
///
/// A dense layer's weight gradient is such a product (gᵀ·x), and with plain SGD its only
/// use is `w ← w − η·gᵀx`. Formed first, it is written to a buffer the size of the weights
/// and read back by the update; kept as factors, the update is one GEMM that adds −η·gᵀx
/// to the weights in place (`Tensor.descendGradient(rate:)`), with the same bits. On
/// Nielsen's 784-30-10 network that buffer and pass are 23,520 floats a step.
///
/// Reading `grad` forms the product, so code that looks at gradients sees the same tensor
/// either way. The factors are detached copies (values only, no graph), and since tensors
/// copy their buffer before any in-place write, later updates to the inputs they came
/// from do not change them.
struct DeferredProduct {
    let a: Tensor
    let b: Tensor
    let transposeA: Bool
    let transposeB: Bool

    /// The gradient's values, op(a)·op(b).
    func evaluated() -> Tensor {
        Tensor.matmul(a, b, transposeA: transposeA, transposeB: transposeB)
    }
}

extension Tensor {
    /// Plain gradient descent on this leaf, in place: `values ← values − rate·grad`, each
    /// element rounded as `w − rate·g` (PyTorch's `p.add_(p.grad, alpha: -rate)`), which is
    /// `SGD`'s step without momentum or weight decay.
    ///
    /// When the gradient is still held as the product that makes it (a linear layer's
    /// weight gradient after `backward()`), the product is added to the values directly,
    /// with the same result and without forming the gradient; `grad` stays readable.
    ///
    /// - Returns: false, changing nothing, when the tensor has no gradient.
    @discardableResult
    public mutating func descendGradient(rate: Double) -> Bool {
        guard let node else { return false }
        if let product = node.deferredGrad {
            if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
            let (a, b) = (product.a, product.b)
            let m = shape[0], n = shape[1], k = a.shape[product.transposeA ? 0 : 1]
            let status: Int32
            switch dtype {
            case .float32:
                status = nabla_sgd_product_update_f32(product.transposeA ? 1 : 0, product.transposeB ? 1 : 0, m, n, k,
                                                      a.storage.pointer(as: Float.self), a.shape[1],
                                                      b.storage.pointer(as: Float.self), b.shape[1],
                                                      storage.pointer(as: Float.self), Float(rate))
            case .float64:
                status = nabla_sgd_product_update_f64(product.transposeA ? 1 : 0, product.transposeB ? 1 : 0, m, n, k,
                                                      a.storage.pointer(as: Double.self), a.shape[1],
                                                      b.storage.pointer(as: Double.self), b.shape[1],
                                                      storage.pointer(as: Double.self), rate)
            }
            if status != 0 {
                fatalError("descendGradient: out of memory forming a \(describe(shape)) gradient")
            }
            return true
        }
        guard let g = node.grad else { return false }
        guard g.shape == shape, g.dtype == dtype else {
            opFailure("descendGradient", "gradient \(g.dtype) \(describe(g.shape)) does not match the values \(dtype) \(describe(shape))")
        }
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        switch dtype {
        case .float32:
            nabla_sgd_update_f32(storage.pointer(as: Float.self), g.storage.pointer(as: Float.self), count, Float(rate), 0)
        case .float64:
            nabla_sgd_update_f64(storage.pointer(as: Double.self), g.storage.pointer(as: Double.self), count, rate, 0)
        }
        return true
    }
}
