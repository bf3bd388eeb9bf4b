// Tests of the C kernels (CNablaKernels) on every instruction-set path this CPU has,
// against plain Swift reference loops. Sizes stay modest: debug builds compile C at -O0.
// Paths and thread counts are forced per thread (withKernelSettings), so these tests can run
// next to others.
import Testing
import CNablaKernels
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Deterministic pseudo-random numbers in [-1, 1).
struct KernelRNG {
    var state: UInt64
    init(_ seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> Double {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Double(state >> 11) / Double(1 << 53) * 2 - 1
    }
    mutating func floats(_ n: Int) -> [Float] { (0..<n).map { _ in Float(next()) } }
    mutating func doubles(_ n: Int) -> [Double] { (0..<n).map { _ in next() } }
}

/// Runs `body` with the calling thread's kernel settings changed by `change` (the ISA, thread
/// count, Winograd switch or GEMM strided limit), then restores them. The change is the
/// thread's own (`nabla_set_thread_settings`): tests running at the same time on other
/// threads keep the process's settings, so their results do not change under them.
func withKernelSettings<R>(_ change: (inout nabla_settings) -> Void, _ body: () throws -> R) rethrows -> R {
    let hadOwn = nabla_thread_has_settings() != 0, previous = nabla_settings_in_effect()
    var settings = previous
    change(&settings)
    nabla_set_thread_settings(settings)
    defer { if hadOwn { nabla_set_thread_settings(previous) } else { nabla_clear_thread_settings() } }
    return try body()
}

/// Runs body once per ISA path the CPU supports (portable, avx2, avx512), on this thread.
func forEachISA(_ body: (Int32) throws -> Void) rethrows {
    var seen = Set<Int32>()
    for want in Int32(0)...2 {
        try withKernelSettings({ $0.isa = want }) {
            let got = nabla_kernels_isa()
            if seen.insert(got).inserted { try body(got) }
        }
    }
}

/// Runs body with `n` kernel threads on this thread.
func withThreads<R>(_ n: Int32, _ body: () throws -> R) rethrows -> R {
    try withKernelSettings({ $0.threads = n }, body)
}

/// One GEMM problem with strided storage, and its reference product in Double.
struct GemmCase {
    let tA: Bool, tB: Bool, M: Int, N: Int, K: Int, lda: Int, ldb: Int, ldc: Int
    let a: [Double], b: [Double], c0: [Double]
    /// reference op(A)·op(B) and sum of |a||b| (for the rounding-error bound), M×N
    var prod: [Double] = [], absProd: [Double] = []

    init(tA: Bool, tB: Bool, M: Int, N: Int, K: Int, seed: UInt64) {
        self.tA = tA; self.tB = tB; self.M = M; self.N = N; self.K = K
        lda = (tA ? M : K) + 3; ldb = (tB ? K : N) + 2; ldc = N + 5
        var rng = KernelRNG(seed)
        a = rng.doubles(lda * (tA ? K : M))
        b = rng.doubles(ldb * (tB ? N : K))
        c0 = rng.doubles(ldc * M)
        var p = [Double](repeating: 0, count: M * N), q = p
        // Strides of op(A)(i, k) and op(B)(k, j); raw pointers keep debug builds quick.
        let (ai, ak) = tA ? (1, lda) : (lda, 1), (bk, bj) = tB ? (1, ldb) : (ldb, 1)
        let (M, N, K) = (M, N, K)
        a.withUnsafeBufferPointer { A in
            b.withUnsafeBufferPointer { B in
                for i in 0..<M {
                    for j in 0..<N {
                        var s = 0.0, t = 0.0
                        var pa = A.baseAddress! + i * ai, pb = B.baseAddress! + j * bj
                        for _ in 0..<K {
                            let xy = pa.pointee * pb.pointee
                            s += xy; t += abs(xy)
                            pa += ak; pb += bk
                        }
                        p[i * N + j] = s; q[i * N + j] = t
                    }
                }
            }
        }
        prod = p; absProd = q
    }

    /// Runs sgemm on a C pre-filled with c0 (or NaN when nanC) and checks every element
    /// against alpha*prod + beta*c0, and that the padding columns of C were not touched.
    func checkF32(alpha: Float, beta: Float, nanC: Bool = false) -> Bool {
        let A = a.map { Float($0) }, B = b.map { Float($0) }
        var C = nanC ? [Float](repeating: .nan, count: c0.count) : c0.map { Float($0) }
        nabla_sgemm(tA ? 1 : 0, tB ? 1 : 0, M, N, K, alpha, A, lda, B, ldb, beta, &C, ldc)
        return verify(C.map { Double($0) }, Double(alpha), Double(beta), nanC, eps: 6e-8,
                      inputRound: true)
    }
    func checkF64(alpha: Double, beta: Double, nanC: Bool = false) -> Bool {
        var C = nanC ? [Double](repeating: .nan, count: c0.count) : c0
        nabla_dgemm(tA ? 1 : 0, tB ? 1 : 0, M, N, K, alpha, a, lda, b, ldb, beta, &C, ldc)
        return verify(C, alpha, beta, nanC, eps: 1.2e-16, inputRound: false)
    }
    private func verify(_ C: [Double], _ alpha: Double, _ beta: Double, _ nanC: Bool,
                        eps: Double, inputRound: Bool) -> Bool {
        for i in 0..<M {
            for j in 0..<ldc {
                let got = C[i * ldc + j]
                if j >= N {  // padding must be untouched
                    if nanC ? !got.isNaN : got != Double(Float(c0[i * ldc + j])) && got != c0[i * ldc + j] { return false }
                    continue
                }
                let old = nanC ? 0 : (inputRound ? Double(Float(c0[i * ldc + j])) : c0[i * ldc + j])
                let want = alpha * prod[i * N + j] + (beta == 0 ? 0 : beta * old)
                // Rounding of the inputs to Float (relative 6e-8 each) and of every sum.
                let bound = abs(alpha) * absProd[i * N + j] * eps * Double(K + 4) * 2
                    + abs(beta * old) * eps * 4 + 1e-300
                if !(abs(got - want) <= bound) { return false }
            }
        }
        return true
    }
}

@Suite struct KernelTests {
    static let sizes = [1, 2, 7, 33, 65, 127, 200]
    /// (M, N, K): every size on the diagonal plus mixed shapes, including the skinny
    /// products of the MNIST trainers.
    static let shapes: [(Int, Int, Int)] =
        sizes.map { ($0, $0, $0) } + [(1, 200, 7), (200, 1, 33), (7, 65, 127), (33, 127, 2),
                                      (65, 7, 200), (127, 33, 1), (2, 200, 65), (10, 30, 78),
                                      (64, 20, 50), (13, 9, 300), (3, 150, 90),
                                      (25, 20, 576), (1, 1, 257), (5, 17, 300), (8, 11, 100),
                                      (14, 13, 260), (12, 8, 256), (10, 103, 300), (12, 61, 257)]
    // (13, 9, 300) and the last eight are dot products when B is transposed, with every edge
    // tile of the AVX2 kernel (3 × 4 tiles: 1 or 2 rows left over, 1, 2 or 3 columns) and of
    // the AVX-512 one (5 × 5 tiles: 1 to 4 rows or columns left over), K with and without a
    // masked tail; the last two have more outputs than the AVX-512 bound and few rows.

    @Test func isaSelection() {
        let best = withKernelSettings({ $0.isa = 2 }) { nabla_kernels_isa() }
        #expect(best >= 0 && best <= 2)
        #expect(withKernelSettings({ $0.isa = 0 }) { nabla_kernels_isa() } == 0)
        #expect(withKernelSettings({ $0.isa = -5 }) { nabla_kernels_isa() } == 0)
        #expect(withKernelSettings({ $0.isa = 99 }) { nabla_kernels_isa() } == best)
        #expect(String(cString: nabla_kernels_isa_name(0)) == "portable")
        #expect(String(cString: nabla_kernels_isa_name(1)) == "avx2")
        #expect(String(cString: nabla_kernels_isa_name(2)) == "avx512")
        withThreads(0) { #expect(nabla_num_threads() == 1) }
        withThreads(3) { #expect(nabla_num_threads() == 3) }
    }

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func gemmMatchesReference(tA: Bool, tB: Bool) {
        for (idx, s) in Self.shapes.enumerated() {
            let g = GemmCase(tA: tA, tB: tB, M: s.0, N: s.1, K: s.2, seed: UInt64(idx + 1))
            forEachISA { isa in
                // alpha/beta variants rotate over the shapes to keep debug runs quick
                let variants = [(1.0, 0.0), (0.5, 1.0), (-1.5, 0.25)]
                for (alpha, beta) in [variants[idx % 3], variants[(idx + 1) % 3]] {
                    #expect(g.checkF32(alpha: Float(alpha), beta: Float(beta)),
                            "sgemm isa \(isa) \(s) tA \(tA) tB \(tB) alpha \(alpha) beta \(beta)")
                    #expect(g.checkF64(alpha: alpha, beta: beta),
                            "dgemm isa \(isa) \(s) tA \(tA) tB \(tB) alpha \(alpha) beta \(beta)")
                }
                // beta == 0 must overwrite C without reading it.
                #expect(g.checkF32(alpha: 1, beta: 0, nanC: true), "sgemm NaN C isa \(isa) \(s)")
                #expect(g.checkF64(alpha: 2, beta: 0, nanC: true), "dgemm NaN C isa \(isa) \(s)")
            }
        }
    }

    /// A thread's own settings reach the pool workers that run its tasks, and stay off the
    /// other threads: every task of a parallel loop records the path it sees (and whether a
    /// worker ran it), and a second thread, with no settings of its own, sees the process's
    /// path meanwhile.
    @Test func threadSettingsReachPoolWorkersOnly() {
        let processISA = nabla_kernels_isa()
        // per task: the path seen, and 1 if a pool worker (not this thread) ran it
        let seen = UnsafeMutableBufferPointer<Int>.allocate(capacity: 2 * 64 + 1)
        defer { seen.deallocate() }
        let other = Shared<Int32>(-1)
        var workerRan = false
        withKernelSettings({ $0.isa = 0; $0.threads = 2; $0.winograd = 0; $0.strided_limit = 123 }) {
            #expect(nabla_num_threads() == 2 && nabla_winograd_enabled() == 0 && nabla_gemm_strided_limit() == 123)
            // A worker started by a loop may miss that loop; a few tries make one take tasks.
            for _ in 0..<50 where !workerRan {
                seen.initialize(repeating: -1)
                seen[128] = Int(bitPattern: UInt(pthread_self()))
                nabla_parallel_for(64, 2, { ctx, i in
                    let seen = ctx!.assumingMemoryBound(to: Int.self)
                    var x = 0.0   // long enough a task that a worker can take some of them
                    for k in 0..<20_000 { x += Double(k) }
                    seen[Int(i)] = x > 0 ? Int(nabla_kernels_isa()) : -2
                    seen[64 + Int(i)] = Int(bitPattern: UInt(pthread_self())) == seen[128] ? 0 : 1
                }, seen.baseAddress)
                #expect(seen[0..<64].allSatisfy { $0 == 0 }, "every task ran on the forced portable path")
                workerRan = seen[64..<128].contains(1)
            }
            let done = DispatchSemaphore(value: 0)
            Thread { other.update { $0 = nabla_kernels_isa() }; done.signal() }.start()
            done.wait()
        }
        #expect(workerRan, "a pool worker ran some of the tasks")
        #expect(other.value == processISA, "another thread kept the process's path")
        #expect(nabla_thread_has_settings() == 0 && nabla_kernels_isa() == processISA)
    }

    /// The same products through the packed, cache-blocked path (normally only for large
    /// inputs), with K above the 256 block so the beta = 1 continuation is exercised, on
    /// one thread and on three (the threads share each packed block of B and split the
    /// rows unevenly: 150 rows are 25 register tiles).
    @Test func gemmPackedPath() {
        withKernelSettings({ $0.strided_limit = 0 }) { gemmPackedPathForcedByTheLimit() }
    }

    func gemmPackedPathForcedByTheLimit() {
        #expect(nabla_gemm_strided_limit() == 0)
        let shapes = [(1, 1, 1), (7, 33, 65), (65, 127, 7), (150, 40, 300), (13, 70, 513), (40, 300, 600)]
        for (idx, s) in shapes.enumerated() {
            for t in 0..<4 {
                let g = GemmCase(tA: t & 1 != 0, tB: t & 2 != 0, M: s.0, N: s.1, K: s.2, seed: UInt64(50 + idx))
                for threads: Int32 in [1, 3] {
                    withThreads(threads) {
                        forEachISA { isa in
                            let at = "isa \(isa) \(s) t \(t) threads \(threads)"
                            // (results first: a failed #expect on g would print all of g)
                            let f32 = g.checkF32(alpha: 0.5, beta: 1), f64 = g.checkF64(alpha: -1.5, beta: 0.25)
                            let nan = g.checkF32(alpha: 1, beta: 0, nanC: true)
                            #expect(f32, "packed sgemm \(at)")
                            #expect(f64, "packed dgemm \(at)")
                            #expect(nan, "packed sgemm NaN \(at)")
                        }
                    }
                }
            }
        }
        /// C = A·op(B) (A untransposed, B transposed when `tB`) on `threads` threads.
        func product(threads: Int32, tB: Bool, _ m: Int, _ n: Int, _ k: Int, _ A: [Float], _ B: [Float]) -> [Float] {
            withThreads(threads) {
                var C = [Float](repeating: 0, count: m * n)
                nabla_sgemm(0, tB ? 1 : 0, m, n, k, 1, A, k, B, tB ? k : n, 0, &C, n)
                return C
            }
        }
        // threads agree on the packed path too
        var rng = KernelRNG(9)
        let A = rng.floats(200 * 160), B = rng.floats(160 * 120)
        forEachISA { isa in
            #expect(product(threads: 1, tB: true, 200, 120, 160, A, B) == product(threads: 2, tB: true, 200, 120, 160, A, B),
                    "packed threads isa \(isa)")
        }
        // Few rows with a transposed B are computed transposed (Cᵀ = op(B)ᵀ·op(A)ᵀ), here
        // threaded: the same numbers with 1 and 2 threads, and the reference's.
        let A3 = rng.floats(8 * 400), B3 = rng.floats(600 * 400)
        forEachISA { isa in
            let one = product(threads: 1, tB: true, 8, 600, 400, A3, B3)
            #expect(one == product(threads: 2, tB: true, 8, 600, 400, A3, B3), "transposed product with threads isa \(isa)")
            let i = 5, j = 431
            let want = (0..<400).reduce(0.0) { $0 + Double(A3[i * 400 + $1]) * Double(B3[j * 400 + $1]) }
            #expect(abs(Double(one[i * 600 + j]) - want) <= 1e-4 * (abs(want) + 1), "transposed product value isa \(isa)")
        }
        // A product just above the strided limit, whose per-thread halves are below it:
        // threads must not switch paths (packing blocks K, which changes rounding).
        let A2 = rng.floats(200 * 300), B2 = rng.floats(300 * 120)
        withKernelSettings({ $0.strided_limit = Int(Double(200 + 120) * 300 * 4 * 0.75) }) {
            forEachISA { isa in
                #expect(product(threads: 1, tB: false, 200, 120, 300, A2, B2) == product(threads: 2, tB: false, 200, 120, 300, A2, B2),
                        "path choice with threads isa \(isa)")
            }
        }
    }

    @Test func gemmDegenerateSizes() {
        forEachISA { _ in
            // K == 0: C = beta * C; alpha == 0 likewise; M or N == 0: nothing happens.
            var C: [Float] = [1, 2, 3, 4]
            let A: [Float] = [1, 1], B: [Float] = [1, 1]
            nabla_sgemm(0, 0, 2, 2, 0, 1, A, 1, B, 2, 0.5, &C, 2)
            #expect(C == [0.5, 1, 1.5, 2])
            var D: [Float] = [.nan, .nan, .nan, .nan]
            nabla_sgemm(0, 0, 2, 2, 0, 1, A, 1, B, 2, 0, &D, 2)
            #expect(D == [0, 0, 0, 0])
            var E: [Double] = [1, 2, 3, 4]
            nabla_dgemm(1, 1, 2, 2, 1, 0, [1, 1], 2, [1, 1], 1, 2, &E, 2)
            #expect(E == [2, 4, 6, 8])
            nabla_sgemm(0, 0, 0, 2, 3, 1, A, 3, B, 2, 0, &C, 2)
            nabla_sgemm(0, 0, 2, 0, 3, 1, A, 3, B, 2, 0, &C, 2)
            #expect(C == [0.5, 1, 1.5, 2])
        }
    }

    /// Threaded products are bit-identical to single-threaded ones, and repeatable.
    @Test func gemmThreadsAgree() {
        let M = 150, N = 140, K = 120  // above the threading threshold
        var rng = KernelRNG(7)
        let A = rng.floats(M * K), B = rng.floats(K * N)
        let Ad = rng.doubles(M * K), Bd = rng.doubles(K * N)
        forEachISA { isa in
            for (tA, tB) in [(0, 0), (1, 1), (0, 1)] as [(Int32, Int32)] {
                let lda = tA != 0 ? M : K, ldb = tB != 0 ? K : N
                func runS(_ t: Int32) -> [Float] {
                    withThreads(t) {
                        var C = [Float](repeating: 0, count: M * N)
                        nabla_sgemm(tA, tB, M, N, K, 1, A, lda, B, ldb, 0, &C, N)
                        return C
                    }
                }
                func runD(_ t: Int32) -> [Double] {
                    withThreads(t) {
                        var C = [Double](repeating: 0, count: M * N)
                        nabla_dgemm(tA, tB, M, N, K, 1, Ad, lda, Bd, ldb, 0, &C, N)
                        return C
                    }
                }
                let s1 = runS(1), s2 = runS(2), s2b = runS(2), s3 = runS(3)
                #expect(s1 == s2 && s2 == s2b && s1 == s3, "sgemm threads isa \(isa)")
                let d1 = runD(1), d2 = runD(2), d2b = runD(2)
                #expect(d1 == d2 && d2 == d2b, "dgemm threads isa \(isa)")
            }
        }
    }

    // ---- vector math ----------------------------------------------------------------------

    /// Arguments covering the whole float range, the interesting edges and special values;
    /// the count is not a multiple of 16 so the vector tails run too.
    static func sweep(from lo: Double, to hi: Double, count: Int) -> [Float] {
        (0..<count).map { Float(lo + (hi - lo) * Double($0) / Double(count - 1)) }
    }
    static let specials: [Float] = [0, -0.0, .infinity, -.infinity, .nan, 88.72, 88.7228, 88.73,
                                    89, 100, -87.3, -87.4, -100, -103.9, -104, -110, -200, 1e-8,
                                    -1e-8, 0.625, -0.625, 0.6249, 9, -9, 20, -20, .greatestFiniteMagnitude,
                                    -.greatestFiniteMagnitude, .leastNonzeroMagnitude, Float(1e-40 as Double)]

    func apply(_ f: (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void,
               _ x: [Float]) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        f(x, &y, x.count)
        return y
    }

    @Test func vexpMatchesLibm() {
        let xs = Self.sweep(from: -110, to: 90, count: 20011) + Self.sweep(from: -2, to: 2, count: 4001) + Self.specials
        forEachISA { isa in
            let y = apply(nabla_vexp_f32, xs)
            var bad = 0
            for (x, v) in zip(xs, y) {
                let r = exp(Double(x))
                if x.isNaN { if !v.isNaN { bad += 1 }; continue }
                if r > Double(Float.greatestFiniteMagnitude) { if v != .infinity { bad += 1 }; continue }
                if r < Double(Float.leastNormalMagnitude) {  // denormal or zero: absolute
                    if !(abs(Double(v) - r) <= 2 * Double(Float.leastNonzeroMagnitude)) { bad += 1 }
                    continue
                }
                if !(abs(Double(v) - r) <= 1e-6 * r) { bad += 1 }
            }
            #expect(bad == 0, "vexp isa \(isa): \(bad) bad values")
            // in place
            var z = xs
            z.withUnsafeMutableBufferPointer { nabla_vexp_f32($0.baseAddress, $0.baseAddress, $0.count) }
            #expect(zip(z, y).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
        }
    }

    @Test func vlogMatchesLibm() {
        // log-spaced positive values from denormals to the top of the range, values around 1
        var xs: [Float] = (0..<20000).map { Float(exp(-103.0 + 191.0 * Double($0) / 19999)) }
        xs += Self.sweep(from: 0.5, to: 2, count: 3001)
        xs += [Float.leastNonzeroMagnitude, Float(1e-40 as Double), Float.leastNormalMagnitude, 1, Float.greatestFiniteMagnitude]
        forEachISA { isa in
            let y = apply(nabla_vlog_f32, xs)
            var bad = 0
            for (x, v) in zip(xs, y) {
                let r = log(Double(x))
                if !(abs(Double(v) - r) <= 1e-6 * abs(r) + 1e-45) { bad += 1 }
            }
            #expect(bad == 0, "vlog isa \(isa): \(bad) bad values")
            let s = apply(nabla_vlog_f32, [0, -0.0, -1, .infinity, -.infinity, .nan, 1])
            #expect(s[0] == -.infinity && s[1] == -.infinity && s[2].isNaN && s[3] == .infinity)
            #expect(s[4].isNaN && s[5].isNaN && s[6] == 0)
        }
    }

    @Test func vsigmoidAndTanhMatchLibm() {
        let xs = Self.sweep(from: -120, to: 120, count: 24007) + Self.sweep(from: -3, to: 3, count: 6001) + Self.specials
        forEachISA { isa in
            let s = apply(nabla_vsigmoid_f32, xs), t = apply(nabla_vtanh_f32, xs)
            var badS = 0, badT = 0
            for i in xs.indices {
                let x = Double(xs[i])
                if x.isNaN {
                    if !s[i].isNaN { badS += 1 }
                    if !t[i].isNaN { badT += 1 }
                    continue
                }
                if !(abs(Double(s[i]) - 1 / (1 + exp(-x))) < 2e-7) { badS += 1 }
                if !(abs(Double(t[i]) - tanh(x)) < 2e-7) { badT += 1 }
            }
            #expect(badS == 0, "vsigmoid isa \(isa): \(badS) bad values")
            #expect(badT == 0, "vtanh isa \(isa): \(badT) bad values")
            // exact limits, no NaN
            let e = apply(nabla_vsigmoid_f32, [.infinity, -.infinity, 200, -200, 0])
            #expect(e == [1, 0, 1, 0, 0.5])
            let h = apply(nabla_vtanh_f32, [.infinity, -.infinity, 20, -20, 0, -0.0])
            #expect(h == [1, -1, 1, -1, 0, 0] && h[5].sign == .minus)
            // short inputs (tails only)
            for n in [1, 3, 15, 17] {
                let x = Array(xs[1000..<(1000 + n)])
                #expect(apply(nabla_vsigmoid_f32, x) == Array(s[1000..<(1000 + n)]))
            }
        }
    }

    // ---- im2col / col2im -----------------------------------------------------------------------

    struct ConvShape {
        let C, H, W, KH, KW, sh, sw, ph, pw, dh, dw: Int
        var OH: Int { (H + 2 * ph - dh * (KH - 1) - 1) / sh + 1 }
        var OW: Int { (W + 2 * pw - dw * (KW - 1) - 1) / sw + 1 }
        var rows: Int { C * KH * KW }
    }
    static let convShapes = [
        ConvShape(C: 1, H: 28, W: 28, KH: 5, KW: 5, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1),
        ConvShape(C: 20, H: 12, W: 12, KH: 5, KW: 5, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1),
        ConvShape(C: 3, H: 9, W: 8, KH: 3, KW: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1),
        ConvShape(C: 2, H: 11, W: 10, KH: 3, KW: 2, sh: 2, sw: 3, ph: 1, pw: 2, dh: 2, dw: 1),
        ConvShape(C: 2, H: 7, W: 9, KH: 2, KW: 3, sh: 3, sw: 1, ph: 2, pw: 0, dh: 1, dw: 3),
        ConvShape(C: 1, H: 4, W: 4, KH: 3, KW: 3, sh: 1, sw: 1, ph: 3, pw: 3, dh: 1, dw: 1),
        ConvShape(C: 1, H: 1, W: 1, KH: 1, KW: 1, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1),
        // column stride 1 (the vector paths): rows wider than a vector, row strides, dilation
        ConvShape(C: 2, H: 5, W: 40, KH: 3, KW: 5, sh: 1, sw: 1, ph: 2, pw: 3, dh: 1, dw: 1),
        ConvShape(C: 1, H: 9, W: 17, KH: 2, KW: 3, sh: 2, sw: 1, ph: 1, pw: 1, dh: 2, dw: 2),
        ConvShape(C: 3, H: 7, W: 33, KH: 5, KW: 5, sh: 3, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1),
        ConvShape(C: 1, H: 6, W: 7, KH: 3, KW: 3, sh: 1, sw: 1, ph: 4, pw: 5, dh: 1, dw: 1),
        ConvShape(C: 2, H: 3, W: 65, KH: 1, KW: 7, sh: 1, sw: 1, ph: 0, pw: 3, dh: 1, dw: 3),
    ]

    /// Reference: the value of cols[row][oi*OW+oj] is x at this index, or nil in padding.
    func sourceIndex(_ s: ConvShape, row: Int, oi: Int, oj: Int) -> Int? {
        let c = row / (s.KH * s.KW), ki = (row / s.KW) % s.KH, kj = row % s.KW
        let ii = oi * s.sh - s.ph + ki * s.dh, jj = oj * s.sw - s.pw + kj * s.dw
        guard ii >= 0, ii < s.H, jj >= 0, jj < s.W else { return nil }
        return (c * s.H + ii) * s.W + jj
    }

    @Test func im2colMatchesNaive() {
        forEachISA { isa in im2colMatchesNaive(isa: isa) }
    }

    func im2colMatchesNaive(isa: Int32) {
        for (n, s) in Self.convShapes.enumerated() {
            var rng = KernelRNG(UInt64(100 + n))
            let x = rng.doubles(s.C * s.H * s.W)
            let ncol = s.OH * s.OW
            var want = [Double](repeating: 0, count: s.rows * ncol)
            for row in 0..<s.rows {
                for oi in 0..<s.OH {
                    for oj in 0..<s.OW {
                        if let k = sourceIndex(s, row: row, oi: oi, oj: oj) { want[row * ncol + oi * s.OW + oj] = x[k] }
                    }
                }
            }
            var got = [Double](repeating: .nan, count: want.count)
            nabla_im2col_f64(x, s.C, s.H, s.W, s.KH, s.KW, s.sh, s.sw, s.ph, s.pw, s.dh, s.dw, s.OH, s.OW, &got)
            #expect(got == want, "im2col_f64 \(s)")
            var gotf = [Float](repeating: .nan, count: want.count)
            nabla_im2col_f32(x.map { Float($0) }, s.C, s.H, s.W, s.KH, s.KW, s.sh, s.sw, s.ph, s.pw, s.dh, s.dw, s.OH, s.OW, &gotf)
            #expect(gotf == want.map { Float($0) }, "im2col_f32 \(s) isa \(isa)")

            // col2im against a naive scatter-add, starting from a nonzero x (it accumulates)
            let cols = rng.doubles(want.count)
            let base = rng.doubles(x.count)
            var ref = base
            for row in 0..<s.rows {
                for oi in 0..<s.OH {
                    for oj in 0..<s.OW {
                        if let k = sourceIndex(s, row: row, oi: oi, oj: oj) { ref[k] += cols[row * ncol + oi * s.OW + oj] }
                    }
                }
            }
            var back = base
            nabla_col2im_f64(cols, s.C, s.H, s.W, s.KH, s.KW, s.sh, s.sw, s.ph, s.pw, s.dh, s.dw, s.OH, s.OW, &back)
            #expect(zip(back, ref).allSatisfy { abs($0 - $1) <= 1e-12 }, "col2im_f64 \(s)")
            var backf = base.map { Float($0) }
            nabla_col2im_f32(cols.map { Float($0) }, s.C, s.H, s.W, s.KH, s.KW, s.sh, s.sw, s.ph, s.pw, s.dh, s.dw, s.OH, s.OW, &backf)
            #expect(zip(backf, ref).allSatisfy { abs(Double($0) - $1) <= 1e-5 }, "col2im_f32 \(s) isa \(isa)")
            // Every path makes the same additions in the same order as the portable loop.
            var portable = base.map { Float($0) }
            withKernelSettings({ $0.isa = 0 }) {
                nabla_col2im_f32(cols.map { Float($0) }, s.C, s.H, s.W, s.KH, s.KW, s.sh, s.sw, s.ph, s.pw, s.dh, s.dw, s.OH, s.OW, &portable)
            }
            #expect(backf == portable, "col2im_f32 \(s) isa \(isa) vs portable, bit for bit")

            // Adjoint: <im2col(x), c> == <x, col2im(c)>
            var zero = [Double](repeating: 0, count: x.count)
            nabla_col2im_f64(cols, s.C, s.H, s.W, s.KH, s.KW, s.sh, s.sw, s.ph, s.pw, s.dh, s.dw, s.OH, s.OW, &zero)
            let lhs = zip(got, cols).reduce(0) { $0 + $1.0 * $1.1 }
            let rhs = zip(x, zero).reduce(0) { $0 + $1.0 * $1.1 }
            #expect(abs(lhs - rhs) <= 1e-10 * (abs(lhs) + 1), "adjoint \(s)")
        }
    }
}

extension KernelTests {
    /// Batches of a shuffled dataset: rows gathered and converted, the same on every
    /// instruction-set path.
    /// Every path converts bytes exactly as `Float(Double(byte) * scale)` does: all 256
    /// byte values, ragged row lengths around the vector widths, rows repeated and out of
    /// order, and scales whose products round differently in Float, are negative, or
    /// overflow Float. The vector paths compute in float when that is exact for the scale
    /// (1/255, 1, 0.1 here) and in double otherwise (-3.7, 0.3, 1e300, 1e-300).
    @Test func gatherRowsMatchesTheScalarFormulaOnEveryPath() {
        for rowBytes in [1, 7, 8, 9, 16, 37, 784] {
            let rowsInSource = 9
            let src = (0..<(rowBytes * rowsInSource)).map { UInt8(truncatingIfNeeded: $0 &* 73 &+ 11) }
            let rows: [CLong] = [8, 0, 3, 3, 7]
            for scale in [1.0 / 255, 1, -3.7, 0.1, 0.3, 1e300, 1e-300] {
                let want = rows.flatMap { r in (0..<rowBytes).map { Float(Double(src[r * rowBytes + $0]) * scale) } }
                forEachISA { isa in
                    var got = [Float](repeating: -1, count: rows.count * rowBytes)
                    nabla_prefetch_rows(src, rowBytes, rows, rows.count)
                    nabla_gather_rows_u8_f32(src, rowBytes, rows, rows.count, scale, &got)
                    #expect(got == want, "isa \(isa) rowBytes \(rowBytes) scale \(scale)")
                }
            }
        }
        let every = (0...255).map { UInt8($0) }
        for scale in [1.0 / 255, 0.3] {
            forEachISA { isa in
                var got = [Float](repeating: -1, count: 256)
                nabla_gather_rows_u8_f32(every, 256, [0], 1, scale, &got)
                #expect(got == every.map { Float(Double($0) * scale) }, "isa \(isa), scale \(scale), all byte values")
            }
        }
    }
}

extension KernelTests {
    /// Plain SGD on every path and with 1 or 2 threads gives exactly the scalar formula's
    /// bits, w − η·(g + λ·w), on sizes around the vector widths and past the 256 Ki split,
    /// with and without decay, in float and double; special values go through unchanged rules.
    @Test func sgdUpdateMatchesTheScalarFormulaOnEveryPath() {
        var rng = KernelRNG(99)
        for n in [1, 7, 8, 15, 16, 17, 33, 127, 65_536 + 19, 262_144 + 5, 600_003] {
            let w0 = rng.floats(n), g = rng.floats(n), wd0 = rng.doubles(n), gd = rng.doubles(n)
            for (lr, wd) in [(0.3, 0.0), (3.0, 1e-4), (0.01, 5.0 / 50_000)] {
                let lrf = Float(lr), wdf = Float(wd)
                let want = (0..<n).map { j in wd == 0 ? w0[j] - lrf * g[j] : w0[j] - lrf * (g[j] + wdf * w0[j]) }
                let wantD = (0..<n).map { j in wd == 0 ? wd0[j] - lr * gd[j] : wd0[j] - lr * (gd[j] + wd * wd0[j]) }
                forEachISA { isa in
                    for threads: Int32 in [1, 2] {
                        withThreads(threads) {
                            var w = w0, wd64 = wd0
                            nabla_sgd_update_f32(&w, g, n, lrf, wdf)
                            nabla_sgd_update_f64(&wd64, gd, n, lr, wd)
                            #expect(w == want, "float, isa \(isa), \(threads) threads, n \(n), lr \(lr), wd \(wd)")
                            #expect(wd64 == wantD, "double, isa \(isa), \(threads) threads, n \(n), lr \(lr), wd \(wd)")
                        }
                    }
                }
            }
        }
        // A NaN gradient makes its weight NaN; an infinite weight with decay stays non-finite.
        forEachISA { isa in
            var w: [Float] = [1, 2, .infinity, 4] + [Float](repeating: 1, count: 16)
            let g: [Float] = [0, .nan, 0, 1] + [Float](repeating: 0, count: 16)
            nabla_sgd_update_f32(&w, g, w.count, 0.5, 0.1)
            #expect(w[0] == 1 - 0.5 * (0 + 0.1 * 1) && w[1].isNaN && !w[2].isFinite && w[3] == 4 - 0.5 * (1 + 0.1 * 4), "isa \(isa)")
        }
    }
}

extension KernelTests {
    /// SGD with a product gradient, W ← W − η·op(A)·op(B), gives the bits of forming the
    /// product with sgemm and then running the plain update, on every path: all four
    /// transpose cases; K from 1 to past one GEMM pass (256), where the kernel forms the
    /// product in a buffer instead; 1 and 2 threads (the larger shapes are split); the
    /// strided and the packed GEMM (strided limit 0); a 1-row product with transposed B
    /// (computed transposed inside sgemm); float and double. A zero rate with an infinite
    /// gradient gives NaN there, as the plain update does.
    @Test func sgdProductUpdateMatchesFormingTheGradientFirst() {
        var rng = KernelRNG(7)
        let shapes = [(1, 1, 1), (30, 784, 10), (10, 30, 10), (7, 33, 65), (65, 17, 127),
                      (100, 300, 64), (12, 40, 256), (9, 20, 257), (33, 70, 600), (1, 900, 40)]
        for (m, n, k) in shapes {
            for (tA, tB) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = rng.floats(m * k), b = rng.floats(k * n), w0 = rng.floats(m * n)
                let ad = rng.doubles(m * k), bd = rng.doubles(k * n), wd0 = rng.doubles(m * n)
                let lda = tA ? m : k, ldb = tB ? k : n
                for limit in [-1, 0] {
                    forEachISA { isa in
                        for threads: Int32 in [1, 2] {
                            withKernelSettings({ $0.threads = threads; $0.strided_limit = limit }) {
                                var g = [Float](repeating: 0, count: m * n), want = w0, got = w0
                                nabla_sgemm(tA ? 1 : 0, tB ? 1 : 0, m, n, k, 1, a, lda, b, ldb, 0, &g, n)
                                nabla_sgd_update_f32(&want, g, m * n, 3, 0)
                                #expect(nabla_sgd_product_update_f32(tA ? 1 : 0, tB ? 1 : 0, m, n, k, a, lda, b, ldb, &got, 3) == 0)
                                let at = "\(m)x\(n)x\(k) tA \(tA) tB \(tB) isa \(isa) threads \(threads) limit \(limit)"
                                #expect(got == want, "float \(at)")
                                var gd = [Double](repeating: 0, count: m * n), wantD = wd0, gotD = wd0
                                nabla_dgemm(tA ? 1 : 0, tB ? 1 : 0, m, n, k, 1, ad, lda, bd, ldb, 0, &gd, n)
                                nabla_sgd_update_f64(&wantD, gd, m * n, 0.3, 0)
                                #expect(nabla_sgd_product_update_f64(tA ? 1 : 0, tB ? 1 : 0, m, n, k, ad, lda, bd, ldb, &gotD, 0.3) == 0)
                                #expect(gotD == wantD, "double \(at)")
                            }
                        }
                    }
                }
            }
        }
        forEachISA { isa in
            var w: [Float] = [1, 2]
            let a: [Float] = [.infinity], b: [Float] = [1, 1]
            #expect(nabla_sgd_product_update_f32(0, 0, 1, 2, 1, a, 1, b, 2, &w, 0) == 0)
            #expect(w[0].isNaN && w[1].isNaN, "zero rate, infinite gradient, isa \(isa)")
        }
    }
}

extension KernelTests {
    /// A·Bᵀ with a long K and a small output goes to the dot-product kernel, which skips the
    /// stretches of 16 along K where a whole band of A's rows is zero (MNIST images in a
    /// first layer). Skipping must change no bit of a finite result: the product against 30
    /// rows of B (bands of several tiles, which skip) must equal, bit for bit, the same
    /// product taken one row of B at a time (a band of one tile, which takes every stretch),
    /// with −0 entries, zeros that do not fill a stretch, and a tail of K that is not a
    /// multiple of the vector width. (The portable path has no dot-product kernel; there
    /// only the reference check applies.) A NaN in A is never skipped.
    @Test func dotKernelSkipsZeroStretchesWithoutChangingABit() {
        var rng = KernelRNG(11)
        for (m, k) in [(10, 784), (7, 300), (12, 257), (3, 1000)] {
            var a = rng.floats(m * k)
            let n = 30
            let b = rng.floats(n * k)
            // Zero some stretches in every row (so every band skips them), some in only a
            // few rows, a few single entries, and write some zeros as −0.
            for row in 0..<m {
                for c in stride(from: 0, to: k, by: 16) where (c / 16) % 3 == 1 || ((c / 16) % 5 == 2 && row % 2 == 0) {
                    for i in c..<min(c + 16, k) { a[row * k + i] = (i % 7 == 0) ? -0.0 : 0 }
                }
                a[row * k + (row * 13) % k] = 0
            }
            for c in stride(from: k & ~15, to: k, by: 1) { a[c] = 0 }  // the tail of row 0
            forEachISA { isa in
                var whole = [Float](repeating: .nan, count: m * n)
                nabla_sgemm(0, 1, m, n, k, 1.5, a, k, b, k, 0, &whole, n)
                var byRow = [Float](repeating: .nan, count: m * n)
                for j in 0..<n {
                    b.withUnsafeBufferPointer { bp in
                        byRow.withUnsafeMutableBufferPointer { cp in
                            nabla_sgemm(0, 1, m, 1, k, 1.5, a, k, bp.baseAddress! + j * k, k, 0, cp.baseAddress! + j, n)
                        }
                    }
                }
                if isa != 0 {
                    let differ = zip(whole, byRow).filter { $0.bitPattern != $1.bitPattern }.count
                    #expect(differ == 0, "\(m)x\(n)x\(k) isa \(isa): \(differ) outputs differ")
                }
                // And both are the product: within float rounding of a double reference.
                for i in 0..<m {
                    for j in 0..<n {
                        var sum = 0.0, bound = 0.0
                        for t in 0..<k {
                            sum += Double(a[i * k + t]) * Double(b[j * k + t])
                            bound += abs(Double(a[i * k + t]) * Double(b[j * k + t]))
                        }
                        let tolerance = 1.5 * (bound * Double(k) * 1.2e-7 + 1e-30)
                        #expect(abs(Double(whole[i * n + j]) - 1.5 * sum) <= tolerance, "(\(i), \(j)) isa \(isa)")
                    }
                }
                var poisoned = a
                poisoned[2 * k + 16] = .nan  // in a stretch zero in every other row
                var c = [Float](repeating: 0, count: m * n)
                nabla_sgemm(0, 1, m, n, k, 1, poisoned, k, b, k, 0, &c, n)
                #expect((0..<n).allSatisfy { c[2 * n + $0].isNaN }, "NaN in A, isa \(isa)")
                #expect((0..<n).allSatisfy { !c[$0].isNaN }, "rows without the NaN, isa \(isa)")
            }
        }
    }
}

extension KernelTests {
    /// 2×2 max pooling on every path against the rule written out: the first of tied maxima
    /// in row-major order, a NaN over any number, the last NaN over an earlier one; values
    /// and chosen indices exact, on odd and even sizes around the vector width.
    @Test func maxPool2x2MatchesTheRuleOnEveryPath() {
        var rng = KernelRNG(2024)
        for (h, w) in [(2, 2), (3, 5), (4, 16), (5, 31), (6, 32), (2, 33), (7, 40), (24, 24), (9, 65)] {
            let planes = 3, oh = h / 2, ow = w / 2
            // Few distinct levels make ties common; some NaNs, sometimes two in a window.
            let x: [Float] = (0..<planes * h * w).map { _ in
                let u = rng.next()
                return u < -0.9 ? .nan : Float(((u + 1) * 2).rounded())
            }
            var want = [Float](repeating: 0, count: planes * oh * ow), wantIndex = [Int32](repeating: 0, count: want.count)
            for p in 0..<planes {
                for oi in 0..<oh {
                    for oj in 0..<ow {
                        let ks = [2 * oi * w + 2 * oj, 2 * oi * w + 2 * oj + 1, (2 * oi + 1) * w + 2 * oj, (2 * oi + 1) * w + 2 * oj + 1]
                        var best = x[p * h * w + ks[0]], at = ks[0]
                        for k in ks.dropFirst() where x[p * h * w + k] > best || x[p * h * w + k].isNaN {
                            best = x[p * h * w + k]; at = k
                        }
                        want[(p * oh + oi) * ow + oj] = best
                        wantIndex[(p * oh + oi) * ow + oj] = Int32(at)
                    }
                }
            }
            forEachISA { isa in
                var y = [Float](repeating: -1, count: want.count), index = [Int32](repeating: -1, count: want.count)
                nabla_maxpool2x2_f32(x, &y, &index, planes, h, w, oh, ow)
                #expect(index == wantIndex, "indices \(h)×\(w) isa \(isa)")
                #expect(y.map(\.bitPattern) == want.map(\.bitPattern), "values \(h)×\(w) isa \(isa)")
                // Over max(x, 0) in registers: the pooling of the ReLU kernel's output.
                let relu = x.map { $0 > 0 ? $0 : 0 }
                var wantR = y, wantRIndex = index, yR = y, indexR = index
                nabla_maxpool2x2_f32(relu, &wantR, &wantRIndex, planes, h, w, oh, ow)
                nabla_relu_maxpool2x2_f32(x, &yR, &indexR, planes, h, w, oh, ow)
                #expect(indexR == wantRIndex && yR.map(\.bitPattern) == wantR.map(\.bitPattern), "relu \(h)×\(w) isa \(isa)")
            }
        }
    }
}

extension KernelTests {
    /// The backward of 2×2 max pooling on every path against a scatter into zeros through the
    /// forward's indices: bits exact (a −0 gradient arrives as +0, as added into zeros), every
    /// element written (the output starts as NaNs), on odd sizes whose last row or column no
    /// window covers.
    @Test func maxPool2x2BackwardMatchesAScatterIntoZerosOnEveryPath() {
        var rng = KernelRNG(77)
        for (h, w) in [(2, 2), (3, 5), (4, 16), (5, 31), (6, 32), (2, 33), (7, 40), (24, 24), (9, 65), (8, 8)] {
            let planes = 3, oh = h / 2, ow = w / 2
            let x: [Float] = (0..<planes * h * w).map { _ in Float(((rng.next() + 1) * 2).rounded()) }
            var y = [Float](repeating: 0, count: planes * oh * ow), index = [Int32](repeating: 0, count: y.count)
            nabla_maxpool2x2_f32(x, &y, &index, planes, h, w, oh, ow)
            var gy = rng.floats(y.count)
            for k in stride(from: 0, to: gy.count, by: 5) { gy[k] = -0.0 }
            if gy.count > 3 { gy[1] = .nan; gy[3] = .infinity }
            var want = [Float](repeating: 0, count: planes * h * w)
            for p in 0..<planes {
                for o in 0..<oh * ow { want[p * h * w + Int(index[p * oh * ow + o])] += gy[p * oh * ow + o] }
            }
            forEachISA { isa in
                var gx = [Float](repeating: .nan, count: want.count)
                nabla_maxpool2x2_backward_f32(gy, index, &gx, planes, h, w, oh, ow)
                #expect(gx.map(\.bitPattern) == want.map(\.bitPattern), "\(h)×\(w) isa \(isa)")
            }
        }
    }

    /// ReLU and its backward on every path against the Swift rule (x > 0 keeps x or the
    /// gradient; 0, −0, negatives and NaN give +0): bits exact, on sizes around the vector
    /// widths, in place too.
    @Test func reluMatchesTheRuleOnEveryPath() {
        var rng = KernelRNG(5)
        let special: [Float] = [0, -0.0, .nan, -.nan, .infinity, -.infinity, .leastNonzeroMagnitude,
                                -.leastNonzeroMagnitude, .greatestFiniteMagnitude]
        for n in [1, 7, 8, 9, 15, 16, 17, 31, 33, 65, 127, 1000] {
            var x = rng.floats(n), g = rng.floats(n)
            for k in 0..<Swift.min(n, special.count) { x[(k * 7) % n] = special[k]; g[(k * 3) % n] = special[k] }
            let want = x.map { $0 > 0 ? $0 : 0 }, wantBack = zip(g, x).map { $1 > 0 ? $0 : 0 }
            forEachISA { isa in
                var y = [Float](repeating: .nan, count: n), back = y
                nabla_vrelu_f32(x, &y, n)
                nabla_vrelu_backward_f32(g, x, &back, n)
                #expect(y.map(\.bitPattern) == want.map(\.bitPattern), "relu n \(n) isa \(isa)")
                #expect(back.map(\.bitPattern) == wantBack.map(\.bitPattern), "backward n \(n) isa \(isa)")
                var inPlace = x
                inPlace.withUnsafeMutableBufferPointer { nabla_vrelu_f32($0.baseAddress!, $0.baseAddress!, n) }
                #expect(inPlace.map(\.bitPattern) == want.map(\.bitPattern), "relu in place n \(n) isa \(isa)")
            }
        }
    }
}
