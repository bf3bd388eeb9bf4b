extension Tensor {
    /// e^x / Σ e^x along `axis`, computed stably (the maximum is subtracted first, so large
    /// logits do not overflow).
    public func softmax(axis: Int = -1) -> Tensor {
        let a = normalizedAxis(axis, op: "softmax")
        let shifted = detached() - reduceRaw([a], MaxReduce.self, op: "softmax")
        let e = shifted.exp()
        let y = e / e.sum(axes: [a], keepDims: true)
        return y.detached().recorded("softmax", self, savingOutput: true) { g, c in
            let y = c.output
            return [y * (g - (g * y).sum(axes: [a], keepDims: true))]
        }
    }

    /// log(softmax(x)) along `axis`, computed as (x − m) − log Σ e^(x − m) with m the
    /// maximum: finite for any logits, and accurate at large ones (x − logSumExp(x) would
    /// round logSumExp to the spacing of floats near m, 1e-3 at m = 1e4 in float32).
    public func logSoftmax(axis: Int = -1) -> Tensor {
        let a = normalizedAxis(axis, op: "logSoftmax")
        // Elements equal to the maximum shift to exactly 0, so the sum is at least 1 and
        // its log finite. (A row that is all −∞ has no log-probabilities: NaN, as in PyTorch.)
        let shift = reduceRaw([a], MaxReduce.self, op: "logSoftmax")
        let shifted = detached() - shift
        let y = shifted - shifted.exp().sum(axes: [a], keepDims: true).log()
        return y.recorded("logSoftmax", self, savingOutput: true) { g, c in
            let y = c.output
            return [g - y.exp() * g.sum(axes: [a], keepDims: true)]
        }
    }
}
