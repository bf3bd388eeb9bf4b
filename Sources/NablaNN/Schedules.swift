import Nabla
#if canImport(Glibc)
import Glibc
#endif

/// A learning rate as a function of the epoch (or step) number t = 0, 1, 2, …
///
/// Schedules are values: ask for the rate and give it to the optimizer,
/// `optimizer.learningRate = schedule.learningRate(at: epoch)`, or call `apply(to:at:)`.
public protocol LearningRateSchedule {
    /// The rate to use during epoch (or step) `t`, counting from 0.
    func learningRate(at t: Int) -> Double
}

extension LearningRateSchedule {
    /// Sets `optimizer.learningRate` to the rate for epoch (or step) `t` and returns it.
    @discardableResult
    public func apply(to optimizer: any Optimizer, at t: Int) -> Double {
        let rate = learningRate(at: t)
        optimizer.learningRate = rate
        return rate
    }
}

private func checkEpoch(_ op: String, _ t: Int) {
    guard t >= 0 else { optimizerFailure(op, "epoch/step must be ≥ 0, got \(t)") }
}

/// The same rate at every epoch.
public struct ConstantRate: LearningRateSchedule {
    /// The rate.
    public let rate: Double
    /// A constant schedule.
    public init(_ rate: Double) { self.rate = rate }
    /// Always `rate`.
    public func learningRate(at t: Int) -> Double { rate }
}

/// Multiplies the rate by `factor` every `stepSize` epochs: η·factor^⌊t / stepSize⌋
/// (PyTorch's `StepLR`).
public struct StepDecay: LearningRateSchedule {
    /// The rate at t = 0.
    public let initial: Double
    /// How many epochs each rate lasts.
    public let stepSize: Int
    /// The multiplier applied at each boundary (PyTorch's `gamma`).
    public let factor: Double

    /// A step schedule, e.g. `StepDecay(initial: 0.1, stepSize: 30, factor: 0.1)`.
    public init(initial: Double, stepSize: Int, factor: Double = 0.1) {
        guard stepSize > 0 else { optimizerFailure("StepDecay", "stepSize must be > 0, got \(stepSize)") }
        self.initial = initial
        self.stepSize = stepSize
        self.factor = factor
    }

    /// η·factor^⌊t / stepSize⌋.
    public func learningRate(at t: Int) -> Double {
        checkEpoch("StepDecay", t)
        return initial * Double.pow(factor, Double(t / stepSize))
    }
}

/// Multiplies the rate by `factor` every epoch: η·factor^t (PyTorch's `ExponentialLR`).
public struct ExponentialDecay: LearningRateSchedule {
    /// The rate at t = 0.
    public let initial: Double
    /// The per-epoch multiplier (PyTorch's `gamma`).
    public let factor: Double

    /// An exponential schedule.
    public init(initial: Double, factor: Double) {
        self.initial = initial
        self.factor = factor
    }

    /// η·factor^t.
    public func learningRate(at t: Int) -> Double {
        checkEpoch("ExponentialDecay", t)
        return initial * Double.pow(factor, Double(t))
    }
}

/// Half a cosine from `initial` down to `minimum` over `period` epochs (the closed form of
/// PyTorch's `CosineAnnealingLR`): η_min + (η − η_min)(1 + cos(π·t / period)) / 2.
/// After `period` the rate stays at `minimum` (no restarts).
public struct CosineAnnealing: LearningRateSchedule {
    /// The rate at t = 0.
    public let initial: Double
    /// The rate reached at t = period.
    public let minimum: Double
    /// The number of epochs (PyTorch's `T_max`).
    public let period: Int

    /// A cosine schedule.
    public init(initial: Double, minimum: Double = 0, period: Int) {
        guard period > 0 else { optimizerFailure("CosineAnnealing", "period must be > 0, got \(period)") }
        self.initial = initial
        self.minimum = minimum
        self.period = period
    }

    /// η_min + (η − η_min)(1 + cos(π·min(t, period) / period)) / 2.
    public func learningRate(at t: Int) -> Double {
        checkEpoch("CosineAnnealing", t)
        let progress = Double(min(t, period)) / Double(period)
        return minimum + (initial - minimum) * (1 + cos(Double.pi * progress)) / 2
    }
}

/// Ramps the rate up linearly for `steps` epochs, then follows `schedule` (shifted so that its
/// t = 0 is the first epoch after the warm-up). During warm-up the rate at t is
/// `schedule.learningRate(at: 0) · (startFactor + (1 − startFactor)·t / steps)`.
public struct LinearWarmup: LearningRateSchedule {
    /// The number of warm-up epochs (or steps).
    public let steps: Int
    /// The fraction of the base rate used at t = 0.
    public let startFactor: Double
    /// The schedule that follows the warm-up.
    public let schedule: any LearningRateSchedule

    /// Warm-up before `schedule`, e.g. `LinearWarmup(steps: 5, then: CosineAnnealing(…))`.
    public init(steps: Int, startFactor: Double = 0, then schedule: any LearningRateSchedule) {
        guard steps >= 0 else { optimizerFailure("LinearWarmup", "steps must be ≥ 0, got \(steps)") }
        guard (0...1).contains(startFactor) else {
            optimizerFailure("LinearWarmup", "startFactor must be in [0, 1], got \(startFactor)")
        }
        self.steps = steps
        self.startFactor = startFactor
        self.schedule = schedule
    }

    /// The ramp during warm-up, then the wrapped schedule.
    public func learningRate(at t: Int) -> Double {
        checkEpoch("LinearWarmup", t)
        guard t < steps else { return schedule.learningRate(at: t - steps) }
        let fraction = startFactor + (1 - startFactor) * Double(t) / Double(steps)
        return schedule.learningRate(at: 0) * fraction
    }
}

/// Nielsen's learning-rate schedule (chapter 3): keep η while the validation metric improves;
/// when it has not improved for `patience` epochs in a row, multiply η by `factor` (halve
/// it) and start counting again; stop training once η has fallen to `stopFraction` (1/128) of
/// the initial rate. Also PyTorch's `ReduceLROnPlateau` without cooldown.
///
/// ```swift
/// var plateau = ReduceOnPlateau(initial: 0.5, patience: 10)
/// for epoch in 0... {
///     train(...); let accuracy = evaluate(...)
///     if plateau.step(metric: accuracy, optimizer: sgd) == .stop { break }
/// }
/// ```
public struct ReduceOnPlateau {
    /// Whether a larger metric (accuracy) or a smaller one (loss) is better.
    public enum Mode: String, Sendable {
        /// Larger is better (accuracy).
        case maximize
        /// Smaller is better (loss).
        case minimize
    }

    /// What to do after an epoch.
    public enum Decision: Equatable, Sendable {
        /// Keep training at the current rate.
        case keepRate
        /// The rate was just reduced; keep training at the new rate.
        case reducedRate
        /// The rate has fallen to the stop fraction: training should end.
        case stop
    }

    /// The rate at the start.
    public let initial: Double
    /// Epochs without improvement before the rate is reduced.
    public let patience: Int
    /// The multiplier applied at each reduction.
    public let factor: Double
    /// Training stops once the rate is at most `initial · stopFraction`.
    public let stopFraction: Double
    /// Whether larger or smaller metrics are better.
    public let mode: Mode

    /// The current rate.
    public private(set) var rate: Double
    /// The best metric seen so far (nil before the first epoch).
    public private(set) var best: Double?
    /// Epochs since the best metric last improved (or since the last reduction).
    public private(set) var epochsWithoutImprovement = 0
    /// True once the rate has fallen to the stop fraction.
    public private(set) var isFinished = false

    /// Nielsen's schedule by default: halve after `patience` epochs without a better
    /// validation accuracy, stop at 1/128 of the initial rate.
    public init(initial: Double, patience: Int = 10, factor: Double = 0.5,
                stopFraction: Double = 1.0 / 128, mode: Mode = .maximize) {
        guard patience > 0 else { optimizerFailure("ReduceOnPlateau", "patience must be > 0, got \(patience)") }
        guard factor > 0, factor < 1 else { optimizerFailure("ReduceOnPlateau", "factor must be in (0, 1), got \(factor)") }
        guard initial > 0 else { optimizerFailure("ReduceOnPlateau", "initial rate must be > 0, got \(initial)") }
        self.initial = initial
        self.patience = patience
        self.factor = factor
        self.stopFraction = stopFraction
        self.mode = mode
        rate = initial
    }

    /// Records the metric of the epoch that just ended and returns what to do next.
    /// An improvement means strictly better than the best so far; NaN never improves.
    public mutating func step(metric: Double) -> Decision {
        if isFinished { return .stop }
        let improved: Bool
        if let best {
            improved = mode == .maximize ? metric > best : metric < best
        } else {
            improved = !metric.isNaN
        }
        if improved {
            best = metric
            epochsWithoutImprovement = 0
            return .keepRate
        }
        epochsWithoutImprovement += 1
        guard epochsWithoutImprovement >= patience else { return .keepRate }
        epochsWithoutImprovement = 0
        rate *= factor
        // A relative tolerance so that 1/2⁷ of the initial rate counts as reached despite rounding.
        if rate <= initial * stopFraction * (1 + 1e-12) {
            isFinished = true
            return .stop
        }
        return .reducedRate
    }

    /// Records the metric and sets `optimizer.learningRate` to the (possibly reduced) rate.
    public mutating func step(metric: Double, optimizer: any Optimizer) -> Decision {
        let decision = step(metric: metric)
        optimizer.learningRate = rate
        return decision
    }

    /// The schedule's progress as strings, to keep in a checkpoint's metadata so that a
    /// resumed run continues the same schedule.
    public var metadata: [String: String] {
        var d = ["rate": "\(rate)", "epochsWithoutImprovement": "\(epochsWithoutImprovement)",
                 "isFinished": "\(isFinished)"]
        if let best { d["best"] = "\(best)" }
        return d
    }

    /// Restores progress saved by `metadata`; throws if a value is missing or malformed.
    public mutating func restore(from metadata: [String: String]) throws {
        guard let r = metadata["rate"].flatMap(Double.init), r > 0,
              let e = metadata["epochsWithoutImprovement"].flatMap(Int.init), e >= 0,
              let f = metadata["isFinished"].flatMap(Bool.init) else {
            throw OptimizerStateError("ReduceOnPlateau.restore: metadata needs rate, epochsWithoutImprovement and isFinished, got \(metadata.keys.sorted())")
        }
        var b: Double?
        if let s = metadata["best"] {
            guard let v = Double(s) else { throw OptimizerStateError("ReduceOnPlateau.restore: best '\(s)' is not a number") }
            b = v
        }
        rate = r; epochsWithoutImprovement = e; isFinished = f; best = b
    }
}
