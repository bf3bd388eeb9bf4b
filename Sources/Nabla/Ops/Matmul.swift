import CNablaKernels

extension Tensor {
    /// The matrix product, with NumPy's rules: 2-D × 2-D is a matrix product; a 1-D operand
    /// is a vector (a row on the left, a column on the right, its dimension then removed);
    /// more dimensions are batches of matrices, broadcast against each other.
    public func matmul(_ other: Tensor) -> Tensor {
        let a = self, b = other
        guard a.rank >= 1, b.rank >= 1 else {
            opFailure("matmul", "\(describe(a.shape)) × \(describe(b.shape)): scalars cannot be multiplied as matrices; use *")
        }
        if a.rank == 1 && b.rank == 1 {
            guard a.shape[0] == b.shape[0] else {
                opFailure("matmul", "\(describe(a.shape)) × \(describe(b.shape)): vector lengths \(a.shape[0]) and \(b.shape[0]) differ")
            }
            return a.unsqueezed(axis: 0).matmul(b.unsqueezed(axis: 1)).reshaped([])
        }
        if a.rank == 1 { return a.unsqueezed(axis: 0).matmul(b).squeezed(axes: [-2]) }
        if b.rank == 1 { return a.matmul(b.unsqueezed(axis: 1)).squeezed(axes: [-1]) }
        return Tensor.matmul(a, b, transposeA: false, transposeB: false)
    }

    /// op(a) × op(b) for tensors of rank ≥ 2, where op transposes the last two dimensions
    /// when asked. Transposes are read in place by the kernel, never copied, and the
    /// backward pass is written with this same op, so it can be differentiated again.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool) -> Tensor {
        guard a.rank >= 2, b.rank >= 2 else {
            opFailure("matmul", "\(describe(a.shape)) × \(describe(b.shape)): operands need rank ≥ 2 here")
        }
        guard a.dtype == b.dtype else {
            opFailure("matmul", "dtypes \(a.dtype) and \(b.dtype) differ; convert one with cast(to:)")
        }
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = transposeA ? (ac, ar) : (ar, ac)
        let (k2, n) = transposeB ? (bc, br) : (br, bc)
        guard k == k2 else {
            let ta = transposeA ? "ᵀ" : "", tb = transposeB ? "ᵀ" : ""
            opFailure("matmul", "\(describe(a.shape))\(ta) × \(describe(b.shape))\(tb): inner dimensions \(k) and \(k2) differ")
        }
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        let batch = batchA == batchB ? batchA : broadcastShape(batchA, batchB, op: "matmul")
        let outShape = batch + [m, n]
        let out = TensorStorage.make(count: outShape.elementCount, dtype: a.dtype)
        let batches = batch.elementCount
        if batches > 0 && m * n > 0 {
            // A plain matrix on the right and no transpose on the left: the batch folds into
            // the rows of one large product.
            if batchB.isEmpty && !transposeA {
                gemm(a.storage.base, b.storage.base, out.base, dtype: a.dtype, m: batches * m, n: n, k: k,
                     transposeA: false, transposeB: transposeB, lda: ac, ldb: bc)
            } else {
                let ea = batchA == batch ? nil : a.broadcastBatchOffsets(batch)
                let eb = batchB == batch ? nil : b.broadcastBatchOffsets(batch)
                let size = a.dtype.byteCount
                for i in 0..<batches {
                    let oa = (ea?[i] ?? i) * ar * ac, ob = (eb?[i] ?? i) * br * bc
                    gemm(a.storage.base + oa * size, b.storage.base + ob * size, out.base + i * m * n * size,
                         dtype: a.dtype, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
                         lda: ac, ldb: bc)
                }
            }
        } else if k == 0 || m * n == 0 {
            memsetZero(out)
        }
        let product = Tensor(storage: out, shape: outShape)
        // Checked first: the closure's context (it captures the operands and flags) would
        // otherwise be allocated for every product, recorded or not.
        guard recording(a, b) else { return product }
        return product.recorded("matmul", a, b) { g, c in
            // Each gradient is one more product; a leaf's may be handed to the engine
            // unformed (see BackwardContext.deferProduct), as a weight's often is.
            var ga: Tensor? = nil, gb: Tensor? = nil
            if c.needsGradient(0) {
                let (p, q, tp, tq) = transposeA ? (b, g, transposeB, true) : (g, b, false, !transposeB)
                if !c.deferProduct(toInput: 0, p, q, transposeA: tp, transposeB: tq) {
                    ga = matmul(p, q, transposeA: tp, transposeB: tq)
                }
            }
            if c.needsGradient(1) {
                let (p, q, tp, tq) = transposeB ? (g, a, true, transposeA) : (a, g, !transposeA, false)
                if !c.deferProduct(toInput: 1, p, q, transposeA: tp, transposeB: tq) {
                    gb = matmul(p, q, transposeA: tp, transposeB: tq)
                }
            }
            return [ga, gb]
        }
    }

    /// For each batch index of the broadcast batch shape, the matching matrix index in this
    /// tensor (whose batch dimensions may be fewer or of size 1).
    private func broadcastBatchOffsets(_ batch: [Int]) -> [Int] {
        let own = Array(shape.dropLast(2))
        let padded = [Int](repeating: 1, count: batch.count - own.count) + own
        var result = [Int](repeating: 0, count: batch.elementCount)
        var index = [Int](repeating: 0, count: batch.count)
        for i in 0..<result.count {
            var flat = 0
            for d in 0..<batch.count { flat = flat * padded[d] + (padded[d] == 1 ? 0 : index[d]) }
            result[i] = flat
            var d = batch.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < batch[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return result
    }
}

private func memsetZero(_ s: TensorStorage) {
    s.base.initializeMemory(as: UInt8.self, repeating: 0, count: s.count * s.dtype.byteCount)
}

/// One matrix product through the C kernels; `lda`/`ldb` are the stored row lengths.
func gemm(_ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, _ c: UnsafeMutableRawPointer,
          dtype: DType, m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool,
          lda: Int, ldb: Int, accumulate: Bool = false) {
    if k == 0 {
        if !accumulate { c.initializeMemory(as: UInt8.self, repeating: 0, count: m * n * dtype.byteCount) }
        return
    }
    switch dtype {
    case .float32:
        nabla_sgemm(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, 1,
                    a.assumingMemoryBound(to: Float.self), lda, b.assumingMemoryBound(to: Float.self), ldb,
                    accumulate ? 1 : 0, c.assumingMemoryBound(to: Float.self), n)
    case .float64:
        nabla_dgemm(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, 1,
                    a.assumingMemoryBound(to: Double.self), lda, b.assumingMemoryBound(to: Double.self), ldb,
                    accumulate ? 1 : 0, c.assumingMemoryBound(to: Double.self), n)
    }
}
