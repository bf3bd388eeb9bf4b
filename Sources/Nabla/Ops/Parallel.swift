import CNablaKernels

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
        parallelFor(chunks) { c in
            let start = c * per
            body(start, Swift.min(count, start + per))
        }
    }

    /// Calls `body(i)` for every `i` in `0..<count`, spread over the kernels' thread pool
    /// (the one the GEMMs use); returns when all calls are done. Tasks are handed out
    /// dynamically, so `body` must give the same result whichever thread runs it.
    ///
    /// Every parallel loop goes through this one pool. With a second pool (Dispatch) for
    /// the Swift loops, the GEMM pool's workers, spinning for the next job after each
    /// product, competed with Dispatch's threads for the two cores at every switch
    /// between a GEMM and a Swift loop. A call made while the pool is busy (from inside
    /// another parallel loop) runs serially on the calling thread.
    static func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if count == 1 || threadCount <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var task = body
            withUnsafeMutablePointer(to: &task) { pointer in
                nabla_parallel_for(count, Int32(threadCount), { context, i in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(i))
                }, pointer)
            }
        }
    }
}
