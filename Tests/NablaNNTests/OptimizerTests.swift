import Testing
import Nabla
@testable import NablaNN

/// The parameter after steps 1, 2 and 3 of each optimizer on
/// L(p) = ½·Σ c·p² + Σ d·p (gradient c·p + d), from p = [0.5, −1, 2], with
/// c = [1, 2, 0.5], d = [0.1, −0.3, 0.2]. Made by Fixtures/optimizer_reference.py, which
/// re-writes PyTorch's torch.optim update rules in float64 NumPy; pasted here by hand.
private let reference: [String: [[Double]]] = [
    "sgdPlain": [
        [0.44, -0.77, 1.88],
        [0.386, -0.586, 1.766],
        [0.33740000000000003, -0.43879999999999997, 1.6577]],
    "sgdMomentum": [
        [0.44, -0.77, 1.88],
        [0.33199999999999996, -0.379, 1.658],
        [0.19159999999999996, 0.07869999999999999, 1.3553]],
    "sgdDampening": [
        [0.44, -0.77, 1.88],
        [0.359, -0.47100000000000003, 1.7149999999999999],
        [0.26315, -0.13980000000000004, 1.5136249999999998]],
    "sgdNesterov": [
        [0.386, -0.5630000000000001, 1.772],
        [0.24506, -0.10576000000000002, 1.4684599999999999],
        [0.09639259999999997, 0.2746048, 1.1155103]],
    "sgdWeightDecay": [
        [0.4375, -0.765, 1.87],
        [0.3815625, -0.578175, 1.7471500000000002],
        [0.3314984375, -0.42964912499999997, 1.6310567500000002]],
    "sgdMomentumWeightDecay": [
        [0.4375, -0.765, 1.87],
        [0.3253125, -0.366675, 1.63015],
        [0.1801859375, 0.09698587500000011, 1.30462675]],
    "rmsprop": [
        [0.40000001666666396, -0.9000000043478259, 1.9000000083333326],
        [0.33579183653695205, -0.8323884544626916, 1.8306284342669885],
        [0.2867692027157179, -0.7787368123094148, 1.7746139230232678]],
    "rmspropMomentumCentered": [
        [0.39949623401409196, -0.8994962226828329, 1.8994962256890855],
        [0.24434840805971805, -0.7407897887991325, 1.7390242776181293],
        [0.063852106246712, -0.5473103740332925, 1.5394782156886357]],
    "adagrad": [
        [0.4000000000166667, -0.9000000000043478, 1.9000000000083332],
        [0.33598156005715607, -0.8325730636042272, 1.830809463688804],
        [0.28723977441491744, -0.7792105604744551, 1.7750853734213878]],
    "adagradDecay": [
        [0.4100771197098505, -0.9008569138314523, 1.9024573780059697],
        [0.3696580744537967, -0.8561113687661602, 1.8569352455204533],
        [0.3453153571409871, -0.8290868427569342, 1.82913517597335]],
    "adam": [
        [0.40000000166666666, -0.9000000004347826, 1.9000000008333333],
        [0.3008827159794435, -0.8003398730641458, 1.800133522955229],
        [0.20354163079746118, -0.7012980233986295, 1.7004979307121881]],
    "adamWeightDecay": [
        [0.4000000015384615, -0.9000000004166666, 1.9000000007142857],
        [0.300904415843742, -0.8003427677328034, 1.8001380991305376],
        [0.20363482507071728, -0.7013094830235174, 1.7005152912234738]],
    "amsgrad": [
        [0.20000000499999998, -0.7000000013043479, 1.7000000025],
        [-0.07073306791912093, -0.3901183806776782, 1.3948881250672922],
        [-0.2623955200581706, -0.1116768206508284, 1.0895859933324346]],
    "adamSameSettingsAsAmsgrad": [
        [0.20000000499999998, -0.7000000013043479, 1.7000000025],
        [-0.11261561733284348, -0.3901183806776782, 1.3948881250672922],
        [-0.40873148065352866, -0.05986065762607434, 1.0803147319142192]],
    "adamW": [
        [0.39950000166666666, -0.8990000004347826, 1.8980000008333333],
        [0.29999023756590976, -0.7984455095525943, 1.7962387218296152],
        [0.20237013485553915, -0.6986182758803932, 1.6948156027446766]],
    "adamWAmsgrad": [
        [0.12500000499999997, -0.5500000013043478, 1.4000000025],
        [-0.14031047301665536, -0.17574727678649654, 0.8804486154705478],
        [-0.27746946155948427, 0.090941475949889, 0.46160742082299105]]
]

/// Runs three steps of the optimizer `make` builds over one parameter of `dtype` and returns
/// the parameter's values after each step. Gradients come from autodiff.
private func threeSteps(_ dtype: DType, _ make: ([Parameter]) -> any Optimizer) -> [[Double]] {
    let p = Parameter(Tensor(shape: [3], scalars: [0.5, -1, 2], dtype: dtype))
    let c = Tensor(shape: [3], scalars: [1, 2, 0.5], dtype: dtype)
    let d = Tensor(shape: [3], scalars: [0.1, -0.3, 0.2], dtype: dtype)
    let optimizer = make([p])
    var out: [[Double]] = []
    for _ in 0..<3 {
        optimizer.zeroGrad()
        let loss = (p.value * p.value * c).sum() * 0.5 + (p.value * d).sum()
        loss.backward()
        optimizer.step()
        out.append(p.value.scalars(as: Double.self))
    }
    return out
}

/// Checks both dtypes against the reference: float64 to 1e-12, float32 to 1e-6.
private func expectMatchesReference(_ name: String, sourceLocation: SourceLocation = #_sourceLocation,
                                    _ make: @escaping ([Parameter]) -> any Optimizer) {
    guard let expected = reference[name] else {
        Issue.record("no reference values named \(name)", sourceLocation: sourceLocation)
        return
    }
    for (dtype, atol) in [(DType.float64, 1e-12), (DType.float32, 1e-6)] {
        let steps = threeSteps(dtype, make)
        for (i, (actual, want)) in zip(steps, expected).enumerated() {
            optExpectClose(actual, want, atol: atol, rtol: dtype == .float32 ? 1e-6 : 0,
                           "\(name) \(dtype) step \(i + 1)", sourceLocation: sourceLocation)
        }
    }
}

@Suite("Optimizers") struct OptimizerTests {
    @Test func sgdPlain() {
        expectMatchesReference("sgdPlain") { SGD(parameters: $0, learningRate: 0.1) }
    }
    @Test func sgdMomentum() {
        expectMatchesReference("sgdMomentum") { SGD(parameters: $0, learningRate: 0.1, momentum: 0.9) }
    }
    @Test func sgdDampening() {
        expectMatchesReference("sgdDampening") {
            SGD(parameters: $0, learningRate: 0.1, momentum: 0.9, dampening: 0.5)
        }
    }
    @Test func sgdNesterov() {
        expectMatchesReference("sgdNesterov") {
            SGD(parameters: $0, learningRate: 0.1, momentum: 0.9, nesterov: true)
        }
    }
    @Test func sgdWeightDecay() {
        expectMatchesReference("sgdWeightDecay") { SGD(parameters: $0, learningRate: 0.1, weightDecay: 0.05) }
        expectMatchesReference("sgdMomentumWeightDecay") {
            SGD(parameters: $0, learningRate: 0.1, momentum: 0.9, weightDecay: 0.05)
        }
    }
    @Test func rmsprop() {
        expectMatchesReference("rmsprop") { RMSProp(parameters: $0) }
        expectMatchesReference("rmspropMomentumCentered") {
            RMSProp(parameters: $0, learningRate: 0.01, weightDecay: 0.1, momentum: 0.9, centered: true)
        }
    }
    @Test func adagrad() {
        expectMatchesReference("adagrad") { AdaGrad(parameters: $0, learningRate: 0.1) }
        expectMatchesReference("adagradDecay") {
            AdaGrad(parameters: $0, learningRate: 0.1, learningRateDecay: 0.5, weightDecay: 0.1,
                    initialAccumulator: 0.1)
        }
    }
    @Test func adam() {
        expectMatchesReference("adam") { Adam(parameters: $0, learningRate: 0.1) }
        expectMatchesReference("adamWeightDecay") { Adam(parameters: $0, learningRate: 0.1, weightDecay: 0.1) }
    }
    @Test func amsgrad() {
        expectMatchesReference("amsgrad") { Adam(parameters: $0, learningRate: 0.3, beta2: 0.5, amsgrad: true) }
        // The same settings without AMSGrad give other values, so the maximum is exercised.
        expectMatchesReference("adamSameSettingsAsAmsgrad") { Adam(parameters: $0, learningRate: 0.3, beta2: 0.5) }
        #expect(reference["amsgrad"]![1][0] != reference["adamSameSettingsAsAmsgrad"]![1][0])
    }
    @Test func adamW() {
        expectMatchesReference("adamW") { AdamW(parameters: $0, learningRate: 0.1) }   // default decay 0.01
        expectMatchesReference("adamWAmsgrad") {
            AdamW(parameters: $0, learningRate: 0.3, beta2: 0.5, weightDecay: 0.5, amsgrad: true)
        }
        #expect(AdamW(parameters: [Parameter(Tensor([Float(1)]))]).weightDecay == 0.01)
    }

    @Test func frozenAndGradientlessParametersAreSkipped() {
        let frozen = Parameter(Tensor([Float(1), 2]))
        let noGrad = Parameter(Tensor([Float(3), 4]))
        let live = Parameter(Tensor([Float(5), 6]))
        let optimizers: [any Optimizer] = [
            SGD(parameters: [frozen, noGrad, live], learningRate: 0.1, momentum: 0.9),
            SGD(parameters: [frozen, noGrad, live], learningRate: 0.1),
            RMSProp(parameters: [frozen, noGrad, live]),
            AdaGrad(parameters: [frozen, noGrad, live]),
            Adam(parameters: [frozen, noGrad, live]),
            AdamW(parameters: [frozen, noGrad, live]),
        ]
        for optimizer in optimizers {
            frozen.isFrozen = false
            optimizer.zeroGrad()
            ((frozen.value + live.value) * 2).sum().backward()
            frozen.isFrozen = true        // frozen after its gradient was computed: still skipped
            optimizer.step()
            #expect(frozen.value.scalars == [1, 2], "\(type(of: optimizer)) changed a frozen parameter")
            #expect(noGrad.value.scalars == [3, 4], "\(type(of: optimizer)) changed a parameter without gradient")
            #expect(live.value.scalars != [5, 6], "\(type(of: optimizer)) did not update")
            // A skipped parameter has no state either.
            let slots = optimizer.exportState().slots
            #expect(slots[0]["exp_avg"] == nil && slots[0]["momentum_buffer"] == nil)
            live.update(Tensor([Float(5), 6]))
        }
    }

    @Test func updatesKeepTheParameterLeafAndGradient() {
        let p = Parameter(Tensor([Float(1), 2]))
        let leafValue = p.value
        let sgd = SGD(parameters: [p], learningRate: 0.5)
        (p.value * p.value).sum().backward()
        sgd.step()
        #expect(p.value.scalars == [0, 0])   // 1 − 0.5·2, 2 − 0.5·4
        #expect(leafValue.scalars == [1, 2], "a tensor copied before the step must keep its values")
        #expect(p.value.requiresGrad && p.value.isLeaf)
        #expect(p.grad?.scalars == [2, 4], "step() must not touch the gradient")
        sgd.zeroGrad()
        #expect(p.grad == nil)
    }

    /// Plain SGD adds a dense layer's weight gradient, gᵀ·x, to the weights straight from
    /// its factors (no gradient buffer). Training must give the same bits as when every
    /// gradient is formed first (reading `grad` forms it): Nielsen's sigmoid network and
    /// quadratic cost, several steps, a group with its own rate scale, a frozen layer, a
    /// batch past one GEMM pass (300 rows), float and double.
    @Test func plainSGDFromUnformedGradientsMatchesFormedOnes() {
        for dtype in [DType.float32, .float64] {
            for batch in [10, 300] {
                func network() -> [Dense] {
                    var g = RandomGenerator(seed: 5)
                    return [Dense(20, 12, weightInitializer: .standardNormal, dtype: dtype, using: &g),
                            Dense(12, 8, weightInitializer: .standardNormal, dtype: dtype, using: &g),
                            Dense(8, 4, weightInitializer: .standardNormal, dtype: dtype, using: &g)]
                }
                let direct = network(), formed = network()
                for net in [direct, formed] { net[1].weight.isFrozen = true }
                func optimizer(_ net: [Dense]) -> SGD {
                    SGD(groups: [ParameterGroup(parameters: net[0].trainableParameters()),
                                 ParameterGroup(parameters: net[1].parameters() + net[2].parameters(),
                                                learningRateScale: 0.5)], learningRate: 3)
                }
                let sgdDirect = optimizer(direct), sgdFormed = optimizer(formed)
                for step in 0..<4 {
                    let x = Tensor.randomUniform([batch, 20], dtype: dtype, seed: UInt64(step))
                    let y = Tensor.randomUniform([batch, 4], dtype: dtype, seed: UInt64(100 + step))
                    for (net, sgd) in [(direct, sgdDirect), (formed, sgdFormed)] {
                        sgd.zeroGrad()
                        let out = net[2](net[1](net[0](x).sigmoid()).sigmoid()).sigmoid()
                        quadraticLoss(predictions: out, targets: y).backward()
                        if sgd === sgdFormed { for p in sgd.parameters { _ = p.grad } }
                        sgd.step()
                    }
                }
                for (a, b) in zip(direct.flatMap { $0.parameters() }, formed.flatMap { $0.parameters() }) {
                    #expect(optBits(a.value) == optBits(b.value), "\(dtype) batch \(batch) \(a.shape)")
                }
                #expect(optBits(direct[0].weight.grad!) == optBits(formed[0].weight.grad!), "the gradient stays readable")
                var g = RandomGenerator(seed: 5)
                let initial = Dense(20, 12, weightInitializer: .standardNormal, dtype: dtype, using: &g)
                #expect(optBits(direct[0].weight.value) != optBits(initial.weight.value), "training moved the weights")
            }
        }
    }

    @Test func weightDecayOnWeightsOnly() {
        // Nielsen ch. 3: L2 on weights, none on biases. With a zero loss gradient only the
        // decay acts: w ← w − η·λ·w, b unchanged.
        let net = OptTestNet(seed: 3)
        let groups = ParameterGroup.weightsAndBiases(net.namedParameters(), weightDecay: 0.1)
        #expect(groups[0].parameters.map(ObjectIdentifier.init) == [net.fc1.weight, net.fc2.weight].map(ObjectIdentifier.init))
        #expect(groups[1].parameters.count == 2)
        let sgd = SGD(groups: groups, learningRate: 0.5)
        let w = net.fc1.weight.value.scalars(as: Double.self), b = net.fc1.bias.value.scalars
        (optTestLoss(net) * 0).backward()
        sgd.step()
        optExpectClose(net.fc1.weight.value.scalars(as: Double.self), w.map { $0 * (1 - 0.5 * 0.1) }, atol: 1e-6)
        #expect(net.fc1.bias.value.scalars == b)
    }

    @Test func learningRateScaleOfAGroup() {
        let a = Parameter(Tensor([Float(1)])), b = Parameter(Tensor([Float(1)]))
        let sgd = SGD(groups: [ParameterGroup(parameters: [a]),
                               ParameterGroup(parameters: [b], learningRateScale: 0.5)], learningRate: 0.2)
        (a.value + b.value).sum().backward()
        sgd.step()
        #expect(a.value.scalars == [0.8])
        #expect(b.value.scalars == [0.9])
        sgd.learningRate = 0.4
        sgd.step()
        #expect(abs(a.value.scalars[0] - 0.4) < 1e-6 && abs(b.value.scalars[0] - 0.7) < 1e-6)
    }

    @Test func adamWGroupWithoutDecayMatchesAdam() {
        // A group's weightDecay overrides the optimizer's: AdamW with decay 0 is Adam.
        let a = Parameter(Tensor([Float(0.5), -1])), b = Parameter(Tensor([Float(0.5), -1]))
        let c = Parameter(Tensor([Float(0.5), -1]))
        let adamW = AdamW(groups: [ParameterGroup(parameters: [a], weightDecay: 0),
                                   ParameterGroup(parameters: [c])], learningRate: 0.1, weightDecay: 0.5)
        let adam = Adam(parameters: [b], learningRate: 0.1)
        for _ in 0..<3 {
            adamW.zeroGrad(); adam.zeroGrad()
            ((a.value * a.value).sum() + (b.value * b.value).sum() + (c.value * c.value).sum()).backward()
            adamW.step(); adam.step()
        }
        #expect(optBits(a.value) == optBits(b.value))
        #expect(optBits(c.value) != optBits(b.value), "the other group is decayed")
    }

    @Test func gradientsAccumulateWithoutZeroGrad() {
        let p = Parameter(Tensor([Float(0)]))
        let sgd = SGD(parameters: [p], learningRate: 1)
        (p.value * 3).sum().backward()
        (p.value * 3).sum().backward()
        sgd.step()
        #expect(p.value.scalars == [-6], "two backward() calls add their gradients")
    }

    @Test func stateExportImportRoundTrip() throws {
        let p = Parameter(Tensor([Float(0.5), -1]))
        let adam = Adam(parameters: [p], learningRate: 0.1, amsgrad: true)
        (p.value * p.value).sum().backward()
        adam.step(); adam.step()
        let state = adam.exportState()
        #expect(state.type == "Adam")
        #expect(Set(state.slots[0].keys) == ["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"])
        #expect(state.slots[0]["step"]?.doubleScalar == 2)
        let fresh = Adam(parameters: [p], learningRate: 0.9, amsgrad: true)
        try fresh.importState(state)
        #expect(fresh.learningRate == 0.1)
        #expect(optBits(fresh.exportState().slots[0]["exp_avg"]!) == optBits(state.slots[0]["exp_avg"]!))
    }

    @Test func importRejectsBadStateAndLeavesOptimizerUnchanged() {
        let p = Parameter(Tensor([Float(0.5), -1]))
        let sgd = SGD(parameters: [p], learningRate: 0.1, momentum: 0.9)
        let wrongType = OptimizerState(type: "Adam", learningRate: 0.1, slots: [[:]])
        #expect(throws: OptimizerStateError.self) { try sgd.importState(wrongType) }
        let wrongShape = OptimizerState(type: "SGD", learningRate: 0.7,
                                        slots: [["momentum_buffer": Tensor([Float(1), 2, 3])]])
        do {
            try sgd.importState(wrongShape)
            Issue.record("a momentum buffer of the wrong shape was accepted")
        } catch {
            #expect("\(error)".contains("momentum_buffer") && "\(error)".contains("[3]") && "\(error)".contains("[2]"))
        }
        let unknownSlot = OptimizerState(type: "SGD", learningRate: 0.7, slots: [["velocity": Tensor([Float(1), 2])]])
        #expect(throws: OptimizerStateError.self) { try sgd.importState(unknownSlot) }
        let missingMoment = OptimizerState(type: "Adam", learningRate: 0.7, slots: [["step": Tensor(1, dtype: .float64)]])
        #expect(throws: OptimizerStateError.self) { try Adam(parameters: [p]).importState(missingMoment) }
        #expect(sgd.learningRate == 0.1)
        #expect(sgd.exportState().slots[0].isEmpty)
    }
}

@Suite("Gradient clipping") struct OptimizerClippingTests {
    @Test func clipNormScalesAllGradientsTogether() {
        let a = Parameter(Tensor([Float(0), 0])), b = Parameter(Tensor([Float(0)]))
        let unused = Parameter(Tensor([Float(0)]))
        // Gradients [3, 0] and [4]: global norm 5.
        (a.value * Tensor([Float(3), 0])).sum().backward()
        (b.value * 4).sum().backward()
        let norm = clipGradientNorm([a, b, unused], maxNorm: 1)
        #expect(abs(norm - 5) < 1e-9)
        let scale = 1 / (5 + 1e-6)
        optExpectClose(a.grad!.scalars(as: Double.self), [3 * scale, 0], atol: 1e-7)
        optExpectClose(b.grad!.scalars(as: Double.self), [4 * scale], atol: 1e-7)
        #expect(unused.grad == nil)
        // Below the limit nothing changes, but the norm is still reported.
        let again = clipGradientNorm([a, b], maxNorm: 10)
        #expect(abs(again - 1) < 1e-6)
        optExpectClose(b.grad!.scalars(as: Double.self), [4 * scale], atol: 1e-7)
    }

    @Test func clipNormOtherNormTypes() {
        let a = Parameter(Tensor([Float(0), 0, 0]))
        (a.value * Tensor([Float(-3), 1, 2])).sum().backward()
        #expect(clipGradientNorm([a], maxNorm: 100, normType: .infinity) == 3)
        #expect(abs(clipGradientNorm([a], maxNorm: 100, normType: 1) - 6) < 1e-12)
        let n = clipGradientNorm([a], maxNorm: 1.5, normType: .infinity)
        #expect(n == 3)
        optExpectClose(a.grad!.scalars(as: Double.self), [-3, 1, 2].map { $0 * 1.5 / (3 + 1e-6) }, atol: 1e-6)
    }

    @Test func clipValue() {
        let a = Parameter(Tensor(shape: [4], scalars: [0, 0, 0, 0], dtype: .float64))
        (a.value * Tensor(shape: [4], scalars: [-3, 0.5, 2, -0.25], dtype: .float64)).sum().backward()
        clipGradientValue([a], maxValue: 1)
        #expect(a.grad!.scalars(as: Double.self) == [-1, 0.5, 1, -0.25])
    }
}

@Suite("Optimizer argument checks") struct OptimizerFailureTests {
    // Programming errors stop the process (as PyTorch raises); exit tests run them in a child.
    @Test func emptyParameterListStops() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = SGD(parameters: [], learningRate: 0.1)
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("SGD: no parameters to optimize ("), "\(message)")
        await #expect(processExitsWith: .failure) { _ = Adam(parameters: []) }
    }

    @Test func nesterovWithoutMomentumStops() async {
        await #expect(processExitsWith: .failure) {
            _ = SGD(parameters: [Parameter(Tensor([Float(1)]))], learningRate: 0.1, nesterov: true)
        }
    }

    @Test func sameParameterTwiceStops() async {
        await #expect(processExitsWith: .failure) {
            let p = Parameter(Tensor([Float(1)]))
            _ = SGD(groups: [ParameterGroup(parameters: [p]), ParameterGroup(parameters: [p])], learningRate: 0.1)
        }
    }
}
