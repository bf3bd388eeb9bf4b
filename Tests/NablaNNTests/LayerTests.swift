import Foundation
import Testing
import Nabla
import NablaNN

@Suite("Dense")
struct DenseTests {
    @Test func forwardMatchesHandComputedValues() {
        let layer = Dense(3, 2, seed: 1)
        layer.weight.update(t32([[1, 0, -1], [2, 1, 0]]))
        layer.bias!.update(t32([0.5, -1]))
        // [1, 2, 3]·Wᵀ + b = [1 − 3 + 0.5, 2 + 2 − 1]
        expectClose(layer(t32([[1, 2, 3], [0, 0, 0]])), [-1.5, 3, 0.5, -1], shape: [2, 2])
        // A single vector and extra leading dimensions work too.
        expectClose(layer(t32([1, 2, 3])), [-1.5, 3], shape: [2])
        expectClose(layer(Tensor(shape: [1, 2, 3], scalars: [Float]([1, 2, 3, 0, 0, 0]))), [-1.5, 3, 0.5, -1], shape: [1, 2, 2])
    }

    @Test func weightIsStoredOutByIn() {
        let layer = Dense(784, 30, seed: 1)
        #expect(layer.weight.shape == [30, 784])
        #expect(layer.bias?.shape == [30])
        #expect(Dense(4, 2, bias: false, seed: 1).bias == nil)
        #expect(Dense(4, 2, bias: false, seed: 1).parameterCount == 8)
    }

    @Test func gradientsAreCorrect() {
        expectModuleGradientsCorrect(Dense(3, 2, seed: 3), input: randn([2, 3], seed: 1))
        expectModuleGradientsCorrect(Dense(3, 2, bias: false, seed: 4), input: randn([2, 3], seed: 2))
    }

    @Test func float64LayerFromTheStart() {
        let layer = Dense(3, 2, dtype: .float64, seed: 1)
        #expect(layer(randn([1, 3], seed: 1)).dtype == .float64)
    }

    @Test func wrongInputShapeNamesTheLayerAndTheExpectedShape() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Dense(784, 30, seed: 1)(Tensor.zeros([10, 100]))
        }.map { result in
            let message = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(message.contains("Dense(784 → 30): input [10, 100] has 100 features, expected 784"))
        }
    }
}

@Suite("Conv2D")
struct Conv2DTests {
    @Test func forwardMatchesHandComputedValues() {
        let conv = Conv2D(1, 1, kernelSize: 2, seed: 1)
        conv.weight.update(Tensor(shape: [1, 1, 2, 2], scalars: [Float]([1, 0, 0, -1])))
        conv.bias!.update(t32([0.5]))
        let x = Tensor.arange(1, 10).reshaped([1, 1, 3, 3])
        // x[i, j] − x[i+1, j+1] + 0.5 = −4 + 0.5 everywhere
        expectClose(conv(x), [-3.5, -3.5, -3.5, -3.5], shape: [1, 1, 2, 2])
    }

    @Test func strideAndPaddingFollowPyTorch() {
        let conv = Conv2D(1, 1, kernelSize: 2, stride: 2, padding: 1, bias: false, weightInitializer: .ones, seed: 1)
        let x = Tensor.arange(1, 10).reshaped([1, 1, 3, 3])
        // Windows over the zero-padded 5×5 image: {1}, {2, 3}, {4, 7}, {5, 6, 8, 9}.
        expectClose(conv(x), [1, 5, 11, 28], shape: [1, 1, 2, 2])
    }

    @Test func channelsAreSummedPerFilter() {
        let conv = Conv2D(2, 2, kernelSize: (1, 1), bias: false, weightInitializer: .ones, seed: 1)
        conv.weight.update(Tensor(shape: [2, 2, 1, 1], scalars: [Float]([1, 1, 1, -1])))
        let x = Tensor(shape: [1, 2, 1, 2], scalars: [Float]([1, 2, 10, 20]))
        expectClose(conv(x), [11, 22, -9, -18], shape: [1, 2, 1, 2])
        #expect(conv.weight.shape == [2, 2, 1, 1])
    }

    @Test func outputShapeWithDilation() {
        let conv = Conv2D(1, 3, kernelSize: 3, dilation: 2, seed: 1)
        #expect(conv(Tensor.zeros([2, 1, 7, 7])).shape == [2, 3, 3, 3])
    }

    @Test func gradientsAreCorrect() {
        expectModuleGradientsCorrect(Conv2D(2, 2, kernelSize: 2, seed: 5), input: randn([1, 2, 3, 3], seed: 1))
        expectModuleGradientsCorrect(Conv2D(1, 2, kernelSize: (2, 3), stride: (2, 1), padding: (1, 1), dilation: (1, 2), seed: 6),
                                     input: randn([2, 1, 4, 4], seed: 2))
    }
}

@Suite("Pooling")
struct PoolingTests {
    let x = Tensor.arange(0, 16).reshaped([1, 1, 4, 4])

    @Test func maxPoolForward() {
        expectClose(MaxPool2D(kernelSize: 2)(x), [5, 7, 13, 15], shape: [1, 1, 2, 2])
        // Overlapping windows with stride 1.
        expectClose(MaxPool2D(kernelSize: 3, stride: 1)(x), [10, 11, 14, 15], shape: [1, 1, 2, 2])
        // Padding never wins the maximum, even over negative values.
        let y = Tensor.arange(1, 10).reshaped([1, 1, 3, 3]) * -1
        expectClose(MaxPool2D(kernelSize: 2, stride: 2, padding: 1)(y), [-1, -2, -4, -5], shape: [1, 1, 2, 2])
    }

    @Test func avgPoolForward() {
        expectClose(AvgPool2D(kernelSize: 2)(x), [2.5, 4.5, 10.5, 12.5], shape: [1, 1, 2, 2])
        // Padding counts as zeros in the average (PyTorch's count_include_pad).
        let y = Tensor.arange(1, 10).reshaped([1, 1, 3, 3])
        expectClose(AvgPool2D(kernelSize: 2, stride: 2, padding: 1)(y), [0.25, 1.25, 2.75, 7], shape: [1, 1, 2, 2])
        expectClose(AvgPool2D(kernelSize: (1, 2))(x).reshaped([-1]), [0.5, 2.5, 4.5, 6.5, 8.5, 10.5, 12.5, 14.5])
    }

    @Test func gradientsAreCorrect() {
        expectModuleGradientsCorrect(MaxPool2D(kernelSize: 2), input: randn([1, 2, 4, 4], seed: 7))
        expectModuleGradientsCorrect(MaxPool2D(kernelSize: 3, stride: 2, padding: 1), input: randn([1, 1, 5, 5], seed: 8))
        expectModuleGradientsCorrect(AvgPool2D(kernelSize: 2, stride: 1), input: randn([1, 2, 3, 3], seed: 9))
        expectModuleGradientsCorrect(AvgPool2D(kernelSize: 2, padding: 1), input: randn([1, 1, 3, 3], seed: 10))
    }
}

@Suite("BatchNorm")
struct BatchNormTests {
    let eps = 1e-5
    /// Two channels: [1, 2, 3, 4] (mean 2.5, biased variance 1.25) and [2, 4, 6, 8] (mean 5, variance 5).
    let x = t32([[1, 2], [2, 4], [3, 6], [4, 8]])

    @Test func trainingUsesBatchStatisticsAndUpdatesRunningOnesAsPyTorch() {
        let bn = BatchNorm(2)
        bn.weight!.update(t32([2, 1]))
        bn.bias!.update(t32([0, 1]))
        let y = bn(x)
        let s0 = (1.25 + eps).squareRoot(), s1 = (5 + eps).squareRoot()
        var expected: [Double] = []
        for (a, b) in [(1.0, 2.0), (2, 4), (3, 6), (4, 8)] { expected += [2 * (a - 2.5) / s0, (b - 5) / s1 + 1] }
        expectClose(y, expected, shape: [4, 2], rtol: 1e-5, atol: 1e-5)
        // running = 0.9·running + 0.1·batch, with the unbiased variance (n − 1 = 3).
        expectClose(bn.runningMean.value, [0.25, 0.5])
        expectClose(bn.runningVariance.value, [0.9 + 0.1 * 5 / 3, 0.9 + 0.1 * 20 / 3])
        _ = bn(x)
        expectClose(bn.runningMean.value, [0.9 * 0.25 + 0.25, 0.9 * 0.5 + 0.5])
    }

    @Test func inferenceUsesRunningStatistics() {
        let bn = BatchNorm(2)
        bn.runningMean.value = t32([1, -1])
        bn.runningVariance.value = t32([4, 0.25])
        bn.weight!.update(t32([2, 1]))
        bn.bias!.update(t32([0, 1]))
        bn.eval()
        let y = bn(t32([[3, 0], [1, -1]]))
        let s0 = (4 + eps).squareRoot(), s1 = (0.25 + eps).squareRoot()
        expectClose(y, [2 * 2 / s0, 1 / s1 + 1, 0, 1], shape: [2, 2], atol: 1e-5)
        // Inference leaves the running statistics alone.
        expectClose(bn.runningMean.value, [1, -1])
    }

    @Test func imagesNormalizePerChannelOverBatchAndSpace() {
        let bn = BatchNorm(1)
        let images = Tensor(shape: [2, 1, 1, 2], scalars: [Float]([1, 2, 3, 4]))
        let s = (1.25 + eps).squareRoot()
        expectClose(bn(images), [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s], shape: [2, 1, 1, 2], atol: 1e-5)
        expectClose(bn.runningVariance.value, [0.9 + 0.1 * 5 / 3])
    }

    @Test func gradientsAreCorrectInBothModes() {
        let bn = BatchNorm(2, seed: 1)
        bn.weight!.update(t32([1.5, -0.5]))
        bn.bias!.update(t32([0.2, 0.3]))
        expectModuleGradientsCorrect(bn, input: randn([3, 2], seed: 11))
        expectModuleGradientsCorrect(BatchNorm(2, seed: 1), input: randn([2, 2, 2, 2], seed: 12))
        bn.eval()
        expectModuleGradientsCorrect(bn, input: randn([3, 2], seed: 13))
    }

    /// In a Sequential, a BatchNorm followed by a ReLU runs fused: the same outputs as the
    /// two layers run one by one, gradients within float rounding, the same running
    /// statistics, in training and in inference; the model's parameters keep their names.
    @Test func followedByReLUInSequentialMatchesTheLayersRunOneByOne() {
        func model() -> Sequential {
            Sequential([Conv2D(2, 3, kernelSize: 3, seed: 5), BatchNorm(3, seed: 6), ReLU(),
                        Flatten(), Dense(3 * 4 * 4, 2, seed: 7)])
        }
        let fused = model(), plain = model()
        let x = Tensor.randomNormal([4, 2, 6, 6], seed: 8)
        #expect(fused.namedParameters().map(\.name) == ["layers.0.weight", "layers.0.bias", "layers.1.weight",
                                                         "layers.1.bias", "layers.4.weight", "layers.4.bias"])
        for training in [true, false] {
            fused.train(training); plain.train(training)
            let yf = fused(x)
            let yp = plain.layers.reduce(x) { h, layer in layer(h) }   // no fusion
            #expect(yf.scalars == yp.scalars, "training \(training)")
            if training {
                yf.sum().backward(); yp.sum().backward()
                for (a, b) in zip(fused.parameters(), plain.parameters()) {
                    let ga = a.grad!.scalars, gb = b.grad!.scalars
                    let worst = zip(ga, gb).map { abs($0 - $1) }.max()!, scale = gb.map { abs($0) }.max()! + 1
                    #expect(worst <= 1e-5 * scale, "gradient differs by \(worst)")
                }
            }
        }
        let bf = fused.layers[1] as! BatchNorm, bp = plain.layers[1] as! BatchNorm
        #expect(bf.runningMean.value.scalars == bp.runningMean.value.scalars)
        #expect(bf.runningVariance.value.scalars == bp.runningVariance.value.scalars)
    }
}

extension PoolingTests {
    /// In a Sequential, a ReLU followed by a MaxPool2D runs fused (`MaxPool2D.ofReLU`): the
    /// same outputs and the same gradients, bit for bit, as the layers run one by one.
    @Test func afterReLUInSequentialMatchesTheLayersRunOneByOne() {
        func model() -> Sequential {
            Sequential([Conv2D(2, 3, kernelSize: 3, seed: 5), ReLU(), MaxPool2D(kernelSize: 2),
                        Flatten(), Dense(3 * 3 * 3, 2, seed: 7)])
        }
        let fused = model(), plain = model()
        let x = Tensor.randomNormal([4, 2, 8, 8], dtype: .float32, seed: 8)
        let yf = fused(x)
        let yp = plain.layers.reduce(x) { h, layer in layer(h) }   // no fusion
        #expect(yf.scalars == yp.scalars)
        yf.sum().backward(); yp.sum().backward()
        for (a, b) in zip(fused.parameters(), plain.parameters()) {
            #expect(a.grad!.scalars == b.grad!.scalars)
        }
    }
}

@Suite("Dense with an activation")
struct DenseActivationTests {
    /// In a Sequential, a Dense followed by a Sigmoid, ReLU or Tanh runs as one op: the same
    /// outputs and the same gradients, bit for bit, as the layers run one by one; a Dense
    /// followed by another layer, or last, runs alone.
    @Test func denseThenActivationInSequentialMatchesTheLayersRunOneByOne() {
        func model() -> Sequential {
            Sequential([Dense(6, 5, seed: 1), Sigmoid(), Dense(5, 4, seed: 2), ReLU(), Dense(4, 4, seed: 3), Tanh(),
                        Dense(4, 3, seed: 4), LeakyReLU(), Dense(3, 2, seed: 5)])
        }
        let fused = model(), plain = model()
        let x = Tensor.randomNormal([7, 6], dtype: .float32, seed: 8)
        let yf = fused(x)
        let yp = plain.layers.reduce(x) { h, layer in layer(h) }   // no fusion
        #expect(yf.scalars == yp.scalars)
        yf.square().sum().backward(); yp.square().sum().backward()
        for (a, b) in zip(fused.parameters(), plain.parameters()) {
            #expect(a.grad!.scalars == b.grad!.scalars)
        }
        let dense = Dense(6, 5, seed: 1)
        #expect(dense(x, activation: .sigmoid).gradientOp == "linear+sigmoid")
        #expect(Sequential([Dense(6, 5, seed: 1), Sigmoid()])(x).gradientOp == "linear+sigmoid")
    }
}

@Suite("LayerNorm")
struct LayerNormTests {
    @Test func normalizesEachSampleOverTrailingDimensions() {
        let ln = LayerNorm(3)
        let s = (2.0 / 3 + 1e-5).squareRoot()
        expectClose(ln(t32([[1, 2, 3], [2, 2, 2]])), [-1 / s, 0, 1 / s, 0, 0, 0], shape: [2, 3], atol: 1e-5)
        let ln2 = LayerNorm(normalizedShape: [2, 2])
        ln2.weight!.update(t32([[1, 2], [1, 1]]))
        ln2.bias!.update(t32([[0, 0], [0, 5]]))
        let t = (1.25 + 1e-5).squareRoot()
        expectClose(ln2(Tensor(shape: [1, 2, 2], scalars: [Float]([1, 2, 3, 4]))),
                    [-1.5 / t, -1 / t, 0.5 / t, 1.5 / t + 5], atol: 1e-5)
    }

    @Test func gradientsAreCorrect() {
        let ln = LayerNorm(normalizedShape: [3], seed: 1)
        ln.weight!.update(t32([1, 2, -1]))
        ln.bias!.update(t32([0.1, 0, 0.3]))
        expectModuleGradientsCorrect(ln, input: randn([2, 3], seed: 14))
    }
}

@Suite("Dropout")
struct DropoutTests {
    @Test func trainingDropsAboutPAndScalesTheRest() {
        let drop = Dropout(probability: 0.3, seed: 42)
        let y = values(drop(Tensor.ones([4000])))
        let zeros = y.filter { $0 == 0 }.count
        #expect(abs(Double(zeros) / 4000 - 0.3) < 0.03)
        #expect(y.allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-6 })
    }

    @Test func masksAreDeterministicPerSeedAndReplayable() {
        let a = Dropout(probability: 0.5, seed: 9), b = Dropout(probability: 0.5, seed: 9)
        let x = Tensor.ones([64])
        let state = a.generatorState
        let first = values(a(x))
        #expect(first == values(b(x)))
        #expect(values(a(x)) != first)          // the next mask differs
        a.generatorState = state
        #expect(values(a(x)) == first)          // restored state replays the mask
        #expect(values(Dropout(probability: 0.5, seed: 10)(x)) != first)
    }

    @Test func inferenceIsIdentity() {
        let drop = Dropout(probability: 0.5, seed: 1)
        drop.eval()
        let x = randn([3, 4], seed: 1)
        #expect(values(drop(x)) == values(x))
        #expect(values(Dropout(probability: 0, seed: 1)(x)) == values(x))
        #expect(values(Dropout(probability: 1, seed: 1)(x)).allSatisfy { $0 == 0 })
    }

    @Test func gradientsAreCorrectWithAFixedMask() {
        let drop = Dropout(probability: 0.4, seed: 3)
        let state = drop.generatorState
        expectModuleGradientsCorrect(drop, input: randn([2, 5], seed: 15), prepare: { drop.generatorState = state })
    }
}

@Suite("Embedding, Flatten, Sequential")
struct StructuralLayerTests {
    @Test func embeddingLooksUpRows() {
        let embed = Embedding(4, 2, seed: 1)
        embed.weight.update(t32([[0, 1], [10, 11], [20, 21], [30, 31]]))
        expectClose(embed([2, 0, 2]), [20, 21, 0, 1, 20, 21], shape: [3, 2])
        expectClose(embed(t32([[1, 3], [0, 1]])), [10, 11, 30, 31, 0, 1, 10, 11], shape: [2, 2, 2])
    }

    @Test func embeddingGradientsReachUsedRows() {
        let embed = Embedding(4, 3, seed: 2)
        expectModuleGradientsCorrect(embed, input: t32([[1, 3], [1, 0]]), differentiateInput: false)
        embed.cast(to: .float32)
        embed(t32([1, 1])).sum().backward()
        expectClose(embed.weight.grad!, [0, 0, 0, 2, 2, 2, 0, 0, 0, 0, 0, 0], shape: [4, 3])
    }

    @Test func flattenKeepsTheBatchDimension() {
        let x = Tensor.arange(0, 24).reshaped([2, 3, 2, 2])
        let y = Flatten()(x)
        #expect(y.shape == [2, 12])
        #expect(values(y) == values(x))
        #expect(Flatten(startAxis: 2)(x).shape == [2, 3, 4])
        expectModuleGradientsCorrect(Flatten(), input: randn([2, 2, 2], seed: 3))
    }

    @Test func sequentialChainsLayers() {
        let a = Dense(2, 3, seed: 1), b = Dense(3, 1, seed: 2)
        let model = Sequential([a, ReLU(), b])
        let x = t32([[1, -2], [0.5, 3]])
        expectClose(model(x), b(a(x).relu()))
        #expect(model.count == 3)
        #expect(model.namedParameters().map(\.name) == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"])
        expectModuleGradientsCorrect(model, input: randn([2, 2], seed: 4))
    }

    @Test func sequentialResultBuilderSupportsConditionsAndLoops() {
        let useDropout = false
        let model = Sequential {
            Dense(2, 3, seed: 1)
            ReLU()
            for i in 0..<2 { Dense(3, 3, seed: UInt64(10 + i)) }
            if useDropout { Dropout(probability: 0.5, seed: 1) } else { Tanh() }
            Dense(3, 1, seed: 2)
        }
        #expect(model.count == 6)
        #expect(model[4] is Tanh)
        #expect(model(t32([[1, 2]])).shape == [1, 1])
    }
}

@Suite("Activation layers")
struct ActivationTests {
    let x = Tensor([-2, -0.5, 0.5, 2] as [Double])

    @Test func forwardMatchesFormulas() {
        let xs = [-2, -0.5, 0.5, 2.0]
        expectClose(ReLU()(x), [0, 0, 0.5, 2])
        expectClose(Sigmoid()(x), xs.map { 1 / (1 + exp(-$0)) })
        expectClose(Tanh()(x), xs.map { Foundation.tanh($0) })
        expectClose(LeakyReLU(negativeSlope: 0.1)(x), [-0.2, -0.05, 0.5, 2])
        expectClose(ELU(alpha: 2)(x), [2 * (exp(-2) - 1), 2 * (exp(-0.5) - 1), 0.5, 2])
        expectClose(GELU()(x), xs.map { $0 * 0.5 * (1 + erf($0 / 2.0.squareRoot())) })
        expectClose(Softplus()(x), xs.map { log(1 + exp($0)) })
        let total = xs.map { exp($0) }.reduce(0, +)
        expectClose(Softmax()(x), xs.map { exp($0) / total })
        expectClose(LogSoftmax()(x), xs.map { $0 - log(total) })
        expectClose(Softmax(axis: 0)(x.reshaped([2, 2])), [exp(-2) / (exp(-2) + exp(0.5)), exp(-0.5) / (exp(-0.5) + exp(2)),
                                                          exp(0.5) / (exp(-2) + exp(0.5)), exp(2) / (exp(-0.5) + exp(2))])
        expectClose(Identity()(x), xs)
    }

    @Test func gradientsAreCorrect() {
        let layers: [any Module] = [ReLU(), Sigmoid(), Tanh(), LeakyReLU(), ELU(), GELU(), Softplus(),
                                    Softmax(axis: 1), LogSoftmax(axis: 0)]
        let input = Tensor([[-1.3, 0.4, 2.1], [0.7, -0.2, -2.5]] as [[Double]])
        for layer in layers { expectModuleGradientsCorrect(layer, input: input) }
    }
}

/// Expects the standard error of a child process that stopped (an exit test) to contain `message`.
private func expectMessage(_ result: ExitTest.Result?, _ message: String,
                           sourceLocation: SourceLocation = #_sourceLocation) {
    let stderr = result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? "(did not stop)"
    #expect(stderr.contains(message), "stderr: \(stderr)", sourceLocation: sourceLocation)
}

@Suite("Layer messages")
struct LayerMessageTests {
    @Test func layersDescribeThemselves() {
        let model = Sequential([Conv2D(1, 4, kernelSize: 3, seed: 1), ReLU(), MaxPool2D(kernelSize: 2), Flatten(),
                                Dense(16, 10, seed: 2), Dropout(probability: 0.5, seed: 3)])
        #expect(model.description == """
            Sequential(
              (0) Conv2D(1 → 4, kernel 3×3)
              (1) ReLU()
              (2) MaxPool2D(2×2)
              (3) Flatten(startAxis: 1, endAxis: -1)
              (4) Dense(16 → 10)
              (5) Dropout(probability: 0.5)
            )
            """)
        #expect(BatchNorm(8).description == "BatchNorm(8)")
        #expect(LayerNorm(normalizedShape: [2, 3]).description == "LayerNorm([2, 3])")
        #expect(Embedding(100, 8, seed: 1).description == "Embedding(100, 8)")
        #expect(Linear(2, 3, seed: 1).description == "Dense(2 → 3)")
    }

    @Test func wrongInputsNameTheLayerAndWhatItExpected() async {
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Conv2D(3, 8, kernelSize: 3, seed: 1)(Tensor.zeros([2, 1, 8, 8]))
        }, "Conv2D(3 → 8, kernel 3×3): input [2, 1, 8, 8] is not [N, 3, H, W]")
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = BatchNorm(4)(Tensor.zeros([5, 3]))
        }, "BatchNorm(4): input [5, 3] does not have 4 channels on axis 1")
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Embedding(10, 2, seed: 1)([3, 10])
        }, "Embedding(10, 2): index 10 at position 1 is out of range 0..<10")
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Dense(2, 3, seed: 1)(Tensor.zeros([1, 2], dtype: .float64))
        }, "Dense(2 → 3): input is float64 but the parameters are float32")
    }
}
