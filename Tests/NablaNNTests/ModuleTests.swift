import Testing
import Nabla
import NablaNN

/// A small convolutional network with every kind of member reflection has to find.
private final class ConvNet: Module {
    let conv1 = Conv2D(1, 2, kernelSize: 3, seed: 1)
    let bn = BatchNorm(2)
    let pool = MaxPool2D(kernelSize: 2)
    let layers = [Dense(8, 4, seed: 2), Dense(4, 3, seed: 3)]
    let head: Dense? = nil
    let dropout = Dropout(probability: 0.5, seed: 4)
    let flatten = Flatten()

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = pool(bn(conv1(x)).relu())
        h = dropout(flatten(h))
        return layers[1](layers[0](h).relu())
    }
}

/// The user-defined residual block of the training test: x + W₂·relu(W₁·norm(x)).
private final class ResidualBlock: Module {
    let norm: LayerNorm
    let expand: Dense
    let project: Dense
    init(_ size: Int, hidden: Int, seed: UInt64) {
        norm = LayerNorm(size)
        expand = Dense(size, hidden, seed: seed)
        project = Dense(hidden, size, seed: seed + 1)
    }
    func callAsFunction(_ x: Tensor) -> Tensor { x + project(expand(norm(x)).relu()) }
}

private final class ResidualRegressor: Module {
    let blocks = [ResidualBlock(4, hidden: 8, seed: 10), ResidualBlock(4, hidden: 8, seed: 20)]
    let head = Dense(4, 1, seed: 30)
    func callAsFunction(_ x: Tensor) -> Tensor { head(blocks.reduce(x) { h, block in block(h) }) }
}

@Suite("Module")
struct ModuleTests {
    @Test func parametersAreFoundAndNamedByPropertyPath() {
        let net = ConvNet()
        #expect(net.namedParameters().map(\.name) == [
            "conv1.weight", "conv1.bias", "bn.weight", "bn.bias",
            "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
        ])
        #expect(net.namedBuffers().map(\.name) == ["bn.runningMean", "bn.runningVariance"])
        #expect(net.namedModules().map(\.name) == ["", "conv1", "bn", "pool", "layers.0", "layers.1", "dropout", "flatten"])
        // 2·1·3·3 + 2, 2 + 2, 8·4 + 4, 4·3 + 3
        #expect(net.parameterCount == 20 + 4 + 36 + 15)
        #expect(net(Tensor.zeros([2, 1, 6, 6])).shape == [2, 3])
    }

    @Test func frozenParametersGetNoGradient() {
        let net = ConvNet()
        net.conv1.freeze()
        #expect(net.trainableParameters().count == 6)
        net(Tensor.randomNormal([2, 1, 6, 6], seed: 1)).sum().backward()
        #expect(net.conv1.weight.grad == nil && net.conv1.bias!.grad == nil)
        #expect(net.layers[0].weight.grad != nil && net.bn.weight!.grad != nil)
        net.zeroGrad()
        #expect(net.parameters().allSatisfy { $0.grad == nil })
        net.conv1.freeze(false)
        #expect(net.trainableParameters().count == 8)
    }

    @Test func trainAndEvalReachNestedModules() {
        let outer = Sequential([ConvNet(), Sequential([Dropout(probability: 0.1, seed: 1)])])
        let inner = outer[0] as! ConvNet
        let nestedDropout = (outer[1] as! Sequential)[0] as! Dropout
        #expect(outer.isTraining)
        outer.eval()
        #expect(!inner.bn.isTraining && !inner.dropout.isTraining && !nestedDropout.isTraining)
        #expect(!outer.isTraining)
        outer.train()
        #expect(inner.bn.isTraining && inner.dropout.isTraining && nestedDropout.isTraining)
    }

    @Test func castConvertsParametersAndBuffersAndKeepsFreezing() {
        let net = ConvNet()
        net.layers[1].freeze()
        net.cast(to: .float64)
        #expect(net.parameters().allSatisfy { $0.value.dtype == .float64 })
        #expect(net.namedBuffers().allSatisfy { $0.buffer.value.dtype == .float64 })
        #expect(net.layers[1].weight.isFrozen && !net.layers[1].weight.value.requiresGrad)
        #expect(net.layers[0].weight.value.requiresGrad)
        #expect(net(Tensor.zeros([2, 1, 6, 6], dtype: .float64)).dtype == .float64)
    }

    @Test func gradientsAccumulateUntilZeroed() {
        let layer = Dense(2, 1, seed: 1)
        let x = t32([[1, 2]])
        layer(x).sum().backward()
        layer(x).sum().backward()
        expectClose(layer.weight.grad!, [2, 4])       // two backward passes add up
        layer.zeroGrad()
        layer(x).sum().backward()
        expectClose(layer.weight.grad!, [1, 2])
    }

    @Test func userDefinedResidualBlockTrainsWithPlainGradientDescent() {
        let model = ResidualRegressor()
        let x = Tensor.randomNormal([16, 4], seed: 5)
        let y = x.sum(axis: 1, keepDims: true) * 0.5
        func loss() -> Tensor { quadraticLoss(predictions: model(x), targets: y) }
        let initial = loss().doubleScalar
        let lr = 0.05
        for _ in 0..<30 {
            model.zeroGrad()
            loss().backward()
            withoutGradients {
                for p in model.trainableParameters() { p.update(p.value - lr * p.grad!) }
            }
        }
        let final = loss().doubleScalar
        #expect(final < 0.5 * initial, "loss went from \(initial) to \(final)")
        #expect(model.namedParameters().first?.name == "blocks.0.norm.weight")
        expectModuleGradientsCorrect(ResidualBlock(3, hidden: 2, seed: 1), input: randn([2, 3], seed: 6))
    }
}

@Suite("Second derivatives")
struct SecondOrderTests {
    @Test func layersBuiltFromOpsSupportGradientsOfGradients() {
        let model = Sequential([Dense(3, 2, seed: 1), LayerNorm(2), Tanh(), Dense(2, 1, seed: 2)])
        model.cast(to: .float64)
        let v = randn([2, 1], seed: 2)
        // The input gradient of ⟨model(x), v⟩, built with createGraph, is itself checked
        // against central differences. (Written out rather than with checkSecondOrderGradients,
        // whose numeric pass runs the inner `gradients` call without recording: see report.)
        let result = checkGradients(at: [randn([2, 3], seed: 1)]) { xs in
            withGradients {
                let x = xs[0].requiresGrad ? xs[0] : xs[0].requiringGrad()
                return gradients(of: (model(x) * v).sum(), withRespectTo: [x], createGraph: true)[0]
            }
        }
        #expect(result.passed, "\(result)")
        #expect(result.comparedCount > 0)
    }
}
