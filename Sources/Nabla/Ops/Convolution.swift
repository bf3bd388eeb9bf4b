// 2-D convolution (NCHW) as im2col + GEMM (or, for float32 5×5 layers with enough
// channels, Winograd: see `Conv2dKernels.usesWinograd`), and its two backward ops.
//
// The backward pass is itself made of differentiable ops, as in PyTorch:
//   conv2d(x, w)                       → y
//   conv2dBackwardInput(gy, w)         → gx   (a transposed convolution: GEMM + col2im)
//   conv2dBackwardWeight(x, gy)        → gw   (GEMM of gy with im2col(x)ᵀ)
// Each of the three is bilinear, so the vector–Jacobian products of each are written with
// the other two, and gradients of any order come out of the same three kernels.

import CNablaKernels

/// Sizes of one convolution, checked once and shared by the forward and backward ops.
struct Conv2dGeometry {
    let n, cin, h, w: Int
    let cout, kh, kw: Int
    let sh, sw, ph, pw, dh, dw: Int
    let oh, ow: Int

    /// Rows of the unfolded image: one per weight element of one output channel.
    var k: Int { cin * kh * kw }
    /// Output positions per image.
    var p: Int { oh * ow }
    var inputShape: [Int] { [n, cin, h, w] }
    var weightShape: [Int] { [cout, cin, kh, kw] }
    var outputShape: [Int] { [n, cout, oh, ow] }
    var stride: (Int, Int) { (sh, sw) }
    var padding: (Int, Int) { (ph, pw) }
    var dilation: (Int, Int) { (dh, dw) }
    /// Multiply–adds of one GEMM pass over the whole batch.
    var macs: Int { n * cout * k * p }

    /// Checks the arguments of a convolution of an input of shape `input` with a weight of
    /// shape `weight`, stopping with a message that names `op` when a rule is broken.
    init(input: [Int], weight: [Int], stride: (Int, Int), padding: (Int, Int),
         dilation: (Int, Int), op: String) {
        guard input.count == 4 else {
            opFailure(op, "input \(describe(input)) must have rank 4 [N, C_in, H, W] (or rank 3 [C_in, H, W] for one image)")
        }
        guard weight.count == 4 else {
            opFailure(op, "weight \(describe(weight)) must have rank 4 [C_out, C_in, KH, KW]")
        }
        guard stride.0 > 0, stride.1 > 0 else {
            opFailure(op, "stride (\(stride.0), \(stride.1)) must be positive")
        }
        guard padding.0 >= 0, padding.1 >= 0 else {
            opFailure(op, "padding (\(padding.0), \(padding.1)) must not be negative")
        }
        guard dilation.0 > 0, dilation.1 > 0 else {
            opFailure(op, "dilation (\(dilation.0), \(dilation.1)) must be positive")
        }
        guard input[1] == weight[1] else {
            opFailure(op, "input \(describe(input)) has \(input[1]) channels but weight \(describe(weight)) expects \(weight[1])")
        }
        guard weight[0] > 0, weight[2] > 0, weight[3] > 0 else {
            opFailure(op, "weight \(describe(weight)) has an empty dimension")
        }
        n = input[0]; cin = input[1]; h = input[2]; w = input[3]
        cout = weight[0]; kh = weight[2]; kw = weight[3]
        (sh, sw) = stride; (ph, pw) = padding; (dh, dw) = dilation
        let ekh = dh * (kh - 1) + 1, ekw = dw * (kw - 1) + 1
        let hp = h + 2 * ph, wp = w + 2 * pw
        guard ekh <= hp, ekw <= wp else {
            let dil = dh == 1 && dw == 1 ? "" : " (dilated to \(ekh)×\(ekw))"
            opFailure(op, "kernel \(kh)×\(kw)\(dil) is larger than the padded input \(hp)×\(wp) (input \(describe(input)), padding (\(ph), \(pw)))")
        }
        oh = (hp - ekh) / sh + 1
        ow = (wp - ekw) / sw + 1
    }
}

extension Tensor {
    /// 2-D convolution (cross-correlation, as in PyTorch) of a batch of images.
    ///
    /// - Parameters:
    ///   - weight: filters of shape `[C_out, C_in, KH, KW]`.
    ///   - bias: one value per output channel (`[C_out]`), or nil.
    ///   - stride: step between windows (rows, columns).
    ///   - padding: zeros added on each side (rows, columns).
    ///   - dilation: spacing between kernel taps (rows, columns).
    /// - Returns: `[N, C_out, OH, OW]` with `OH = (H + 2·padH − dilH·(KH − 1) − 1) / strideH + 1`.
    ///
    /// `self` is `[N, C_in, H, W]`; a rank-3 `[C_in, H, W]` input is treated as one image and
    /// gives a rank-3 result. Gradients of every order are available.
    public func conv2d(_ weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                       padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1)) -> Tensor {
        if rank == 3 {
            return unsqueezed(axis: 0)
                .conv2d(weight, bias: bias, stride: stride, padding: padding, dilation: dilation)
                .squeezed(axes: [0])
        }
        let g = Conv2dGeometry(input: shape, weight: weight.shape, stride: stride, padding: padding,
                               dilation: dilation, op: "conv2d")
        guard dtype == weight.dtype else {
            opFailure("conv2d", "input is \(dtype) but weight is \(weight.dtype); convert one with cast(to:)")
        }
        if let bias {
            guard bias.shape == [g.cout] else {
                opFailure("conv2d", "bias \(describe(bias.shape)) must have shape [\(g.cout)] (one value per output channel of weight \(describe(weight.shape)))")
            }
            guard bias.dtype == dtype else {
                opFailure("conv2d", "bias is \(bias.dtype) but input is \(dtype)")
            }
        }
        let out = Tensor(storage: Conv2dKernels.forward(storage, weight.storage, bias?.storage, g),
                         shape: g.outputShape)
        let x = self, hasBias = bias != nil
        return out.recorded("conv2d", TensorList(bias.map { [x, weight, $0] } ?? [x, weight])) { gy, ctx in
            var grads: [Tensor?] = [nil, nil]
            if ctx.needsGradient(0) { grads[0] = Tensor.conv2dBackwardInput(gy, weight, g) }
            if ctx.needsGradient(1) { grads[1] = Tensor.conv2dBackwardWeight(x, gy, g) }
            // The bias is added at every position of every image.
            if hasBias { grads.append(ctx.needsGradient(2) ? gy.sum(axes: [0, 2, 3]) : nil) }
            return TensorList(grads)
        }
    }

    /// Square-kernel convenience: the same stride, padding and dilation along both axes.
    public func conv2d(_ weight: Tensor, bias: Tensor? = nil, stride: Int, padding: Int = 0,
                       dilation: Int = 1) -> Tensor {
        conv2d(weight, bias: bias, stride: (stride, stride), padding: (padding, padding),
               dilation: (dilation, dilation))
    }

    /// The gradient of `conv2d` with respect to its input: a transposed convolution of
    /// `gradOutput` `[N, C_out, OH, OW]` with `weight`, giving `[N, C_in, H, W]`.
    ///
    /// The input shape is passed because a stride above 1 maps several input sizes to one
    /// output size.
    static func conv2dBackwardInput(_ gradOutput: Tensor, _ weight: Tensor, inputShape: [Int],
                                    stride: (Int, Int), padding: (Int, Int),
                                    dilation: (Int, Int)) -> Tensor {
        let g = Conv2dGeometry(input: inputShape, weight: weight.shape, stride: stride, padding: padding,
                               dilation: dilation, op: "conv2dBackwardInput")
        return conv2dBackwardInput(gradOutput, weight, g)
    }

    /// The gradient of `conv2d` with respect to its weight: `[C_out, C_in, KH, KW]` from the
    /// input `[N, C_in, H, W]` and `gradOutput` `[N, C_out, OH, OW]`.
    static func conv2dBackwardWeight(_ input: Tensor, _ gradOutput: Tensor, weightShape: [Int],
                                     stride: (Int, Int), padding: (Int, Int),
                                     dilation: (Int, Int)) -> Tensor {
        let g = Conv2dGeometry(input: input.shape, weight: weightShape, stride: stride, padding: padding,
                               dilation: dilation, op: "conv2dBackwardWeight")
        return conv2dBackwardWeight(input, gradOutput, g)
    }

    static func conv2dBackwardInput(_ gy: Tensor, _ weight: Tensor, _ g: Conv2dGeometry) -> Tensor {
        checkGradOutput(gy, g, dtype: weight.dtype, op: "conv2dBackwardInput")
        let out = Tensor(storage: Conv2dKernels.backwardInput(gy.storage, weight.storage, g), shape: g.inputShape)
        // gx = Aᵀ(w)·gy is bilinear in (gy, w): ⟨gx, ggx⟩ = ⟨gy, conv2d(ggx, w)⟩.
        return out.recorded("conv2dBackwardInput", gy, weight) { ggx, ctx in
            [ctx.needsGradient(0) ? ggx.conv2d(weight, stride: g.stride, padding: g.padding, dilation: g.dilation) : nil,
             ctx.needsGradient(1) ? Tensor.conv2dBackwardWeight(ggx, gy, g) : nil]
        }
    }

    static func conv2dBackwardWeight(_ x: Tensor, _ gy: Tensor, _ g: Conv2dGeometry) -> Tensor {
        checkGradOutput(gy, g, dtype: x.dtype, op: "conv2dBackwardWeight")
        let out = Tensor(storage: Conv2dKernels.backwardWeight(x.storage, gy.storage, g), shape: g.weightShape)
        // ⟨gw, ggw⟩ = ⟨gy, conv2d(x, ggw)⟩, bilinear in (x, gy).
        return out.recorded("conv2dBackwardWeight", x, gy) { ggw, ctx in
            [ctx.needsGradient(0) ? Tensor.conv2dBackwardInput(gy, ggw, g) : nil,
             ctx.needsGradient(1) ? x.conv2d(ggw, stride: g.stride, padding: g.padding, dilation: g.dilation) : nil]
        }
    }

    private static func checkGradOutput(_ gy: Tensor, _ g: Conv2dGeometry, dtype: DType, op: String) {
        guard gy.shape == g.outputShape else {
            opFailure(op, "gradient of the output has shape \(describe(gy.shape)) but the convolution of \(describe(g.inputShape)) with \(describe(g.weightShape)) gives \(describe(g.outputShape))")
        }
        guard gy.dtype == dtype else {
            opFailure(op, "gradient of the output is \(gy.dtype) but the operands are \(dtype)")
        }
    }
}

/// The raw loops behind the convolution ops: im2col + GEMM per image.
///
/// Threads: a large batch is split into one range of images per thread here (on the
/// kernels' pool, `Threading.parallelFor`), and each thread's GEMMs are cut into row
/// blocks small enough that the C kernels run them whole on that thread. (Threading at
/// both levels once oversubscribed the cores: on this 2-core VM the second MNIST layer
/// became 5–30× slower.) With a single image (or a small batch) the GEMM is called whole
/// and the kernels may thread it.
/// Measured (release, 1 thread, MNIST shapes): one GEMM over the whole batch
/// ([C_out, K] × [K, N·P]) was slower than per-image GEMMs (its column matrix leaves the
/// L2 cache, and the output then needs a transpose), so per-image it is.
enum Conv2dKernels {
    /// Below this many multiply–adds a convolution stays on the calling thread.
    static let parallelThreshold = 1 << 18
    /// Mirrors GEMM_PARALLEL_FLOPS of the C kernels: a GEMM of at least this many FLOPs
    /// (2·M·N·K) is threaded by the kernels themselves.
    static let kernelThreadingFlops = 2_000_000

    /// Contiguous ranges of images, one per thread (a single range when the work is small).
    static func imageChunks(_ g: Conv2dGeometry) -> [Range<Int>] {
        let threads = Swift.min(Threading.threadCount, g.n)
        guard threads > 1, g.macs >= parallelThreshold else { return [0..<g.n] }
        let per = (g.n + threads - 1) / threads
        return stride(from: 0, to: g.n, by: per).map { $0..<Swift.min(g.n, $0 + per) }
    }

    /// `gemm`, but when `unthreaded` it is cut into blocks of rows below the kernels'
    /// threading threshold, for callers that already run one GEMM per thread.
    static func gemm(_ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, _ c: UnsafeMutableRawPointer,
                     dtype: DType, m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool,
                     lda: Int, ldb: Int, accumulate: Bool = false, unthreaded: Bool) {
        let perRow = 2 * n * k
        guard unthreaded, perRow > 0, m * perRow >= kernelThreadingFlops else {
            Nabla.gemm(a, b, c, dtype: dtype, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
                       lda: lda, ldb: ldb, accumulate: accumulate)
            return
        }
        let size = dtype.byteCount
        let rowsPerCall = Swift.max(1, (kernelThreadingFlops - 1) / perRow)
        var i = 0
        while i < m {
            let rows = Swift.min(rowsPerCall, m - i)
            // Row i of op(A) starts at row i of A, or at column i when A is stored transposed.
            let aOffset = (transposeA ? i : i * lda) * size
            Nabla.gemm(a + aOffset, b, c + i * n * size, dtype: dtype, m: rows, n: n, k: k,
                       transposeA: transposeA, transposeB: transposeB, lda: lda, ldb: ldb,
                       accumulate: accumulate)
            i += rows
        }
    }

    /// Runs `body(chunkIndex, images)` for every chunk, in parallel when there are several.
    static func run(_ chunks: [Range<Int>], _ body: (Int, Range<Int>) -> Void) {
        if chunks.count == 1 { body(0, chunks[0]); return }
        Threading.parallelFor(chunks.count) { c in body(c, chunks[c]) }
    }

    /// Whether im2col is the identity (1×1 kernel, stride 1, no padding), so the image itself
    /// can be used as the column matrix.
    static func unfoldIsIdentity(_ g: Conv2dGeometry) -> Bool {
        g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0
    }

    static func im2col(_ x: UnsafeMutableRawPointer, _ g: Conv2dGeometry, _ cols: UnsafeMutableRawPointer,
                       dtype: DType) {
        switch dtype {
        case .float32:
            nabla_im2col_f32(x.assumingMemoryBound(to: Float.self), g.cin, g.h, g.w, g.kh, g.kw, g.sh, g.sw,
                             g.ph, g.pw, g.dh, g.dw, g.oh, g.ow, cols.assumingMemoryBound(to: Float.self))
        case .float64:
            nabla_im2col_f64(x.assumingMemoryBound(to: Double.self), g.cin, g.h, g.w, g.kh, g.kw, g.sh, g.sw,
                             g.ph, g.pw, g.dh, g.dw, g.oh, g.ow, cols.assumingMemoryBound(to: Double.self))
        }
    }

    static func col2im(_ cols: UnsafeMutableRawPointer, _ g: Conv2dGeometry, _ x: UnsafeMutableRawPointer,
                       dtype: DType) {
        switch dtype {
        case .float32:
            nabla_col2im_f32(cols.assumingMemoryBound(to: Float.self), g.cin, g.h, g.w, g.kh, g.kw, g.sh, g.sw,
                             g.ph, g.pw, g.dh, g.dw, g.oh, g.ow, x.assumingMemoryBound(to: Float.self))
        case .float64:
            nabla_col2im_f64(cols.assumingMemoryBound(to: Double.self), g.cin, g.h, g.w, g.kh, g.kw, g.sh, g.sw,
                             g.ph, g.pw, g.dh, g.dw, g.oh, g.ow, x.assumingMemoryBound(to: Double.self))
        }
    }

    /// Whether a convolution runs on the Winograd kernels (`nabla_conv5x5_forward_f32`,
    /// `…_backward_input_f32`, `…_weight_grad_f32`): float32, 5×5, stride and dilation 1,
    /// padding at most 4 (every output then sees part of the image), and at least 8 input
    /// and output channels. They need 6.25 times fewer multiplications than im2col + GEMM
    /// but transform every tile of input and output; with a single input channel (the
    /// first MNIST layer) the transforms cost more than they save. Measured (batch 64,
    /// 20 → 40 channels, 12×12 input, one thread, AVX2, C harness): forward 0.81–0.91 ms
    /// against 2.7–2.9 ms for im2col + GEMM, input gradient 1.0–1.3 against 3.0–3.2,
    /// weight gradient 0.73–0.76 against 3.7–3.8. Results differ from the direct sums by
    /// about 1e-6 of the sum of the terms' magnitudes (tested to 3e-5).
    /// `NABLA_WINOGRAD=0` (or `nabla_set_winograd(0)`) turns them off.
    static func usesWinograd(_ g: Conv2dGeometry, dtype: DType) -> Bool {
        dtype == .float32 && g.kh == 5 && g.kw == 5 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1
            && g.ph <= 4 && g.pw <= 4 && g.cin >= 8 && g.cout >= 8 && nabla_winograd_enabled() != 0
    }

    /// y[n] = W · im2col(x[n]) (+ bias), for every image n.
    static func forward(_ x: TensorStorage, _ w: TensorStorage, _ bias: TensorStorage?,
                        _ g: Conv2dGeometry) -> TensorStorage {
        let dtype = x.dtype, size = dtype.byteCount
        let out = TensorStorage.make(count: g.n * g.cout * g.p, dtype: dtype)
        if out.count == 0 { return out }
        if usesWinograd(g, dtype: dtype),
           nabla_conv5x5_forward_f32(x.pointer(as: Float.self), g.n, g.cin, g.h, g.w, w.pointer(as: Float.self),
                                     g.cout, g.ph, g.pw, out.pointer(as: Float.self)) != 0 {
            if let bias {
                for i in 0..<g.n { addBias(out.base + i * g.cout * g.p * size, bias.base, g, Float.self) }
            }
            return out
        }
        let identity = unfoldIsIdentity(g)
        let chunks = imageChunks(g), threaded = chunks.count > 1
        run(chunks) { _, images in
            let scratch = identity ? nil : TensorStorage.make(count: g.k * g.p, dtype: dtype)
            for i in images {
                let xi = x.base + i * g.cin * g.h * g.w * size
                let yi = out.base + i * g.cout * g.p * size
                var cols = xi
                if let scratch { im2col(xi, g, scratch.base, dtype: dtype); cols = scratch.base }
                gemm(w.base, cols, yi, dtype: dtype, m: g.cout, n: g.p, k: g.k,
                     transposeA: false, transposeB: false, lda: g.k, ldb: g.p, unthreaded: threaded)
                if let bias {
                    switch dtype {
                    case .float32: addBias(yi, bias.base, g, Float.self)
                    case .float64: addBias(yi, bias.base, g, Double.self)
                    }
                }
            }
        }
        return out
    }

    private static func addBias<T: TensorScalar>(_ y: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer,
                                                 _ g: Conv2dGeometry, _: T.Type) {
        let yp = y.assumingMemoryBound(to: T.self), bp = b.assumingMemoryBound(to: T.self)
        let p = g.p
        for c in 0..<g.cout {
            let row = yp + c * p, v = bp[c]
            for j in 0..<p { row[j] += v }
        }
    }

    /// gx[n] = col2im(Wᵀ · gy[n]), for every image n.
    static func backwardInput(_ gy: TensorStorage, _ w: TensorStorage, _ g: Conv2dGeometry) -> TensorStorage {
        let dtype = w.dtype, size = dtype.byteCount
        if usesWinograd(g, dtype: dtype) {
            let out = TensorStorage.make(count: g.n * g.cin * g.h * g.w, dtype: dtype)
            if out.count == 0 { return out }
            if nabla_conv5x5_backward_input_f32(gy.pointer(as: Float.self), g.n, g.cout, g.cin, g.h, g.w,
                                                w.pointer(as: Float.self), g.ph, g.pw, out.pointer(as: Float.self)) != 0 {
                return out
            }
        }
        let identity = unfoldIsIdentity(g)
        let out = identity ? TensorStorage.make(count: g.n * g.cin * g.h * g.w, dtype: dtype)
                           : TensorStorage.zeros(count: g.n * g.cin * g.h * g.w, dtype: dtype)
        if out.count == 0 { return out }
        let chunks = imageChunks(g), threaded = chunks.count > 1
        run(chunks) { _, images in
            let scratch = identity ? nil : TensorStorage.make(count: g.k * g.p, dtype: dtype)
            for i in images {
                let gyi = gy.base + i * g.cout * g.p * size
                let gxi = out.base + i * g.cin * g.h * g.w * size
                // With an identity unfold the column matrix is the image gradient itself.
                let cols = scratch?.base ?? gxi
                gemm(w.base, gyi, cols, dtype: dtype, m: g.k, n: g.p, k: g.cout,
                     transposeA: true, transposeB: false, lda: g.k, ldb: g.p, unthreaded: threaded)
                if scratch != nil { col2im(cols, g, gxi, dtype: dtype) }
            }
        }
        return out
    }

    /// gw = Σₙ gy[n] · im2col(x[n])ᵀ, computed transposed: gwᵀ = Σₙ im2col(x[n]) · gy[n]ᵀ.
    /// That way the large operand (the column matrix, K × P) is read in place and only the
    /// small one (gy[n], C_out × P) is transposed into panels by the GEMM; the other way
    /// round the kernels transposed the whole column matrix for every image (7–8 % of a
    /// LeNet step). Each thread sums its images into its own gwᵀ; the sums are transposed
    /// and added at the end in a fixed order, so results are reproducible.
    static func backwardWeight(_ x: TensorStorage, _ gy: TensorStorage, _ g: Conv2dGeometry) -> TensorStorage {
        let dtype = x.dtype, size = dtype.byteCount
        let wCount = g.cout * g.k
        if g.n == 0 || g.p == 0 || wCount == 0 { return TensorStorage.zeros(count: wCount, dtype: dtype) }
        let out = TensorStorage.make(count: wCount, dtype: dtype)
        if usesWinograd(g, dtype: dtype),
           nabla_conv5x5_weight_grad_f32(x.pointer(as: Float.self), gy.pointer(as: Float.self), g.n, g.cin, g.h, g.w,
                                         g.cout, g.ph, g.pw, out.pointer(as: Float.self)) != 0 {
            return out
        }
        let identity = unfoldIsIdentity(g)
        let chunks = imageChunks(g), threaded = chunks.count > 1
        let sums = chunks.map { _ in TensorStorage.make(count: wCount, dtype: dtype) }
        run(chunks) { c, images in
            let target = sums[c]
            let scratch = identity ? nil : TensorStorage.make(count: g.k * g.p, dtype: dtype)
            for i in images {
                let xi = x.base + i * g.cin * g.h * g.w * size
                let gyi = gy.base + i * g.cout * g.p * size
                var cols = xi
                if let scratch { im2col(xi, g, scratch.base, dtype: dtype); cols = scratch.base }
                gemm(cols, gyi, target.base, dtype: dtype, m: g.k, n: g.cout, k: g.p,
                     transposeA: false, transposeB: true, lda: g.p, ldb: g.p,
                     accumulate: i != images.lowerBound, unthreaded: threaded)
            }
        }
        switch dtype {
        case .float32: transposeSum(sums, into: out.pointer(as: Float.self), rows: g.k, columns: g.cout)
        case .float64: transposeSum(sums, into: out.pointer(as: Double.self), rows: g.k, columns: g.cout)
        }
        return out
    }

    /// out[j][i] = Σ_s sums[s][i][j] for row-major `rows × columns` matrices, summed in the
    /// order of `sums`: the sums are added into the first one (contiguous, vectorized), which
    /// is then transposed once.
    private static func transposeSum<T: TensorScalar>(_ sums: [TensorStorage], into out: UnsafeMutablePointer<T>,
                                                      rows: Int, columns: Int) {
        let first = sums[0].pointer(as: T.self), count = rows * columns
        for s in sums.dropFirst() {
            let m = s.pointer(as: T.self)
            for i in 0..<count { first[i] += m[i] }
        }
        for i in 0..<rows {
            for j in 0..<columns { out[j * rows + i] = first[i * columns + j] }
        }
    }
}
