// Inverted dropout. The random mask is drawn separately from applying it, so a layer (or a
// test) controls the randomness, and the op itself is deterministic and checkable.

extension Tensor {
    /// `self · mask / keepProbability`: inverted dropout with a given 0/1 mask, so that the
    /// expected value of each element is unchanged and inference needs no rescaling.
    /// `mask` must broadcast to this tensor's shape and is a constant (no gradient);
    /// `keepProbability` lies in (0, 1]. Records `dropout`; its backward is the same
    /// dropout applied to the gradient.
    public func dropout(mask: Tensor, keepProbability: Double) -> Tensor {
        guard keepProbability > 0 && keepProbability <= 1 else {
            opFailure("dropout", "keepProbability must be in (0, 1], got \(keepProbability)")
        }
        guard Tensor.broadcastShape(shape, mask.shape, op: "dropout") == shape else {
            opFailure("dropout", "mask \(describe(mask.shape)) does not broadcast to the input \(describe(shape))")
        }
        let constantMask = mask.detached().cast(to: dtype)
        Tensor.checkBinaryMask(constantMask)
        return scaledDropout(withoutGradients { constantMask * (1 / keepProbability) })
    }

    /// `self · scaledMask`, recorded as `dropout`; the backward applies the same scaled mask
    /// to the gradient (checked and scaled once, in `dropout(mask:keepProbability:)`).
    private func scaledDropout(_ scaledMask: Tensor) -> Tensor {
        let out = Tensor.zipElements(self, scaledMask, MulKernel.self, op: "dropout")
        return out.recorded("dropout", self) { g, _ in [g.scaledDropout(scaledMask)] }
    }

    /// Stops unless every element of `mask` is 0 or 1: any other value would silently
    /// rescale the kept activations. (One pass with no early exit, so that it vectorizes.)
    private static func checkBinaryMask(_ mask: Tensor) {
        func allBinary<T: TensorScalar>(_: T.Type) -> Bool {
            let m = UnsafeBufferPointer(start: mask.storage.pointer(as: T.self), count: mask.count)
            var bad = false
            for v in m { bad = bad || (v != 0 && v != 1) }
            return !bad
        }
        guard !(mask.dtype == .float32 ? allBinary(Float.self) : allBinary(Double.self)) else { return }
        // In the mask's own precision: a float64 value near 1 may round to 1 as a Float.
        let bad = mask.scalars(as: Double.self).first { $0 != 0 && $0 != 1 } ?? .nan
        opFailure("dropout", "mask must hold only 0 and 1, found \(bad)")
    }

    /// A Bernoulli mask: each element is 1 with probability `keepProbability` (in [0, 1])
    /// and 0 otherwise, drawn from `generator`.
    public static func dropoutMask(shape: [Int], keepProbability: Double, dtype: DType = .float32,
                                   using generator: inout RandomGenerator) -> Tensor {
        guard keepProbability >= 0 && keepProbability <= 1 else {
            opFailure("dropoutMask", "keepProbability must be in [0, 1], got \(keepProbability)")
        }
        validate(shape: shape, op: "dropoutMask")
        var mask = Tensor.zeros(shape, dtype: dtype)
        func run<T: TensorScalar>(_: T.Type) {
            mask.withUnsafeMutableBufferPointer(as: T.self) { m in
                for i in 0..<m.count where generator.nextUniform() < keepProbability { m[i] = 1 }
            }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        }
        return mask
    }
}
