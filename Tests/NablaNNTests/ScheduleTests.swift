import Foundation
import Testing
import Nabla
@testable import NablaNN

@Suite("Learning-rate schedules") struct ScheduleTests {
    @Test func stepDecay() {
        let s = StepDecay(initial: 0.1, stepSize: 3, factor: 0.5)
        let rates = (0..<8).map { s.learningRate(at: $0) }
        optExpectClose(rates, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025], atol: 1e-15)
    }

    @Test func exponentialDecay() {
        let s = ExponentialDecay(initial: 2, factor: 0.9)
        optExpectClose((0..<4).map { s.learningRate(at: $0) }, [2, 1.8, 1.62, 1.458], atol: 1e-12)
    }

    @Test func cosineAnnealing() {
        let s = CosineAnnealing(initial: 1, minimum: 0.1, period: 4)
        // 0.1 + 0.9·(1 + cos(π t / 4)) / 2
        let expected = [1.0, 0.1 + 0.45 * (1 + 0.5.squareRoot()), 0.55, 0.1 + 0.45 * (1 - 0.5.squareRoot()), 0.1, 0.1]
        optExpectClose((0..<6).map { s.learningRate(at: $0) }, expected, atol: 1e-12)
    }

    @Test func linearWarmupThenCosine() {
        let s = LinearWarmup(steps: 4, then: CosineAnnealing(initial: 0.8, period: 2))
        let rates = (0..<8).map { s.learningRate(at: $0) }
        optExpectClose(rates, [0, 0.2, 0.4, 0.6, 0.8, 0.4, 0, 0], atol: 1e-12)
        let fromHalf = LinearWarmup(steps: 2, startFactor: 0.5, then: ConstantRate(1))
        optExpectClose((0..<3).map { fromHalf.learningRate(at: $0) }, [0.5, 0.75, 1], atol: 1e-15)
    }

    @Test func applySetsTheOptimizerRate() {
        let sgd = SGD(parameters: [Parameter(Tensor([Float(1)]))], learningRate: 1)
        let rate = StepDecay(initial: 0.4, stepSize: 1, factor: 0.5).apply(to: sgd, at: 2)
        #expect(rate == 0.1 && sgd.learningRate == 0.1)
    }

    @Test func nielsenPlateauHalvingAndStop() {
        // Nielsen ch. 3: halve η after `patience` epochs without a better validation accuracy,
        // stop when η reaches 1/128 of the initial rate (after 7 halvings).
        var plateau = ReduceOnPlateau(initial: 0.5, patience: 2)
        let sgd = SGD(parameters: [Parameter(Tensor([Float(1)]))], learningRate: 0.5)
        #expect(plateau.step(metric: 0.90, optimizer: sgd) == .keepRate)
        #expect(plateau.step(metric: 0.91, optimizer: sgd) == .keepRate)   // improved
        #expect(plateau.step(metric: 0.91, optimizer: sgd) == .keepRate)   // equal is no improvement: 1
        #expect(plateau.step(metric: 0.80, optimizer: sgd) == .reducedRate) // 2 → halve
        #expect(sgd.learningRate == 0.25 && plateau.rate == 0.25)
        #expect(plateau.step(metric: 0.92, optimizer: sgd) == .keepRate)   // new best resets the count
        #expect(plateau.best == 0.92)
        var decisions: [ReduceOnPlateau.Decision] = []
        for _ in 0..<12 { decisions.append(plateau.step(metric: 0.5, optimizer: sgd)) }
        // Halvings 2…6 come every second epoch; the 7th (rate 0.5/128) stops training.
        #expect(decisions.filter { $0 == .reducedRate }.count == 5)
        #expect(decisions.last == .stop && plateau.isFinished)
        #expect(decisions.firstIndex(of: .stop) == 11)
        #expect(sgd.learningRate == 0.5 / 128)
        #expect(plateau.step(metric: 0.99) == .stop, "once finished it stays finished")
    }

    @Test func plateauMinimizeModeAndRestore() throws {
        var plateau = ReduceOnPlateau(initial: 1, patience: 1, factor: 0.1, stopFraction: 0.001, mode: .minimize)
        #expect(plateau.step(metric: 2.0) == .keepRate)
        #expect(plateau.step(metric: 1.5) == .keepRate)
        #expect(plateau.step(metric: 1.7) == .reducedRate)
        #expect(abs(plateau.rate - 0.1) < 1e-15)
        var resumed = ReduceOnPlateau(initial: 1, patience: 1, factor: 0.1, stopFraction: 0.001, mode: .minimize)
        try resumed.restore(from: plateau.metadata)
        #expect(resumed.rate == plateau.rate && resumed.best == 1.5 && !resumed.isFinished)
        #expect(resumed.step(metric: 1.6) == .reducedRate)
        #expect(resumed.step(metric: 1.6) == .stop)
        #expect(throws: OptimizerStateError.self) { try resumed.restore(from: ["rate": "x"]) }
    }
}
