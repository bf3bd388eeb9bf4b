import ExampleSupport
import Foundation
import Nabla
import NablaNN

/// Best and median of `repeats` timings of `body` (each in seconds per call).
func time(repeats: Int, calls: Int, _ body: () -> Void) -> (best: Double, median: Double) {
    var samples: [Double] = []
    for _ in 0..<repeats {
        let t0 = monotonicSeconds()
        for _ in 0..<calls { body() }
        samples.append((monotonicSeconds() - t0) / Double(calls))
    }
    samples.sort()
    return (samples[0], samples[samples.count / 2])
}

/// Best and median single-call time of `body`, called for at least `seconds` and at least 3
/// times: the statistic ../shared/bench/sgemm.py reports for NumPy and PyTorch.
func timeCalls(seconds: Double = 0.5, _ body: () -> Void) -> (best: Double, median: Double) {
    var samples: [Double] = []
    let end = monotonicSeconds() + seconds
    while samples.count < 3 || monotonicSeconds() < end {
        let t0 = monotonicSeconds()
        body()
        samples.append(monotonicSeconds() - t0)
    }
    samples.sort()
    return (samples[0], samples[samples.count / 2])
}

/// Float32 C = A·B for square n, 1 and 2 threads, as ../shared/bench/sgemm.py measures it:
/// 2 warm-up calls, then single calls for at least 0.5 s (at least 3); GFLOPS = 2n³/t for
/// the best and the median call. (Until 2026-12-02 this took the best of three 0.5 s
/// averages, a less favourable statistic than the reference's best single call.)
func benchSGEMM(json: Bool) {
    let saved = Threading.threadCount
    defer { Threading.threadCount = saved }
    if !json { print("sgemm: float32 C = A·B, GFLOPS best (median)") }
    for threads in [1, 2] {
        Threading.threadCount = threads
        for n in [128, 256, 512, 1024, 2048] {
            let a = Tensor.randomNormal([n, n], seed: 1), b = Tensor.randomNormal([n, n], seed: 2)
            _ = a.matmul(b); _ = a.matmul(b)
            let flops = 2 * Double(n) * Double(n) * Double(n)
            let (best, median) = timeCalls { _ = a.matmul(b) }
            let gBest = flops / best / 1e9, gMedian = flops / median / 1e9
            if json {
                print(jsonLine(["workload": "sgemm", "n": n, "threads": threads,
                                "gflops": (gBest * 10).rounded() / 10, "gflops_median": (gMedian * 10).rounded() / 10]))
            } else {
                print(String(format: "  n=%5d  threads=%d  %7.1f (%.1f)", n, threads, gBest, gMedian))
            }
        }
    }
}

/// µs per iteration of y = (x*w + b).sigmoid().sum(); y.backward() on 10×30 float32, the chain
/// of ../shared/bench/small_op_overhead.py (median of 7 repeats of 20,000 iterations).
func benchOverhead(json: Bool) {
    let x = Tensor.randomNormal([10, 30], seed: 1)
    let w = Tensor.randomNormal([10, 30], seed: 2).requiringGrad()
    let b = Tensor.randomNormal([30], seed: 3).requiringGrad()
    func step() {
        w.zeroGrad()
        b.zeroGrad()
        (x * w + b).sigmoid().sum().backward()
    }
    for _ in 0..<1000 { step() }
    let (best, median) = time(repeats: 7, calls: 20_000, step)
    let forward = time(repeats: 7, calls: 20_000) { _ = withoutGradients { (x * w + b).sigmoid().sum() } }
    if json {
        print(jsonLine(["workload": "overhead", "us_per_iteration": (median * 1e7).rounded() / 10,
                        "us_per_iteration_best": (best * 1e7).rounded() / 10,
                        "us_forward_no_grad": (forward.median * 1e7).rounded() / 10]))
    } else {
        print(String(format: "overhead: (x*w + b).sigmoid().sum() + backward, 10×30: %.2f µs per iteration (best %.2f); forward without graph %.2f µs",
                     median * 1e6, best * 1e6, forward.median * 1e6))
    }
}

/// Milliseconds per training step (forward, loss, backward, SGD update) of the LeNet of
/// `lenet_b64` and the BatchNorm net of `bn_cnn` on one fixed batch of 64 random images:
/// best and median of 7 repeats of 20 steps. Steadier than an epoch on a noisy machine
/// (the best of several short repeats), so it is the figure to compare kernel changes by.
func benchConvStep(json: Bool) {
    for batchNorm in [false, true] {
        var generator = RandomGenerator(seed: 0)
        let model = benchmarkConvNetwork(batchNorm: batchNorm, using: &generator)
        let optimizer = SGD(parameters: model.trainableParameters(), learningRate: 0.01)
        let x = Tensor.randomUniform([64, 1, 28, 28], seed: 1)
        let labels = (0..<64).map { $0 % 10 }
        func step() {
            let loss = Cost.softmaxCrossEntropy.loss(model(x), labels: labels)
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
        }
        for _ in 0..<5 { step() }
        let (best, median) = time(repeats: 7, calls: 20, step)
        let name = batchNorm ? "bn_cnn" : "lenet"
        if json {
            print(jsonLine(["workload": "conv_step", "net": name, "batch": 64, "threads": Threading.threadCount,
                            "ms_per_step": (median * 1e5).rounded() / 100, "ms_per_step_best": (best * 1e5).rounded() / 100]))
        } else {
            print(String(format: "conv_step: %@ net, batch 64: %.2f ms per training step (best %.2f), %d threads",
                         name, median * 1e3, best * 1e3, Threading.threadCount))
        }
    }
}
