import Synchronization

/// A fast, seedable pseudo-random generator (xoshiro256**, seeded through SplitMix64).
///
/// The same seed gives the same numbers on every run and every machine. Its whole state
/// can be read and restored (`state`), so that a checkpoint can resume a run exactly.
public struct RandomGenerator: RandomNumberGenerator, Sendable, Equatable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// A generator started from a raw state (four words, not all zero), e.g. to check it
    /// against the reference vectors of xoshiro256**.
    public init(state: [UInt64]) {
        self.init(seed: 0)
        self.state = state
    }

    /// The four 64-bit words of state.
    public var state: [UInt64] {
        get { [s.0, s.1, s.2, s.3] }
        set {
            precondition(newValue.count == 4 && newValue.contains { $0 != 0 },
                         "RandomGenerator.state: expected four words, not all zero")
            s = (newValue[0], newValue[1], newValue[2], newValue[3])
        }
    }

    public static func == (a: RandomGenerator, b: RandomGenerator) -> Bool { a.state == b.state }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    /// A uniform Double in [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Fills `buffer` with normal samples N(mean, std²) (Box–Muller, both outputs used).
    public mutating func fillNormal<T: TensorScalar>(_ buffer: UnsafeMutableBufferPointer<T>,
                                                     mean: Double, std: Double) {
        var i = 0
        while i < buffer.count {
            // u1 in (0, 1] so that log(u1) is finite.
            let u1 = 1.0 - nextUniform()
            let u2 = nextUniform()
            let r = (-2.0 * Double.log(u1)).squareRoot()
            let theta = 2.0 * Double.pi * u2
            buffer[i] = T(mean + std * r * _cos(theta))
            if i + 1 < buffer.count { buffer[i + 1] = T(mean + std * r * _sin(theta)) }
            i += 2
        }
    }

    /// Fills `buffer` with uniform samples in [low, high).
    public mutating func fillUniform<T: TensorScalar>(_ buffer: UnsafeMutableBufferPointer<T>,
                                                      low: Double, high: Double) {
        for i in 0..<buffer.count { buffer[i] = T(low + (high - low) * nextUniform()) }
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) private func _cos(_ x: Double) -> Double { Glibc.cos(x) }
@inline(__always) private func _sin(_ x: Double) -> Double { Glibc.sin(x) }
#endif

/// The generator used by random creation functions that are not given one.
/// `Nabla.seed(_:)` resets it; it is shared by all threads behind a lock.
public enum GlobalRandom {
    private static let generator = Mutex(RandomGenerator(seed: 0x5EED))

    /// Restarts the shared generator from `seed`.
    public static func seed(_ seed: UInt64) {
        generator.withLock { $0 = RandomGenerator(seed: seed) }
    }

    /// Runs `body` with exclusive access to the shared generator.
    public static func withGenerator<R>(_ body: (inout RandomGenerator) -> R) -> R {
        generator.withLock { body(&$0) }
    }

    /// The shared generator's state (to save in a checkpoint).
    public static var state: [UInt64] {
        get { generator.withLock { $0.state } }
        set { generator.withLock { $0.state = newValue } }
    }
}

extension RandomNumberGenerator {
    /// A uniform integer in `0..<bound`, by Lemire's multiply-and-reject method; defined
    /// exactly, unlike `Int.random(in:using:)`, whose algorithm may change.
    public mutating func uniformIndex(below bound: Int) -> Int {
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
