import Foundation
import Synchronization
import Testing
@testable import Nabla

// Reliability of the core: numerical stability at extreme inputs, the anomaly mode, graphs
// freed after backward (live nodes counted), thread safety, and the messages of the mistakes
// users make. Tests that stop the process, or that need the process to themselves (global
// switches, process-wide counters), run as exit tests: this test binary started again.

// MARK: - Reference values in Double

/// Softmax of one row, with the maximum subtracted.
private func referenceSoftmax(_ row: [Double]) -> [Double] {
    let m = row.max()!
    let e = row.map { Foundation.exp($0 - m) }
    let s = e.reduce(0, +)
    return e.map { $0 / s }
}

private func referenceLogSumExp(_ row: [Double]) -> Double {
    let m = row.max()!
    return m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +))
}

private func referenceSigmoid(_ x: Double) -> Double {
    x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x))
}

/// Extreme float32 rows: ±1e4, ties at 1e4, all −1e4, and denormals (the smallest normal
/// halved, the smallest positive float).
private let extremeRows: [[Float]] = [
    [1e4, -1e4, 0],
    [1e4, 1e4, 1e4 - 1],
    [-1e4, -1e4, -1e4],
    [Float.leastNormalMagnitude / 2, -Float.leastNonzeroMagnitude, Float.leastNonzeroMagnitude],
]

/// Upstream weights for the gradient (so the gradient is not trivially zero).
private let upstream: [[Float]] = [[1, 2, 3], [0.5, -1, 2], [3, 1, -2], [1, -1, 0.25]]

private func matrix(_ rows: [[Float]]) -> Tensor { Tensor(rows) }

private func allFinite(_ t: Tensor) -> Bool { t.scalars(as: Double.self).allSatisfy(\.isFinite) }

/// Runs `f` on the extreme rows, backpropagates Σ f(x)·c, and checks the values and the
/// gradient against the references, all finite.
private func checkStable(_ name: String, _ f: (Tensor) -> Tensor, values: ([Double]) -> [Double],
                         gradient: ([Double], [Double]) -> [Double],
                         sourceLocation: SourceLocation = #_sourceLocation) {
    let x = matrix(extremeRows).requiringGrad()
    let y = f(x)
    (y * matrix(upstream)).sum().backward()
    let grad = x.grad!
    #expect(allFinite(y), "\(name) gave non-finite values: \(y)", sourceLocation: sourceLocation)
    #expect(allFinite(grad), "\(name) gave a non-finite gradient: \(grad)", sourceLocation: sourceLocation)
    let xs = extremeRows.map { $0.map(Double.init) }, cs = upstream.map { $0.map(Double.init) }
    expectClose(y, xs.flatMap(values), rtol: 1e-5, atol: 1e-6, sourceLocation: sourceLocation)
    expectClose(grad, zip(xs, cs).flatMap { gradient($0, $1) }, rtol: 1e-5, atol: 1e-6, sourceLocation: sourceLocation)
}

// MARK: - Stability

@Suite("Reliability: numerical stability") struct ReliabilityStabilityTests {
    @Test func softmaxAtExtremes() {
        checkStable("softmax", { $0.softmax(axis: 1) }, values: referenceSoftmax) { x, c in
            let y = referenceSoftmax(x)
            let dot = zip(y, c).map(*).reduce(0, +)
            return zip(y, c).map { $0 * ($1 - dot) }
        }
    }

    @Test func logSoftmaxAtExtremes() {
        checkStable("logSoftmax", { $0.logSoftmax(axis: 1) }, values: { x in
            let lse = referenceLogSumExp(x)
            return x.map { $0 - lse }
        }) { x, c in
            let y = referenceSoftmax(x), total = c.reduce(0, +)
            return zip(y, c).map { $1 - $0 * total }
        }
    }

    @Test func logSumExpAtExtremes() {
        let x = matrix(extremeRows).requiringGrad()
        let y = x.logSumExp(axes: [1])
        (y * Tensor([Float(1), 2, 3, -1])).sum().backward()
        let xs = extremeRows.map { $0.map(Double.init) }
        #expect(allFinite(y) && allFinite(x.grad!))
        expectClose(y, xs.map(referenceLogSumExp), rtol: 1e-6)
        expectClose(x.grad!, zip(xs, [1.0, 2, 3, -1]).flatMap { row, c in referenceSoftmax(row).map { $0 * c } })
        // Whole-tensor reduction, and a row of −∞ (log 0) stays −∞ rather than NaN.
        expectClose(matrix(extremeRows).logSumExp(), [1e4 + Foundation.log(3 + Foundation.exp(-1))], rtol: 1e-6)
        #expect(Tensor([-Float.infinity, -.infinity]).logSumExp().scalar == -.infinity)
    }

    @Test func sigmoidAndSoftplusAtExtremes() {
        checkStable("sigmoid", { $0.sigmoid() }, values: { $0.map(referenceSigmoid) }) { x, c in
            zip(x, c).map { referenceSigmoid($0) * (1 - referenceSigmoid($0)) * $1 }
        }
        checkStable("softplus", { $0.softplus() }, values: { x in
            x.map { Swift.max($0, 0) + Foundation.log1p(Foundation.exp(-Swift.abs($0))) }
        }) { x, c in
            zip(x, c).map { referenceSigmoid($0) * $1 }
        }
    }

    @Test func binaryCrossEntropyFromLogitsAtExtremes() {
        // The core's form of BCE with logits: softplus(z) − z·y.
        let z = matrix(extremeRows).requiringGrad()
        let targets = matrix([[1, 0, 0.5], [0, 1, 1], [1, 1, 0], [0.5, 0.5, 1]])
        let loss = (z.softplus() - z * targets).sum()
        loss.backward()
        #expect(loss.scalar.isFinite && allFinite(z.grad!))
        let expectedGrad = zip(extremeRows.joined(), targets.scalars).map { referenceSigmoid(Double($0)) - Double($1) }
        expectClose(z.grad!, expectedGrad)
    }

    @Test func float64MatchesTheSameRules() {
        let tiny = Double.leastNonzeroMagnitude  // 5e-324, the smallest subnormal
        let x = Tensor(shape: [2, 2], scalars: [1e300, -1e300, tiny, -tiny]).requiringGrad()
        let y = x.logSoftmax(axis: 1)
        y.sum().backward()
        #expect(allFinite(y) && allFinite(x.grad!))
        expectClose(x.grad!, [1 - 2 * 1, 1 - 2 * 0, 0, 0], atol: 1e-12)
    }
}

// MARK: - Anomaly mode

@Suite("Reliability: anomaly mode") struct ReliabilityAnomalyTests {
    @Test func offByDefaultAndNonFiniteValuesPassThrough() {
        #expect(!AnomalyMode.isEnabled)
        let x = Tensor([Float(1), 0]).requiringGrad()
        #expect(x.log().scalars == [0, -.infinity])
    }

    @Test func stopsAtTheFirstOpThatProducesInfinityAndNamesIt() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            AnomalyMode.isEnabled = true
            let x = Tensor([Float(1), 0, 2]).requiringGrad()
            let fine = (x * 2).exp()           // finite: no stop
            _ = (fine - 2).log() * 3           // log(e^0 − 2) is NaN at element 1; mul comes later
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("anomaly: log produced nan at element 1 of its output [3]; inputs: [3]"), "\(stderr)")
        #expect(!stderr.contains("anomaly: mul"))
    }

    @Test func stopsInTheBackwardPassAtTheOpWhoseGradientIsNotFinite() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            AnomalyMode.isEnabled = true
            let x = Tensor([Float(0), 4]).requiringGrad()
            let y = (x.sqrt() * 3).sum()      // finite forward; d√x/dx is infinite at 0
            y.backward()
        }
        let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(stderr.contains("anomaly: the backward of sqrt produced inf at element 0 of the gradient [2] for input 0"), "\(stderr)")
        #expect(stderr.contains("inputs: [2]"))
    }
}

// MARK: - Memory: graphs freed

/// What a child process reports about live nodes, one check per line; "FAIL" on a mismatch.
private func reportLiveNodes(_ label: String, expected: Int, baseline: Int) -> Bool {
    let live = GraphDiagnostics.liveNodeCount - baseline
    let line = "\(live == expected ? "ok" : "FAIL") \(label): \(live) live nodes (expected \(expected))\n"
    if live == expected {
        FileHandle.standardOutput.write(Data(line.utf8))
    } else {
        FileHandle.standardError.write(Data(line.utf8))
    }
    return live == expected
}

/// The child process of `liveNodeCountReturnsToBaselineAfterManySteps`: trains, counts live
/// nodes at each stage, and exits with 1 if any count is off.
private func countLiveNodesWhileTraining() -> Never {
    let baseline = GraphDiagnostics.liveNodeCount
    var ok = true
    var w1 = Tensor.randomNormal([4, 8], std: 0.5, seed: 1).requiringGrad()
    var w2 = Tensor.randomNormal([8, 3], std: 0.5, seed: 2).requiringGrad()
    let x = Tensor.randomNormal([16, 4], seed: 3)
    let t = Tensor.randomUniform([16, 3], seed: 4)
    ok = reportLiveNodes("two leaves", expected: 2, baseline: baseline) && ok
    for step in 0..<500 {
        let h = x.matmul(w1).tanh()
        let loss = (h.matmul(w2).softmax(axis: 1) - t).square().mean()
        loss.backward()
        if step == 0 {
            // The loss's node and h's, kept by the variables; the rest of the graph is gone.
            ok = reportLiveNodes("after backward, loss and h still held", expected: 4, baseline: baseline) && ok
        }
        withoutGradients {
            w1.assign(w1.detached() - w1.grad! * 0.1)
            w2.assign(w2.detached() - w2.grad! * 0.1)
        }
        w1.zeroGrad(); w2.zeroGrad()
    }
    ok = reportLiveNodes("after 500 steps", expected: 2, baseline: baseline) && ok

    // retainGraph keeps the graph only as long as the loss lives.
    do {
        let loss = (x.matmul(w1).relu().sum() * 2).log()
        loss.backward(retainGraph: true)
        ok = reportLiveNodes("graph retained", expected: 2 + 5, baseline: baseline) && ok
    }
    w1.zeroGrad()
    ok = reportLiveNodes("retained graph dropped with its loss", expected: 2, baseline: baseline) && ok

    // Second derivatives: the gradients' own graphs go with them.
    do {
        let y = (w1 * w1 * w1).sum()
        let g = gradients(of: y, withRespectTo: [w1], createGraph: true)[0]
        let g2 = gradients(of: g.sum(), withRespectTo: [w1])[0]
        ok = (g2.count == 32) && ok
    }
    ok = reportLiveNodes("after second derivatives", expected: 2, baseline: baseline) && ok
    // backward(createGraph:) stores a gradient with a graph in the leaf; zeroGrad frees it.
    (w2 * w2).sum().backward(createGraph: true)
    w2.zeroGrad()
    ok = reportLiveNodes("after backward(createGraph:) and zeroGrad", expected: 2, baseline: baseline) && ok
    _ = (w1, w2)
    exit(ok ? 0 : 1)
}

@Suite("Reliability: graphs are freed") struct ReliabilityGraphMemoryTests {
    /// In a process of its own (the counter is process-wide): 500 training steps of a small
    /// two-layer network leave only the two weights' leaf nodes; right after backward() only
    /// the nodes of tensors still held by variables remain.
    @Test func liveNodeCountReturnsToBaselineAfterManySteps() async {
        // A count that is off is written to standard error and makes the child exit with 1.
        let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) {
            countLiveNodesWhileTraining()
        }
        let out = String(decoding: result?.standardOutputContent ?? [], as: UTF8.self)
        #expect(out.contains("ok after 500 steps: 2 live nodes"), "\(out)")
        print("Live graph nodes: " + out.split(separator: "\n").joined(separator: "; "))
    }
}

// MARK: - Thread safety

@Suite("Reliability: threads") struct ReliabilityThreadTests {
    @Test func noGradientModeOnOneThreadDoesNotAffectAnother() {
        let insideWithout = DispatchSemaphore(value: 0), otherDone = DispatchSemaphore(value: 0)
        let observations = Shared<[String: Bool]>([:])
        let a = Thread {
            withoutGradients {
                insideWithout.signal()
                otherDone.wait()          // stay inside while the other thread records
                let x = Tensor([Float(1), 2]).requiringGrad()
                observations.update { $0["a records"] = (x * 2).requiresGrad }
            }
        }
        let b = Thread {
            insideWithout.wait()
            let x = Tensor([Float(1), 2]).requiringGrad()
            observations.update {
                $0["b enabled"] = isGradientRecordingEnabled
                $0["b records"] = (x * 2).requiresGrad
            }
            otherDone.signal()
        }
        a.start(); b.start()
        // Wait for both (each writes its observation last).
        while observations.value.count < 3 { usleep(1000) }
        let seen = observations.update { $0 }
        #expect(seen["b enabled"] == true && seen["b records"] == true, "the other thread kept recording")
        #expect(seen["a records"] == false, "inside withoutGradients nothing is recorded")
        #expect(isGradientRecordingEnabled)
    }

    @Test func concurrentInferenceWithSharedWeightsMatchesOneThread() {
        let w = Tensor.randomNormal([32, 64], seed: 11).requiringGrad()
        let b = Tensor.randomNormal([64], seed: 12).requiringGrad()
        let inputs = (0..<8).map { Tensor.randomNormal([16, 32], seed: 100 + UInt64($0)) }
        @Sendable func infer(_ x: Tensor) -> [UInt32] {
            withoutGradients { (x.matmul(w) + b).tanh().logSoftmax(axis: 1).scalars.map(\.bitPattern) }
        }
        let expected = inputs.map(infer)
        let results = Shared<[Int: [[UInt32]]]>([:])
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            var mine: [[UInt32]] = []
            for round in 0..<20 { mine.append(infer(inputs[(t + round) % 8])) }
            results.update { $0[t] = mine }
        }
        let all = results.value
        for t in 0..<8 {
            for round in 0..<20 {
                #expect(all[t]?[round] == expected[(t + round) % 8], "thread \(t) round \(round) differs")
            }
        }
        #expect(w.grad == nil && b.grad == nil)
    }

    @Test func separateGraphsOnSeveralThreadsGiveTheSingleThreadGradients() {
        @Sendable func gradient(seed: UInt64) -> [Float] {
            let x = Tensor.randomNormal([8, 8], seed: seed).requiringGrad()
            (x.matmul(x).sigmoid() * x).logSumExp().backward()
            return x.grad!.scalars
        }
        let expected = (0..<6).map { gradient(seed: UInt64($0)) }
        let results = Shared<[Int: [Float]]>([:])
        DispatchQueue.concurrentPerform(iterations: 6) { i in
            let g = gradient(seed: UInt64(i))
            results.update { $0[i] = g }
        }
        let all = results.value
        for i in 0..<6 { #expect(all[i] == expected[i]) }
    }
}

// MARK: - Messages for the mistakes users make

/// Runs `body` in a child process and checks that it stops with a message containing every
/// fragment on standard error.
private func expectStops(_ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation,
                         _ result: ExitTest.Result?) {
    let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    for fragment in fragments {
        #expect(stderr.contains(fragment), "message lacks \"\(fragment)\": \(stderr.prefix(400))", sourceLocation: sourceLocation)
    }
}

@Suite("Reliability: error messages") struct ReliabilityErrorMessageTests {
    @Test(arguments: ["add", "sub", "mul", "div", "pow", "maximum", "minimum", ".==", ".<", "where"])
    func mismatchedShapesInBinaryOps(op: String) async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { [op = op as String] in
            let a = Tensor.zeros([2, 3]), b = Tensor.ones([4])
            switch op {
            case "add": _ = a + b
            case "sub": _ = a - b
            case "mul": _ = a * b
            case "div": _ = a / b
            case "pow": _ = a.pow(b)
            case "maximum": _ = Tensor.maximum(a, b)
            case "minimum": _ = Tensor.minimum(a, b)
            case ".==": _ = a .== b
            case ".<": _ = a .< b
            default: _ = Tensor.where(a .> 0, a, b)
            }
        }
        expectStops(["\(op): shapes [2, 3] and [4] cannot be broadcast", "sizes must match, or one must be 1"], result)
    }

    @Test func mismatchedShapesInMatmulAndConcat() async {
        let matmul = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]).matmul(Tensor.zeros([4, 5]))
        }
        expectStops(["matmul: [2, 3] × [4, 5]: inner dimensions 3 and 4 differ"], matmul)
        let concat = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.concat([Tensor.zeros([2, 3]), Tensor.zeros([2, 4])], axis: 0)
        }
        expectStops(["concat: tensor 1 has shape [2, 4], tensor 0 has [2, 3]: all dimensions but axis 0 must match"], concat)
    }

    @Test(arguments: ["softmax", "logSoftmax", "sum", "logSumExp", "argmax", "concat"])
    func wrongAxis(op: String) async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { [op = op as String] in
            let x = Tensor.zeros([2, 3])
            switch op {
            case "softmax": _ = x.softmax(axis: 2)
            case "logSoftmax": _ = x.logSoftmax(axis: 2)
            case "sum": _ = x.sum(axes: [2])
            case "logSumExp": _ = x.logSumExp(axes: [2])
            case "argmax": _ = x.argmax(axis: 2)
            default: _ = Tensor.concat([x, x], axis: 2)
            }
        }
        expectStops(["\(op): axis 2 is out of range for a tensor of rank 2 (shape [2, 3]; valid axes: -2…1)"], result)
    }

    @Test func backwardTwiceThroughAFreedGraph() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Tensor([Float(1), 2]).requiringGrad()
            let y = (x * x).sum()
            y.backward()
            y.backward()
        }
        expectStops(["backward: the graph through", "was already freed by an earlier backward()", "retainGraph: true"], result)
    }

    @Test func backwardOfANonScalarWithoutAGradient() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            (Tensor([Float(1), 2]).requiringGrad() * 2).backward()
        }
        expectStops(["backward: tensor of shape [2] is not a scalar"], result)
    }
}

@Suite("Buffer recycling") struct BufferCacheTests {
    @Test func largeBuffersAreReusedBySize() {
        // Sizes no other test uses (blocks are recycled per page-rounded size, process-wide).
        let count = 123_457, other = 234_567
        var first: Tensor? = Tensor.zeros([count])
        let address = first!.storage.base
        first = nil
        let second = Tensor.zeros([count])
        #expect(second.storage.base == address, "a freed block of the same size is handed out again")
        let third = Tensor.zeros([count])
        #expect(third.storage.base != address, "a block in use is never handed out twice")
        var big: Tensor? = Tensor.ones([other])
        let bigAddress = big!.storage.base
        big = nil
        let reused = Tensor.full([other], value: 2)
        #expect(reused.storage.base == bigAddress)
        #expect(reused.scalars(as: Float.self).allSatisfy { $0 == 2 } && second.scalars(as: Float.self).allSatisfy { $0 == 0 })
    }

    @Test func manySizesKeepRecyclingWorking() {
        // More distinct sizes than the cache keeps entries for while all their blocks are in
        // use: entries get pruned, and reuse still works afterwards.
        var held: [Tensor] = []
        for i in 0..<100 { held.append(Tensor.zeros([40_000 + 1024 * i])) }
        held.removeAll()
        let count = 345_679
        var t: Tensor? = Tensor.ones([count])
        let address = t!.storage.base
        t = nil
        let again = Tensor.full([count], value: 3)
        #expect(again.storage.base == address)
        #expect(again.scalars(as: Float.self).allSatisfy { $0 == 3 })
    }
}
