@testable import ExampleSupport
import Nabla
import Testing

@Suite("Trainer helpers")
struct TrainerTests {
    /// countCorrect reads the outputs in place; it must agree with argmax (first index on
    /// ties, a NaN never chosen over an earlier value) in float and double.
    @Test func countCorrectAgreesWithArgmax() {
        let rows: [[Double]] = [[0.1, 0.7, 0.2], [0.5, 0.5, 0.1], [.nan, 0.3, 0.2], [0.2, 0.2, 0.9], [-1, -3, -2]]
        let labels = [1, 1, 0, 2, 0]   // right, tie (argmax picks 0), NaN first (0), right, right
        for dtype in [DType.float32, .float64] {
            let output = Tensor(rows).cast(to: dtype)
            let viaArgmax = zip(output.argmax(axis: 1).scalars, labels).filter { Int($0) == $1 }.count
            #expect(countCorrect(output, labels) == 4, "\(dtype)")
            #expect(countCorrect(output, labels) == viaArgmax, "\(dtype)")
        }
        #expect(countCorrect(Tensor([[3.0]] as [[Double]]), [0]) == 1)
    }
}
