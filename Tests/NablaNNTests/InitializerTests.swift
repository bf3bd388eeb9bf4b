import Testing
import Nabla
import NablaNN

/// Mean and standard deviation of a large sample.
private func moments(_ t: Tensor) -> (mean: Double, std: Double) {
    let v = values(t)
    let mean = v.reduce(0, +) / Double(v.count)
    let variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count)
    return (mean, variance.squareRoot())
}

@Suite("Initializers")
struct InitializerTests {
    /// 100 000 samples of a weight [200, 500]: fan in 500, fan out 200.
    func sample(_ initializer: Initializer) -> Tensor {
        var g = RandomGenerator(seed: 123)
        return initializer.make([200, 500], fans: .init(weightShape: [200, 500]), using: &g)
    }

    @Test func fansFollowPyTorchLayout() {
        #expect(Initializer.Fans(weightShape: [30, 784]) == .init(fanIn: 784, fanOut: 30))
        #expect(Initializer.Fans(weightShape: [16, 3, 5, 5]) == .init(fanIn: 75, fanOut: 400))
    }

    @Test func normalSchemesHaveTheirStandardDeviations() {
        let cases: [(Initializer, Double)] = [
            (.standardNormal, 1), (.scaledNormal, 1 / 500.0.squareRoot()),
            (.glorotNormal, (2 / 700.0).squareRoot()), (.heNormal, (2 / 500.0).squareRoot()),
            (.normal(mean: 0, std: 0.3), 0.3),
        ]
        for (initializer, std) in cases {
            let m = moments(sample(initializer))
            #expect(abs(m.mean) < 0.01 * std * 2, "mean \(m.mean) for std \(std)")
            #expect(abs(m.std - std) < 0.01 * std, "std \(m.std), expected \(std)")
        }
    }

    @Test func uniformSchemesStayWithinTheirBounds() {
        let cases: [(Initializer, Double)] = [
            (.glorotUniform, (6 / 700.0).squareRoot()), (.heUniform, (6 / 500.0).squareRoot()),
            (.pytorchDefault, 1 / 500.0.squareRoot()),
        ]
        for (initializer, bound) in cases {
            let t = sample(initializer), v = values(t)
            #expect(v.allSatisfy { abs($0) <= bound })
            #expect(v.max()! > 0.99 * bound && v.min()! < -0.99 * bound)
            let m = moments(t)
            #expect(abs(m.mean) < 0.02 * bound)
            #expect(abs(m.std - bound / 3.0.squareRoot()) < 0.01 * bound)   // U(±b) has std b/√3
        }
    }

    @Test func constantsDrawNothing() {
        #expect(values(sample(.zeros)).allSatisfy { $0 == 0 })
        #expect(values(sample(.ones)).allSatisfy { $0 == 1 })
        #expect(values(sample(.constant(0.25))).allSatisfy { $0 == 0.25 })
        #expect(Initializer.zeros.make([2, 3], dtype: .float64).dtype == .float64)
    }

    @Test func layersUsePyTorchDefaultsAndAreReproducible() {
        let a = Dense(50, 10, seed: 7), b = Dense(50, 10, seed: 7), c = Dense(50, 10, seed: 8)
        #expect(values(a.weight.value) == values(b.weight.value))
        #expect(values(a.bias!.value) == values(b.bias!.value))
        #expect(values(a.weight.value) != values(c.weight.value))
        let bound = 1 / 50.0.squareRoot()
        #expect(values(a.weight.value).allSatisfy { abs($0) <= bound })
        #expect(values(a.bias!.value).allSatisfy { abs($0) <= bound })    // bias bound uses the weight's fan in
        // Drawing from a generator continues its stream: two layers from one generator differ.
        var g = RandomGenerator(seed: 1)
        let d = Dense(50, 10, using: &g), e = Dense(50, 10, using: &g)
        #expect(values(d.weight.value) != values(e.weight.value))
        // Seed-less layers draw from GlobalRandom: different each time.
        #expect(values(Dense(4, 4).weight.value) != values(Dense(4, 4).weight.value))
        let conv = Conv2D(3, 8, kernelSize: 3, weightInitializer: .heNormal, biasInitializer: .zeros, seed: 1)
        #expect(values(conv.bias!.value).allSatisfy { $0 == 0 })
    }

    @Test func customInitializer() {
        let fill = Initializer { shape, fans, dtype, _ in Tensor.full(shape, value: Double(fans.fanIn), dtype: dtype) }
        #expect(values(Dense(3, 2, weightInitializer: fill, seed: 1).weight.value) == [3, 3, 3, 3, 3, 3])
    }
}
