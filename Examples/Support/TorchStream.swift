import Foundation
import Nabla
import NablaNN

/// The random stream of PyTorch's CPU generator (`torch.manual_seed(s)`,
/// `torch.Generator().manual_seed(s)`), so that a benchmark can start from the very weights
/// and visit the examples in the very order of a reference script run with the same seed.
///
/// The generator is MT19937 seeded with the low 32 bits of the seed. On top of it this type
/// reproduces the two draws the reference scripts make (checked against torch 2.15 in
/// `TorchStreamTests`):
/// - `uniform_(from, to)` on float32: each value takes one 32-bit output `r` and is
///   `(r & 0xFFFFFF) · 2⁻²⁴ · (to − from) + from`, with `from` and `to` rounded to float
///   first and the arithmetic in double (torch's accumulation type for float on the CPU),
///   then rounded to float;
/// - `randperm(n)`: Fisher–Yates from the front, position `i` swapped with
///   `i + r mod (n − i)`;
/// - `normal_(mean, std)` on float32: see `normal(count:mean:std:)`.
///
/// Why: a one-epoch accuracy moves by more than a point from seed to seed (lenet_b64: about
/// 1.3 points standard deviation in both tools), so only runs that start from the same
/// weights and see the same batches can be compared seed by seed.
public struct TorchGenerator {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624
    /// The second value of the last Box–Muller pair of the double path of `normal`.
    private var cachedNormal: Double?

    /// The generator `torch.manual_seed(seed)` leaves behind.
    public init(seed: UInt64) {
        state[0] = UInt32(truncatingIfNeeded: seed)
        for i in 1..<624 {
            let previous = state[i - 1]
            state[i] = 1_812_433_253 &* (previous ^ (previous >> 30)) &+ UInt32(i)
        }
    }

    /// The next 32-bit output of MT19937.
    public mutating func next32() -> UInt32 {
        if index == 624 { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func twist() {
        for k in 0..<624 {
            let y = (state[k] & 0x8000_0000) | (state[(k + 1) % 624] & 0x7FFF_FFFF)
            state[k] = state[(k + 397) % 624] ^ (y >> 1) ^ (y & 1 == 0 ? 0 : 0x9908_B0DF)
        }
        index = 0
    }

    /// `count` values as `torch.empty(count).uniform_(from, to)` draws them.
    public mutating func uniform(count: Int, from: Double, to: Double) -> [Float] {
        let low = Double(Float(from)), width = Double(Float(to)) - low
        return (0..<count).map { _ in
            Float(Double(next32() & 0xFF_FFFF) * 0x1p-24 * width + low)
        }
    }

    /// `count` values as `torch.empty(count).normal_(mean, std)` draws them.
    ///
    /// From 16 values up, torch draws `count` uniform floats, turns each block of 16 into
    /// normals by Box–Muller (u₁ from the first eight, u₂ from the last eight, in float), and
    /// if `count` is not a multiple of 16 draws the last 16 uniforms again and redoes that
    /// block. Below 16 it draws each value in double from two 53-bit uniforms (two outputs
    /// each, the first in the high word) and keeps the pair's second value for the next call.
    /// The double path matches torch bit for bit. The float path can differ in the last bit
    /// or two (in about one value in six): torch's `log`, `cos` and `sin` there are its own
    /// vectorized ones, these are glibc's.
    public mutating func normal(count: Int, mean: Double, std: Double) -> [Float] {
        guard count >= 16 else { return (0..<count).map { _ in Float(normalDouble() * std + mean) } }
        var values = uniform(count: count, from: 0, to: 1)
        let mean = Float(mean), std = Float(std)
        func boxMuller(_ start: Int) {
            for j in start..<(start + 8) {
                let radius = (-2 * logf(1 - values[j])).squareRoot()
                let theta = Float(2 * Double.pi) * values[j + 8]
                values[j] = radius * cosf(theta) * std + mean
                values[j + 8] = radius * sinf(theta) * std + mean
            }
        }
        for start in stride(from: 0, to: count - 15, by: 16) { boxMuller(start) }
        if count % 16 != 0 {
            values.replaceSubrange((count - 16)..., with: uniform(count: 16, from: 0, to: 1))
            boxMuller(count - 16)
        }
        return values
    }

    private mutating func normalDouble() -> Double {
        if let cached = cachedNormal {
            cachedNormal = nil
            return cached
        }
        func uniform53() -> Double {
            let bits = UInt64(next32()) << 32 | UInt64(next32())
            return Double(bits & (1 << 53 - 1)) * 0x1p-53
        }
        let u1 = uniform53(), u2 = uniform53()
        let radius = (-2 * log1p(-u2)).squareRoot(), theta = 2 * Double.pi * u1
        cachedNormal = radius * sin(theta)
        return radius * cos(theta)
    }

    /// A permutation of `0..<count` as `torch.randperm(count, generator: g)` draws it.
    public mutating func permutation(count: Int) -> [Int] {
        var order = Array(0..<count)
        if count < 2 { return order }
        for i in 0..<(count - 1) {
            let j = i + Int(next32() % UInt32(count - i))
            order.swapAt(i, j)
        }
        return order
    }
}

extension Module {
    /// Redraws every `Dense` and `Conv2D` parameter from `generator` as PyTorch's default
    /// initialisation draws them from its generator, module by module in order, weight
    /// before bias:
    /// `kaiming_uniform_(a: √5)` for the weight, U(±1/√fan_in) for the bias. Other layers keep
    /// what they have (BatchNorm starts at γ = 1, β = 0 in both).
    ///
    /// The same weights as the reference script's `nn.Conv2d` / `nn.Linear` layers built in
    /// the same order, bit for bit.
    public func initializeAsPyTorch(using generator: inout TorchGenerator) {
        for (_, module) in namedModules() {
            let parameters: [Parameter]
            if let dense = module as? Dense {
                parameters = [dense.weight] + (dense.bias.map { [$0] } ?? [])
            } else if let conv = module as? Conv2D {
                parameters = [conv.weight] + (conv.bias.map { [$0] } ?? [])
            } else {
                continue
            }
            let weight = parameters[0].value
            let fanIn = Initializer.Fans(weightShape: weight.shape).fanIn
            // kaiming_uniform_ with a = √5: gain √(2 / (1 + 5)), bound √3 · gain / √fan_in,
            // evaluated in double as torch.nn.init does before uniform_ casts it to float.
            let gain = (2.0 / (1 + 5.0)).squareRoot()
            let weightBound = 3.0.squareRoot() * (gain / Double(fanIn).squareRoot())
            let biasBound = 1 / Double(fanIn).squareRoot()
            for (k, parameter) in parameters.enumerated() {
                let bound = k == 0 ? weightBound : biasBound
                parameter.replace(with: generator.uniform(count: parameter.value.count, from: -bound, to: bound))
            }
        }
    }

    /// `initializeAsPyTorch(using:)` with a generator seeded as `torch.manual_seed(seed)`.
    public func initializeAsPyTorch(seed: UInt64) {
        var generator = TorchGenerator(seed: seed)
        initializeAsPyTorch(using: &generator)
    }
}

extension Parameter {
    /// Replaces the values, in order, by `values` (converted to the parameter's dtype).
    public func replace(with values: [Float]) {
        update(Tensor(shape: shape, scalars: values).cast(to: value.dtype))
    }
}
