import CNablaKernels
import Dispatch

/// Splits loops over large buffers across the configured number of threads.
public enum Threading {
    /// The number of threads large kernels use (`NABLA_THREADS`, else the CPU count).
    public static var threadCount: Int {
        get { Int(nabla_num_threads()) }
        set { nabla_set_num_threads(Int32(Swift.max(1, newValue))) }
    }

    /// Below this many elements a loop stays on the calling thread: starting a second
    /// thread costs more than the work.
    static let elementwiseGrain = 1 << 16

    /// Calls `body(start, end)` on disjoint chunks covering `0..<count`, in parallel when
    /// `count` is large. Chunks are fixed by `count` and the thread count, so results do
    /// not change from run to run.
    @inline(__always)
    static func forChunks(_ count: Int, grain: Int = elementwiseGrain,
                          _ body: (Int, Int) -> Void) {
        let threads = threadCount
        if threads <= 1 || count < 2 * grain {
            body(0, count)
            return
        }
        let chunks = Swift.min(threads, count / grain)
        let per = (count + chunks - 1) / chunks
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let start = c * per
                box.value(start, Swift.min(count, start + per))
            }
        }
    }
}

/// Wraps a value the caller promises to use safely from several threads (raw pointers into
/// disjoint regions of a buffer).
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
