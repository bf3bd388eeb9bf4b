extension Tensor {
    /// Defines a new differentiable op by its forward and backward, so that it joins the
    /// graph like a built-in op and can be checked with `checkGradients`.
    ///
    /// - Parameters:
    ///   - name: the op's name, shown in error messages and the anomaly report.
    ///   - inputs: the op's tensor inputs.
    ///   - forward: computes the output from the inputs' values. It runs without recording a
    ///     graph, so it may use any ops or raw buffers.
    ///   - backward: given the gradient of the output, the inputs and the output, returns one
    ///     gradient per input (nil for an input that needs none), each of the input's shape
    ///     or of a shape that broadcasts to the output. Write it with tensor ops so that
    ///     second derivatives work too.
    ///
    /// ```swift
    /// // f(x) = x³ with f'(x) = 3x²
    /// func cube(_ x: Tensor) -> Tensor {
    ///     Tensor.customOp("cube", inputs: [x],
    ///                     forward: { $0[0] * $0[0] * $0[0] },
    ///                     backward: { g, inputs, _ in [g * 3 * inputs[0] * inputs[0]] })
    /// }
    /// ```
    public static func customOp(
        _ name: String, inputs: [Tensor],
        forward: ([Tensor]) throws -> Tensor,
        backward: @escaping (_ gradient: Tensor, _ inputs: [Tensor], _ output: Tensor) -> [Tensor?]
    ) rethrows -> Tensor {
        let values = try withoutGradients { try forward(inputs.map { $0.detached() }) }
        for (i, x) in inputs.enumerated() where x.dtype != values.dtype {
            opFailure(name, "input \(i) is \(x.dtype) but the forward returned \(values.dtype)")
        }
        return values.detached().recorded(name, TensorList(inputs), savingOutput: true) { g, c in
            let grads = backward(g, inputs, c.output)
            guard grads.count == inputs.count else {
                opFailure(name, "backward returned \(grads.count) gradients for \(inputs.count) inputs")
            }
            return TensorList(grads)
        }
    }
}
