@testable import ExampleSupport
import Nabla
import NablaNN
import Testing

/// The expected values were printed by torch 2.15.0 (CPU) on 2026-12-03; see the comment of
/// each test for the Python that printed them.
@Suite("PyTorch's random stream")
struct TorchStreamTests {
    /// `torch.manual_seed(0); torch.empty(8).uniform_(-1, 1)`, and the reference outputs of
    /// MT19937 seeded with 0 (the first is 2357136044 in every implementation).
    @Test func uniformFollowsTorch() {
        var raw = TorchGenerator(seed: 0)
        #expect([raw.next32(), raw.next32(), raw.next32()] == [2_357_136_044, 2_546_248_239, 3_071_714_933])
        var g = TorchGenerator(seed: 0)
        let expected: [Float] = [-0x1.eaa8p-8, 0x1.12a8bcp-1, -0x1.a5662cp-1, -0x1.78cdp-1,
                                 -0x1.8a65e8p-2, 0x1.1297d8p-2, -0x1.449e8p-6, 0x1.95f59cp-1]
        #expect(g.uniform(count: 8, from: -1, to: 1) == expected)
    }

    /// `torch.manual_seed(5)`, then `torch.empty(n).normal_(mean, std)` for n = 10, 3, 1
    /// (the double path, whose pairs carry over from call to call), 40 (the float path,
    /// with a last block drawn again) and `uniform_` after them. The double path must match
    /// bit for bit; the float path to the last bit or two (its log, cos and sin are glibc's).
    @Test func normalFollowsTorch() {
        var g = TorchGenerator(seed: 5)
        let a: [Float] = [-0x1.f276a8p-2, -0x1.35281ap-1, -0x1.1dbecap-1, 0x1.55c5bep-1, -0x1.944e5ep-3,
                          0x1.f15a42p+0, -0x1.66d5f2p+0, -0x1.866de4p-1, 0x1.432e68p-1, -0x1.cc5b72p-1]
        #expect(g.normal(count: 10, mean: 0, std: 1) == a)
        #expect(g.normal(count: 3, mean: 0, std: 1) == [-0x1.1d971ap-1, 0x1.61a5e4p-1, 0x1.c7985ep-3])
        #expect(g.normal(count: 1, mean: 0, std: 1) == [-0x1.551b7ap-1])
        let d = g.normal(count: 40, mean: 0.5, std: 2)
        let ends: [Float] = [0x1.04c4e4p+1, 0x1.2c607cp+1, -0x1.3bb904p-1, 0x1.07958ep+1,
                             0x1.2b1e10p+1, 0x1.7087a0p+0, 0x1.331244p+1, -0x1.0cea96p+2]
        for (mine, torch) in zip(d.prefix(4) + d.suffix(4), ends) {
            #expect(abs(mine - torch) <= 2 * torch.ulp, "\(mine) against \(torch)")
        }
        #expect(abs(d.reduce(0) { $0 + Double($1) } - 15.883043944835663) < 1e-5)
        #expect(g.uniform(count: 3, from: -1, to: 1) == [0x1.5feb64p-1, -0x1.70b2acp-1, -0x1.1ab9e4p-1])
    }

    /// `g = torch.Generator().manual_seed(s); torch.randperm(n, generator=g)` (twice in a row
    /// for the second epoch's order).
    @Test func permutationFollowsTorch() {
        var small = TorchGenerator(seed: 0)
        #expect(small.permutation(count: 12) == [8, 0, 5, 9, 7, 4, 2, 10, 3, 1, 11, 6])
        var g = TorchGenerator(seed: 3)
        let first = g.permutation(count: 60000), second = g.permutation(count: 60000)
        #expect(Array(first.prefix(5)) == [38986, 46111, 53123, 54054, 9664])
        #expect(Array(first.suffix(3)) == [59646, 49374, 32804])
        #expect(Array(second.prefix(5)) == [36592, 52066, 10768, 49421, 51926])
        #expect(first.sorted() == Array(0..<60000))
        var one = TorchGenerator(seed: 0)
        #expect(one.permutation(count: 1) == [0] && one.permutation(count: 0) == [])
    }

    /// `torch.manual_seed(3)`, then `nn.Conv2d(1, 20, 5)`, `nn.Conv2d(20, 40, 5)`,
    /// `nn.Linear(640, 100)`, `nn.Linear(100, 10)`: each parameter's first and last value
    /// (bit for bit) and its sum in double.
    @Test func benchmarkNetworkStartsFromTorchsWeights() {
        var unused = RandomGenerator(seed: 99)
        let model = benchmarkConvNetwork(batchNorm: true, using: &unused)
        model.initializeAsPyTorch(seed: 3)
        let expected: [(first: Float, last: Float, sum: Double)] = [
            (-0x1.961b7ap-3, 0x1.59358ep-4, -3.1076165504491655),
            (0x1.b3764ep-5, 0x1.26783ap-3, -0.43637450598180294),
            (-0x1.45f716p-5, -0x1.a94b9cp-6, -1.1203935537251226),
            (-0x1.2d36b8p-8, 0x1.6ae294p-5, -0.05810631868735072),
            (0x1.1f86a4p-5, -0x1.a1354cp-10, -11.466110197239345),
            (-0x1.19bb68p-5, -0x1.3ab7c2p-7, -0.21563283045543358),
            (0x1.fce2cep-6, 0x1.90c59ap-4, 0.8624845188023755),
            (0x1.e1599ap-8, 0x1.245e4ep-5, -0.011416043620556593),
        ]
        var drawn: [(name: String, parameter: Parameter)] = []
        for (name, module) in model.namedModules() {
            if let dense = module as? Dense { drawn += [(name, dense.weight), (name, dense.bias!)] }
            if let conv = module as? Conv2D { drawn += [(name, conv.weight), (name, conv.bias!)] }
            // BatchNorm's γ and β are not drawn: they stay 1 and 0.
            if let norm = module as? BatchNorm {
                #expect(norm.weight!.value.scalars.allSatisfy { $0 == 1 } && norm.bias!.value.scalars.allSatisfy { $0 == 0 })
            }
        }
        #expect(drawn.count == expected.count, "\(model.namedParameters().map(\.name))")
        for ((name, parameter), want) in zip(drawn, expected) {
            let values = parameter.value.scalars
            #expect(values.first == want.first && values.last == want.last, "\(name)")
            #expect(abs(values.reduce(0) { $0 + Double($1) } - want.sum) < 1e-9, "\(name)")
        }
    }
}
