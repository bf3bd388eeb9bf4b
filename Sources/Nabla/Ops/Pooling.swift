// 2-D max and average pooling (NCHW), with backward passes that are ops themselves:
//   maxPool2d: forward records, for each output, the flat index of the chosen input in
//   its plane; maxPool2dBackward scatters gradients through those indices, and its own
//   backward gathers through the same indices (maxPool2dGather), whose backward scatters.
//   avgPool2d and avgPool2dBackward are linear and adjoint to each other.

import CNablaKernels

/// Sizes of one pooling, checked once and shared by the forward and backward ops.
struct Pool2dGeometry {
    let n, c, h, w: Int
    let kh, kw, sh, sw, ph, pw: Int
    let oh, ow: Int

    var planes: Int { n * c }
    var inputShape: [Int] { [n, c, h, w] }
    var outputShape: [Int] { [n, c, oh, ow] }

    init(input: [Int], kernelSize: (Int, Int), stride: (Int, Int)?, padding: (Int, Int), op: String) {
        guard input.count == 4 else {
            opFailure(op, "input \(describe(input)) must have rank 4 [N, C, H, W] (or rank 3 [C, H, W] for one image)")
        }
        let s = stride ?? kernelSize
        guard kernelSize.0 > 0, kernelSize.1 > 0 else {
            opFailure(op, "kernel size (\(kernelSize.0), \(kernelSize.1)) must be positive")
        }
        guard s.0 > 0, s.1 > 0 else {
            opFailure(op, "stride (\(s.0), \(s.1)) must be positive")
        }
        guard padding.0 >= 0, padding.1 >= 0 else {
            opFailure(op, "padding (\(padding.0), \(padding.1)) must not be negative")
        }
        // PyTorch's rule: every window then holds at least one real element.
        guard 2 * padding.0 <= kernelSize.0, 2 * padding.1 <= kernelSize.1 else {
            opFailure(op, "padding (\(padding.0), \(padding.1)) must be at most half the kernel size (\(kernelSize.0), \(kernelSize.1))")
        }
        n = input[0]; c = input[1]; h = input[2]; w = input[3]
        (kh, kw) = kernelSize; (sh, sw) = s; (ph, pw) = padding
        let hp = h + 2 * ph, wp = w + 2 * pw
        guard kh <= hp, kw <= wp else {
            opFailure(op, "kernel \(kh)×\(kw) is larger than the padded input \(hp)×\(wp) (input \(describe(input)), padding (\(ph), \(pw)))")
        }
        guard h * w <= Int(Int32.max) else {
            opFailure(op, "input planes of \(h)×\(w) elements are too large (indices are 32-bit)")
        }
        oh = (hp - kh) / sh + 1
        ow = (wp - kw) / sw + 1
    }

    /// The common 2×2 window with stride 2 and no padding, which has its own loops.
    var isPlain2x2: Bool { kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0 }

    /// Planes per thread chunk, so that small poolings stay on one thread.
    var planeGrain: Int {
        let work = Swift.max(1, oh * ow * kh * kw)
        return Swift.max(1, Threading.elementwiseGrain / work)
    }
}

/// For each output of a max pooling, the index (within its input plane, `i·W + j`) of the
/// element that was chosen. Shared by the backward ops of every order; never mutated.
final class PoolIndices: @unchecked Sendable {
    let base: UnsafeMutablePointer<Int32>
    let count: Int

    init(count: Int) {
        self.count = count
        base = .allocate(capacity: Swift.max(count, 1))
    }

    deinit { base.deallocate() }
}

extension Tensor {
    /// Max pooling over `kernelSize` windows of each channel.
    ///
    /// `stride` defaults to the kernel size (non-overlapping windows); `padding` adds −∞ on
    /// each side and may be at most half the kernel size. Among tied maxima the first in
    /// row-major window order takes the gradient, as in PyTorch; NaN propagates.
    /// `self` is `[N, C, H, W]`, or `[C, H, W]` for one image (giving a rank-3 result).
    public func maxPool2d(kernelSize: (Int, Int), stride: (Int, Int)? = nil,
                          padding: (Int, Int) = (0, 0)) -> Tensor {
        maxPool2d(kernelSize: kernelSize, stride: stride, padding: padding, ofReLU: false)
    }

    /// `relu().maxPool2d(kernelSize:stride:padding:)` as one op, with the same values and
    /// gradients: the ReLU is applied to each window's elements as they are read, so its
    /// full-size output is never written, and the backward masks the small pooled gradient
    /// (the chosen element passes its gradient exactly when the pooled value is positive)
    /// instead of the full-size one. For the 2×2, stride-2 float32 pooling of small conv
    /// nets; other shapes and float64 run as the two ops.
    public func reluMaxPool2d(kernelSize: (Int, Int), stride: (Int, Int)? = nil,
                              padding: (Int, Int) = (0, 0)) -> Tensor {
        maxPool2d(kernelSize: kernelSize, stride: stride, padding: padding, ofReLU: true)
    }

    private func maxPool2d(kernelSize: (Int, Int), stride: (Int, Int)?, padding: (Int, Int), ofReLU: Bool) -> Tensor {
        if rank == 3 {
            return unsqueezed(axis: 0).maxPool2d(kernelSize: kernelSize, stride: stride, padding: padding, ofReLU: ofReLU)
                .squeezed(axes: [0])
        }
        let g = Pool2dGeometry(input: shape, kernelSize: kernelSize, stride: stride, padding: padding,
                               op: ofReLU ? "reluMaxPool2d" : "maxPool2d")
        if ofReLU && !(g.isPlain2x2 && dtype == .float32) {
            return relu().maxPool2d(kernelSize: kernelSize, stride: stride, padding: padding)
        }
        let out = TensorStorage.make(count: g.planes * g.oh * g.ow, dtype: dtype)
        let indices = PoolIndices(count: out.count)
        let x = storage
        Threading.forChunks(g.planes, grain: g.planeGrain) { start, end in
            if ofReLU {
                nabla_relu_maxpool2x2_f32(x.pointer(as: Float.self) + start * g.h * g.w,
                                          out.pointer(as: Float.self) + start * g.oh * g.ow,
                                          indices.base + start * g.oh * g.ow, end - start, g.h, g.w, g.oh, g.ow)
                return
            }
            switch x.dtype {
            case .float32: PoolKernels.maxForward(x.pointer(as: Float.self), out.pointer(as: Float.self), indices.base, g, start, end)
            case .float64: PoolKernels.maxForward(x.pointer(as: Double.self), out.pointer(as: Double.self), indices.base, g, start, end)
            }
        }
        let y = Tensor(storage: out, shape: g.outputShape)
        if ofReLU {
            return y.recorded("reluMaxPool2d", self, savingOutput: true) { gy, c in
                [Tensor.maxPool2dBackward(Tensor.reluBackward(gy, c.output), indices, g)]
            }
        }
        return y.recorded("maxPool2d", self) { gy, _ in
            [Tensor.maxPool2dBackward(gy, indices, g)]
        }
    }

    /// Square-window convenience: `x.maxPool2d(2)` halves both spatial sizes.
    public func maxPool2d(_ kernelSize: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        maxPool2d(kernelSize: (kernelSize, kernelSize), stride: stride.map { ($0, $0) },
                  padding: (padding, padding))
    }

    /// Average pooling over `kernelSize` windows of each channel.
    ///
    /// `stride` defaults to the kernel size; `padding` adds zeros on each side (at most half
    /// the kernel size), and padded zeros count in the average (PyTorch's default
    /// `count_include_pad = true`), so every window divides by `KH·KW`.
    /// `self` is `[N, C, H, W]`, or `[C, H, W]` for one image (giving a rank-3 result).
    public func avgPool2d(kernelSize: (Int, Int), stride: (Int, Int)? = nil,
                          padding: (Int, Int) = (0, 0)) -> Tensor {
        if rank == 3 {
            return unsqueezed(axis: 0).avgPool2d(kernelSize: kernelSize, stride: stride, padding: padding)
                .squeezed(axes: [0])
        }
        let g = Pool2dGeometry(input: shape, kernelSize: kernelSize, stride: stride, padding: padding,
                               op: "avgPool2d")
        return Tensor.avgPool2d(self, g)
    }

    /// Square-window convenience: `x.avgPool2d(2)` halves both spatial sizes.
    public func avgPool2d(_ kernelSize: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        avgPool2d(kernelSize: (kernelSize, kernelSize), stride: stride.map { ($0, $0) },
                  padding: (padding, padding))
    }

    static func avgPool2d(_ x: Tensor, _ g: Pool2dGeometry) -> Tensor {
        let out = TensorStorage.make(count: g.planes * g.oh * g.ow, dtype: x.dtype)
        let xs = x.storage
        Threading.forChunks(g.planes, grain: g.planeGrain) { start, end in
            switch xs.dtype {
            case .float32: PoolKernels.avgForward(xs.pointer(as: Float.self), out.pointer(as: Float.self), g, start, end)
            case .float64: PoolKernels.avgForward(xs.pointer(as: Double.self), out.pointer(as: Double.self), g, start, end)
            }
        }
        return Tensor(storage: out, shape: g.outputShape).recorded("avgPool2d", x) { gy, _ in
            [Tensor.avgPool2dBackward(gy, g)]
        }
    }

    /// Spreads each output gradient evenly over its window: the adjoint of `avgPool2d`,
    /// whose own gradient is therefore `avgPool2d` again.
    static func avgPool2dBackward(_ gy: Tensor, _ g: Pool2dGeometry) -> Tensor {
        guard gy.shape == g.outputShape else {
            opFailure("avgPool2dBackward", "gradient of the output has shape \(describe(gy.shape)); expected \(describe(g.outputShape))")
        }
        let out = TensorStorage.zeros(count: g.planes * g.h * g.w, dtype: gy.dtype)
        let gs = gy.storage
        Threading.forChunks(g.planes, grain: g.planeGrain) { start, end in
            switch gs.dtype {
            case .float32: PoolKernels.avgBackward(gs.pointer(as: Float.self), out.pointer(as: Float.self), g, start, end)
            case .float64: PoolKernels.avgBackward(gs.pointer(as: Double.self), out.pointer(as: Double.self), g, start, end)
            }
        }
        return Tensor(storage: out, shape: g.inputShape).recorded("avgPool2dBackward", gy) { ggx, _ in
            [Tensor.avgPool2d(ggx, g)]
        }
    }

    /// Adds each output gradient to the input element its window chose (windows that
    /// overlap may choose the same element, whose gradients then add up).
    static func maxPool2dBackward(_ gy: Tensor, _ indices: PoolIndices, _ g: Pool2dGeometry) -> Tensor {
        guard gy.shape == g.outputShape else {
            opFailure("maxPool2dBackward", "gradient of the output has shape \(describe(gy.shape)); expected \(describe(g.outputShape))")
        }
        let gs = gy.storage, out: TensorStorage
        if g.isPlain2x2 && gy.dtype == .float32 {
            // One pass in C that writes every element, the chosen ones and the zeros.
            out = TensorStorage.make(count: g.planes * g.h * g.w, dtype: .float32)
            Threading.forChunks(g.planes, grain: g.planeGrain) { start, end in
                nabla_maxpool2x2_backward_f32(gs.pointer(as: Float.self) + start * g.oh * g.ow,
                                              indices.base + start * g.oh * g.ow,
                                              out.pointer(as: Float.self) + start * g.h * g.w,
                                              end - start, g.h, g.w, g.oh, g.ow)
            }
        } else {
            out = TensorStorage.zeros(count: g.planes * g.h * g.w, dtype: gy.dtype)
            Threading.forChunks(g.planes, grain: g.planeGrain) { start, end in
                switch gs.dtype {
                case .float32: PoolKernels.scatter(gs.pointer(as: Float.self), out.pointer(as: Float.self), indices.base, g, start, end)
                case .float64: PoolKernels.scatter(gs.pointer(as: Double.self), out.pointer(as: Double.self), indices.base, g, start, end)
                }
            }
        }
        return Tensor(storage: out, shape: g.inputShape).recorded("maxPool2dBackward", gy) { ggx, _ in
            [Tensor.maxPool2dGather(ggx, indices, g)]
        }
    }

    /// Reads, for each output of the max pooling, the element of `x` (input-shaped) that the
    /// window chose: the adjoint of `maxPool2dBackward`.
    static func maxPool2dGather(_ x: Tensor, _ indices: PoolIndices, _ g: Pool2dGeometry) -> Tensor {
        guard x.shape == g.inputShape else {
            opFailure("maxPool2dGather", "input has shape \(describe(x.shape)); expected \(describe(g.inputShape))")
        }
        let out = TensorStorage.make(count: g.planes * g.oh * g.ow, dtype: x.dtype)
        let xs = x.storage
        Threading.forChunks(g.planes, grain: g.planeGrain) { start, end in
            switch xs.dtype {
            case .float32: PoolKernels.gather(xs.pointer(as: Float.self), out.pointer(as: Float.self), indices.base, g, start, end)
            case .float64: PoolKernels.gather(xs.pointer(as: Double.self), out.pointer(as: Double.self), indices.base, g, start, end)
            }
        }
        return Tensor(storage: out, shape: g.outputShape).recorded("maxPool2dGather", x) { gy, _ in
            [Tensor.maxPool2dBackward(gy, indices, g)]
        }
    }
}

/// Raw loops of the pooling ops over planes `start..<end` (a plane is one channel of one
/// image). Window bounds are clipped to the real input once per row and column, so the
/// inner loops carry no padding tests.
enum PoolKernels {
    static func maxForward<T: TensorScalar>(_ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>,
                                            _ idx: UnsafeMutablePointer<Int32>, _ g: Pool2dGeometry,
                                            _ start: Int, _ end: Int) {
        if g.isPlain2x2 {
            if T.self == Float.self {
                // The C kernel (AVX-512 when available) follows the same rule.
                nabla_maxpool2x2_f32(UnsafeRawPointer(x + start * g.h * g.w).assumingMemoryBound(to: Float.self),
                                     UnsafeMutableRawPointer(y + start * g.oh * g.ow).assumingMemoryBound(to: Float.self),
                                     idx + start * g.oh * g.ow, end - start, g.h, g.w, g.oh, g.ow)
            } else {
                maxForward2x2(x, y, idx, g, start, end)
            }
            return
        }
        let planeIn = g.h * g.w, planeOut = g.oh * g.ow
        for plane in start..<end {
            let xp = x + plane * planeIn, yp = y + plane * planeOut, ip = idx + plane * planeOut
            for oi in 0..<g.oh {
                let i0 = oi * g.sh - g.ph
                let iStart = Swift.max(i0, 0), iEnd = Swift.min(i0 + g.kh, g.h)
                for oj in 0..<g.ow {
                    let j0 = oj * g.sw - g.pw
                    let jStart = Swift.max(j0, 0), jEnd = Swift.min(j0 + g.kw, g.w)
                    var best = -T.infinity
                    var bestIndex = iStart * g.w + jStart
                    // PyTorch's rule: a NaN wins; among tied maxima the first stays. The
                    // plain comparison compiles to selects; a NaN (seen in the running sum)
                    // sends the window through the exact rule.
                    var probe: T = 0
                    for i in iStart..<iEnd {
                        let row = i &* g.w
                        for j in jStart..<jEnd {
                            let v = xp[row &+ j]
                            probe += v
                            if v > best { best = v; bestIndex = row &+ j }
                        }
                    }
                    if probe.isNaN {
                        best = -T.infinity
                        bestIndex = iStart &* g.w &+ jStart
                        for i in iStart..<iEnd {
                            let row = i &* g.w
                            for j in jStart..<jEnd {
                                let v = xp[row &+ j]
                                if v > best || v.isNaN { best = v; bestIndex = row &+ j }
                            }
                        }
                    }
                    let o = oi * g.ow + oj
                    yp[o] = best
                    ip[o] = Int32(truncatingIfNeeded: bestIndex)
                }
            }
        }
    }

    /// The common 2×2, stride 2, unpadded case without the window loops (same choice rule).
    private static func maxForward2x2<T: TensorScalar>(_ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>,
                                                       _ idx: UnsafeMutablePointer<Int32>, _ g: Pool2dGeometry,
                                                       _ start: Int, _ end: Int) {
        let planeIn = g.h * g.w, planeOut = g.oh * g.ow, w = g.w
        for plane in start..<end {
            let xp = x + plane * planeIn, yp = y + plane * planeOut, ip = idx + plane * planeOut
            for oi in 0..<g.oh {
                let top = 2 * oi * w
                let r0 = xp + top, r1 = r0 + w
                let yo = yp + oi * g.ow, io = ip + oi * g.ow
                for oj in 0..<g.ow {
                    let j = 2 * oj
                    // Plain comparisons compile to selects instead of branches (which element
                    // wins is random, and mispredictions cost more than the work); a NaN,
                    // which they would skip, sends the window through the exact rule.
                    let a = r0[j], b = r0[j &+ 1], c = r1[j], d = r1[j &+ 1]
                    var best = a, at = top &+ j
                    if b > best { best = b; at = top &+ j &+ 1 }
                    if c > best { best = c; at = top &+ w &+ j }
                    if d > best { best = d; at = top &+ w &+ j &+ 1 }
                    if (a + b + c + d).isNaN {
                        (best, at) = (a, top &+ j)
                        for (v, k) in [(b, top &+ j &+ 1), (c, top &+ w &+ j), (d, top &+ w &+ j &+ 1)]
                        where v > best || v.isNaN { (best, at) = (v, k) }
                    }
                    yo[oj] = best
                    io[oj] = Int32(truncatingIfNeeded: at)
                }
            }
        }
    }

    static func avgForward<T: TensorScalar>(_ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>,
                                            _ g: Pool2dGeometry, _ start: Int, _ end: Int) {
        let planeIn = g.h * g.w, planeOut = g.oh * g.ow
        let scale = 1 / T(Double(g.kh * g.kw))
        if g.isPlain2x2 {
            for plane in start..<end {
                let xp = x + plane * planeIn, yp = y + plane * planeOut
                for oi in 0..<g.oh {
                    let r0 = xp + 2 * oi * g.w, r1 = r0 + g.w, yo = yp + oi * g.ow
                    for oj in 0..<g.ow {
                        let j = 2 &* oj
                        yo[oj] = (r0[j] + r0[j &+ 1] + r1[j] + r1[j &+ 1]) * scale
                    }
                }
            }
            return
        }
        for plane in start..<end {
            let xp = x + plane * planeIn, yp = y + plane * planeOut
            for oi in 0..<g.oh {
                let i0 = oi * g.sh - g.ph
                let iStart = Swift.max(i0, 0), iEnd = Swift.min(i0 + g.kh, g.h)
                for oj in 0..<g.ow {
                    let j0 = oj * g.sw - g.pw
                    let jStart = Swift.max(j0, 0), jEnd = Swift.min(j0 + g.kw, g.w)
                    var sum: T = 0
                    for i in iStart..<iEnd {
                        let row = xp + i * g.w
                        for j in jStart..<jEnd { sum += row[j] }
                    }
                    yp[oi * g.ow + oj] = sum * scale
                }
            }
        }
    }

    static func avgBackward<T: TensorScalar>(_ gy: UnsafeMutablePointer<T>, _ gx: UnsafeMutablePointer<T>,
                                             _ g: Pool2dGeometry, _ start: Int, _ end: Int) {
        let planeIn = g.h * g.w, planeOut = g.oh * g.ow
        let scale = 1 / T(Double(g.kh * g.kw))
        if g.isPlain2x2 {
            // Windows do not overlap: each input element gets one value (or keeps its zero).
            for plane in start..<end {
                let xp = gx + plane * planeIn, yp = gy + plane * planeOut
                for oi in 0..<g.oh {
                    let r0 = xp + 2 * oi * g.w, r1 = r0 + g.w, yo = yp + oi * g.ow
                    for oj in 0..<g.ow {
                        let j = 2 &* oj, v = yo[oj] * scale
                        r0[j] = v; r0[j &+ 1] = v; r1[j] = v; r1[j &+ 1] = v
                    }
                }
            }
            return
        }
        for plane in start..<end {
            let xp = gx + plane * planeIn, yp = gy + plane * planeOut
            for oi in 0..<g.oh {
                let i0 = oi * g.sh - g.ph
                let iStart = Swift.max(i0, 0), iEnd = Swift.min(i0 + g.kh, g.h)
                for oj in 0..<g.ow {
                    let j0 = oj * g.sw - g.pw
                    let jStart = Swift.max(j0, 0), jEnd = Swift.min(j0 + g.kw, g.w)
                    let v = yp[oi * g.ow + oj] * scale
                    for i in iStart..<iEnd {
                        let row = xp + i * g.w
                        for j in jStart..<jEnd { row[j] += v }
                    }
                }
            }
        }
    }

    static func scatter<T: TensorScalar>(_ gy: UnsafeMutablePointer<T>, _ gx: UnsafeMutablePointer<T>,
                                         _ idx: UnsafeMutablePointer<Int32>, _ g: Pool2dGeometry,
                                         _ start: Int, _ end: Int) {
        let planeIn = g.h * g.w, planeOut = g.oh * g.ow
        for plane in start..<end {
            let xp = gx + plane * planeIn, yp = gy + plane * planeOut, ip = idx + plane * planeOut
            for o in 0..<planeOut { xp[Int(ip[o])] += yp[o] }
        }
    }

    static func gather<T: TensorScalar>(_ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>,
                                        _ idx: UnsafeMutablePointer<Int32>, _ g: Pool2dGeometry,
                                        _ start: Int, _ end: Int) {
        let planeIn = g.h * g.w, planeOut = g.oh * g.ow
        for plane in start..<end {
            let xp = x + plane * planeIn, yp = y + plane * planeOut, ip = idx + plane * planeOut
            for o in 0..<planeOut { yp[o] = xp[Int(ip[o])] }
        }
    }
}
