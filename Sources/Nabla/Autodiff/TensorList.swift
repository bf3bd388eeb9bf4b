/// A short list of optional tensors that holds up to three inline: an op's inputs, or the
/// gradients its backward returns (nil for an input that needs none). Nearly every op has
/// one to three inputs (three: an input, a weight and a bias), and an `Array` for them would
/// be a heap allocation per op recorded and per backward step, a large part of the cost of
/// small ops. Longer lists (concat) keep their elements past the third in an array. Not
/// generic, so that copies are plain retains rather than calls through type metadata.
///
/// Written as an array literal (`[g, g]`; the literal's temporary array does not escape
/// the inlined initializer, so the optimizer keeps it on the stack), or with three
/// elements as `TensorList(a, b, c)`, which moves its arguments in.
struct TensorList: RandomAccessCollection, ExpressibleByArrayLiteral {
    private var first: Tensor?
    private var second: Tensor?
    private var third: Tensor?
    private var rest: [Tensor?]
    let count: Int

    @inline(__always)
    init(arrayLiteral elements: Tensor?...) {
        // Moves the elements out of the literal's array (leaving nils behind) instead of
        // copying them: a copy is three retains per tensor, and one more release each when
        // the array goes; a backward closure returns its gradients this way at every step.
        var list = elements
        count = list.count
        first = count > 0 ? list[0].take() : nil
        second = count > 1 ? list[1].take() : nil
        third = count > 2 ? list[2].take() : nil
        rest = count > 3 ? Array(list[3...]) : []
    }

    @inline(__always)
    init(_ elements: [Tensor?]) {
        count = elements.count
        first = count > 0 ? elements[0] : nil
        second = count > 1 ? elements[1] : nil
        third = count > 2 ? elements[2] : nil
        rest = count > 3 ? Array(elements[3...]) : []
    }

    @inline(__always)
    init(_ elements: [Tensor]) { self.init(elements.map { Optional($0) }) }

    /// Three elements, moved in: an argument passed at its last use is not copied. An array
    /// literal of three copies each into its array (three retains a tensor) and releases
    /// it again: sixteen retains per step in the two dense layers of Nielsen's network
    /// (`perf probe` on `swift_retain`). Returning one or two elements this way (sigmoid,
    /// matmul, add, sum, the shape ops) changed nothing, so those keep the literal.
    @inline(__always)
    init(_ a: consuming Tensor?, _ b: consuming Tensor?, _ c: consuming Tensor?) {
        count = 3
        first = a
        second = b
        third = c
        rest = []
    }

    var startIndex: Int { 0 }
    var endIndex: Int { count }

    @inline(__always)
    subscript(i: Int) -> Tensor? {
        precondition(i >= 0 && i < count, "TensorList: index \(i) out of range 0..<\(count)")
        switch i {
        case 0: return first
        case 1: return second
        case 2: return third
        default: return rest[i - 3]
        }
    }

    /// Moves element `i` out, leaving nil (no retain of the tensor's references).
    @inline(__always)
    mutating func take(_ i: Int) -> Tensor? {
        precondition(i >= 0 && i < count, "TensorList: index \(i) out of range 0..<\(count)")
        switch i {
        case 0: return first.take()
        case 1: return second.take()
        case 2: return third.take()
        default: return rest[i - 3].take()
        }
    }

    /// Whether any element has a graph node.
    var anyRequiresGradient: Bool {
        first?.node != nil || second?.node != nil || third?.node != nil || rest.contains { $0?.node != nil }
    }

    /// The elements' shapes, for messages (`-` for a missing element).
    var shapeDescriptions: String { map { $0.map { describe($0.shape) } ?? "-" }.joined(separator: ", ") }
}
