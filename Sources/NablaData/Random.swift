// Seeded randomness for shuffling and augmentation. Everything here is defined bit for bit
// (no use of the standard library's unspecified algorithms), so a seed gives the same
// shuffles on every run, platform and Swift version.

/// SplitMix64 (Steele, Lea & Flood): a tiny, fast generator; here it mostly turns one
/// 64-bit seed into the state of `Xoshiro256StarStar`.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The current state; every call to `next()` advances it by a fixed odd constant.
    public var state: UInt64

    /// Creates a generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** (Blackman & Vigna): the generator NablaData uses for shuffling and
/// augmentation. Seeded from a single `UInt64` through SplitMix64, as its authors recommend.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    /// Creates a generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        var sm = SplitMix64(seed: seed)
        s = (sm.next(), sm.next(), sm.next(), sm.next())
    }

    /// Creates a generator from its raw state (for checking against reference vectors).
    init(state: (UInt64, UInt64, UInt64, UInt64)) { s = state }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotateLeft(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotateLeft(s.3, 45)
        return result
    }

    private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

extension RandomNumberGenerator {
    /// A uniform integer in `0..<bound`, by Lemire's multiply-and-reject method; defined
    /// exactly, unlike `Int.random(in:using:)`, whose algorithm may change.
    mutating func uniformIndex(below bound: Int) -> Int {
        precondition(bound > 0, "uniformIndex(below:) needs a positive bound, got \(bound)")
        let n = UInt64(bound)
        var m = next().multipliedFullWidth(by: n)
        if m.low < n {
            let threshold = (0 &- n) % n
            while m.low < threshold { m = next().multipliedFullWidth(by: n) }
        }
        return Int(m.high)
    }
}

/// A uniformly random permutation of `0..<count` by the Fisher–Yates shuffle, fully
/// determined by the generator's state.
public func randomPermutation<G: RandomNumberGenerator>(count: Int, using generator: inout G) -> [Int] {
    var order = Array(0..<count)
    if count < 2 { return order }
    order.withUnsafeMutableBufferPointer { p in
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = generator.uniformIndex(below: i + 1)
            p.swapAt(i, j)
        }
    }
    return order
}
