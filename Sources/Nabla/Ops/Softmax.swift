extension Tensor {
    /// e^x / Σ e^x along `axis`, computed stably (the maximum is subtracted first, so large
    /// logits do not overflow).
    public func softmax(axis: Int = -1) -> Tensor {
        let a = normalizedAxis(axis, op: "softmax")
        let shifted = detached() - reduceRaw([a], MaxReduce.self, op: "softmax")
        let e = shifted.exp()
        let y = e / e.sum(axes: [a], keepDims: true)
        return y.detached().recorded("softmax", [self], savingOutput: true) { g, c in
            let y = c.output
            return [y * (g - (g * y).sum(axes: [a], keepDims: true))]
        }
    }

    /// log(softmax(x)) along `axis`, computed as x − logSumExp(x): finite for any logits.
    public func logSoftmax(axis: Int = -1) -> Tensor {
        let a = normalizedAxis(axis, op: "logSoftmax")
        let y = detached() - detached().logSumExp(axes: [a], keepDims: true)
        return y.recorded("logSoftmax", [self], savingOutput: true) { g, c in
            let y = c.output
            return [g - y.exp() * g.sum(axes: [a], keepDims: true)]
        }
    }
}
