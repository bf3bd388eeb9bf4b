extension Tensor: CustomStringConvertible, CustomDebugStringConvertible {
    /// The values laid out by dimension, then the shape and dtype, for example
    /// `[[1, 2], [3, 4]], shape [2, 2], float32`. Large tensors show the first and last three
    /// entries of each dimension with `...` between, as NumPy does.
    public var description: String {
        var text = ""
        formatValues(into: &text)
        text += ", shape \(describe(shape)), \(dtype)"
        if let node, !node.isLeaf { text += ", grad_fn \(node.op)" } else if node != nil { text += ", requiresGrad" }
        return text
    }

    /// Same as `description`.
    public var debugDescription: String { description }

    /// Over this many elements, dimensions are summarized.
    private static let summarizeThreshold = 1000
    private static let edgeItems = 3

    private func formatValues(into text: inout String) {
        if rank == 0 { text += Tensor.format(element(atFlatIndex: 0)); return }
        let summarize = count > Tensor.summarizeThreshold
        var strides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
        func emit(_ dim: Int, _ offset: Int) {
            text += "["
            let n = shape[dim]
            let indices: [Int?] = summarize && n > 2 * Tensor.edgeItems
                ? Array(0..<Tensor.edgeItems) + [nil] + Array((n - Tensor.edgeItems)..<n)
                : Array(0..<n)
            for (pos, i) in indices.enumerated() {
                if pos > 0 { text += dim == rank - 1 ? ", " : ",\n" + String(repeating: " ", count: dim + 1) }
                guard let i else { text += "..."; continue }
                if dim == rank - 1 {
                    text += Tensor.format(element(atFlatIndex: offset + i))
                } else {
                    emit(dim + 1, offset + i * strides[dim])
                }
            }
            text += "]"
        }
        emit(0, 0)
    }

    private static func format(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        if v == v.rounded() && Swift.abs(v) < 1e15 { return String(Int64(v)) }
        let s = String(v)
        // Trim long binary-to-decimal expansions to about 6 significant digits.
        if s.count > 10, !s.contains("e") {
            let p = Swift.max(0, 5 - Int(Swift.abs(v) < 1 ? 0 : _log10(Swift.abs(v))))
            return String(format6(v, decimals: p))
        }
        return s
    }

    private static func _log10(_ v: Double) -> Double { Double.log(v) / Double.log(10) }

    private static func format6(_ v: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let r = (v * scale).rounded() / scale
        var s = String(r)
        if s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }
}
