import Testing
@testable import Nabla

/// 0, 1, …, 23 in shape [2, 3, 4]: element [i, j, k] is 12i + 4j + k, so expected values
/// can be read off by hand.
private let cube = Tensor.arange(0, 24).reshaped(2, 3, 4)

@Suite struct IndexingOpsTests {
    // MARK: forward values

    @Test func sliceWithStepsAndNegativeBounds() {
        let odd = cube.slice(axis: 2, start: 1, step: 2)
        #expect(odd.shape == [2, 3, 2])
        expectClose(odd, [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23])

        let middle = cube.slice(axis: -1, start: -3, end: -1)
        expectClose(middle, [1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22], shape: [2, 3, 2])

        let rows = cube.slice(axis: 1, start: 0, end: 3, step: 2)
        expectClose(rows, [0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 20, 21, 22, 23], shape: [2, 2, 4])

        // NumPy clamps bounds past the ends instead of failing.
        #expect(cube.slice(axis: 0, start: 5, end: 10).shape == [0, 3, 4])
        expectClose(cube.slice(axis: 1, start: -10, end: 100), cube)
        #expect(cube.slice(axis: 0, start: 1, end: 0).shape == [0, 3, 4])
        // The adjoint puts elements back at their strided places among zeros.
        expectClose(Tensor([1, 2] as [Float]).sliceBackward(into: [5], starts: [1], steps: [2]), [0, 1, 0, 2, 0])
        expectClose(odd.sliceBackward(into: [2, 3, 4], starts: [0, 0, 1], steps: [1, 1, 2]),
                    cube * Tensor([0, 1, 0, 1] as [Float]))
        // A step longer than the axis keeps only the first position.
        expectClose(cube.slice(axis: 2, step: 7), [0, 4, 8, 12, 16, 20], shape: [2, 3, 1])
    }

    @Test func subscriptIndexesRangesEllipsisAndNewAxis() {
        let plane = cube[1]
        #expect(plane.shape == [3, 4])
        expectClose(plane, (12..<24).map(Double.init), shape: [3, 4])

        expectClose(cube[0..<1, .ellipsis, 1...], [1, 2, 3, 5, 6, 7, 9, 10, 11], shape: [1, 3, 3])
        expectClose(cube[.all, .slice(step: 2), -1], [3, 11, 15, 23], shape: [2, 2])
        expectClose(cube[-1, 1], [16, 17, 18, 19], shape: [4])
        expectClose(cube[0, 1...2], [4, 5, 6, 7, 8, 9, 10, 11], shape: [2, 4])
        expectClose(cube[1, ..<1, ...1], [12, 13], shape: [1, 2])
        expectClose(cube[0, 2, -3...(-1)], [9, 10, 11], shape: [3])
        // `...` is NumPy's ellipsis, in first or second place.
        expectClose(cube[..., 0], [0, 4, 8, 12, 16, 20], shape: [2, 3])
        expectClose(cube[1, ..., 0..<2], [12, 13, 16, 17, 20, 21], shape: [3, 2])
        expectClose(cube[0, ...], cube[0])
        #expect(cube[.newAxis, 0].shape == [1, 3, 4])
        #expect(cube[.ellipsis, .newAxis].shape == [2, 3, 4, 1])
        expectClose(cube[1, 2, 3].reshaped([1]), [23])
        #expect(cube[1, 2, 3].shape == [])
        // A list of items works like the variadic form.
        expectClose(cube[[SliceRange.index(0), .slice(start: 1, end: 2)]], [4, 5, 6, 7], shape: [1, 4])
    }

    @Test func concatAlongEachAxis() {
        let a = Tensor([[1, 2], [3, 4]] as [[Float]])
        let b = Tensor([[5], [6]] as [[Float]])
        let c = Tensor([[7, 8]] as [[Float]])
        expectClose(Tensor.concat([a, b], axis: 1), [1, 2, 5, 3, 4, 6], shape: [2, 3])
        expectClose(Tensor.concat([a, b], axis: -1), [1, 2, 5, 3, 4, 6], shape: [2, 3])
        expectClose(Tensor.concat([a, c, c], axis: 0), [1, 2, 3, 4, 7, 8, 7, 8], shape: [4, 2])
        // Empty parts take no room.
        expectClose(Tensor.concat([a, Tensor.zeros([0, 2])], axis: 0), a)
        // Middle axis of a rank-3 tensor.
        let joined = Tensor.concat([cube, cube.slice(axis: 1, start: 2)], axis: 1)
        #expect(joined.shape == [2, 4, 4])
        expectClose(joined.slice(axis: 1, start: 3), [8, 9, 10, 11, 20, 21, 22, 23], shape: [2, 1, 4])
    }

    @Test func stackAndSplit() {
        let p = Tensor([1, 2] as [Float]), q = Tensor([3, 4] as [Float])
        expectClose(Tensor.stack([p, q]), [1, 2, 3, 4], shape: [2, 2])
        expectClose(Tensor.stack([p, q], axis: 1), [1, 3, 2, 4], shape: [2, 2])
        expectClose(Tensor.stack([p, q], axis: -1), [1, 3, 2, 4], shape: [2, 2])

        let m = Tensor.arange(0, 6).reshaped(2, 3)
        let parts = m.split(sizes: [1, 2], axis: 1)
        #expect(parts.count == 2)
        expectClose(parts[0], [0, 3], shape: [2, 1])
        expectClose(parts[1], [1, 2, 4, 5], shape: [2, 2])
        let halves = m.split(count: 2, axis: 0)
        expectClose(halves[0], [0, 1, 2], shape: [1, 3])
        expectClose(halves[1], [3, 4, 5], shape: [1, 3])
        // Splitting then concatenating gives the tensor back.
        expectClose(Tensor.concat(cube.split(sizes: [1, 0, 3], axis: -1), axis: -1), cube)
    }

    @Test func paddingWithAConstant() {
        let a = Tensor([[1, 2], [3, 4]] as [[Float]])
        expectClose(a.padded([(1, 0), (0, 2)], value: 9), [9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9], shape: [3, 4])
        expectClose(Tensor([5] as [Float]).padded([(2, 1)]), [0, 0, 5, 0])
        expectClose(a.padded([(0, 0), (0, 0)]), a)
    }

    @Test func gatherAndScatterAdd() {
        let x = Tensor([[1, 2], [3, 4]] as [[Float]])
        // The torch.gather documentation's example.
        expectClose(x.gathered(indices: Tensor([[0, 0], [1, 0]] as [[Float]]), axis: 1), [1, 1, 4, 3], shape: [2, 2])
        expectClose(x.gathered(indices: Tensor([[0, 1], [1, 0]] as [[Float]]), axis: 0), [1, 4, 3, 2], shape: [2, 2])
        // Indices smaller than the input on the other axis; float64 indices on float32 data.
        let m = Tensor.arange(0, 9).reshaped(3, 3)
        let idx = Tensor(shape: [1, 2], scalars: [2, 0] as [Double])
        expectClose(m.gathered(indices: idx, axis: 1), [2, 0], shape: [1, 2])
        expectClose(m.gathered(indices: idx, axis: -1), [2, 0], shape: [1, 2])

        let source = Tensor([[1, 2, 3], [4, 5, 6]] as [[Float]])
        let where_ = Tensor([[0, 1, 0], [1, 0, 1]] as [[Float]])
        expectClose(Tensor.zeros([2, 3]).scatterAdding(source, indices: where_, axis: 0), [1, 5, 3, 4, 2, 6], shape: [2, 3])
        // Repeated indices accumulate, and the target's own values are kept.
        let base = Tensor([10, 20, 30] as [Float])
        expectClose(base.scatterAdding(Tensor([1, 2, 3] as [Float]), indices: Tensor([0, 0, 2] as [Float]), axis: 0),
                    [13, 20, 33])
    }

    @Test func indexSelectAndIndexAdd() {
        let m = Tensor.arange(0, 6).reshaped(2, 3)
        expectClose(m.indexSelect(indices: [2, 0, 2], axis: 1), [2, 0, 2, 5, 3, 5], shape: [2, 3])
        expectClose(m.indexSelect(indices: [1], axis: 0), [3, 4, 5], shape: [1, 3])
        expectClose(m.indexSelect(indices: Tensor([1, 1] as [Float]), axis: -2), [3, 4, 5, 3, 4, 5], shape: [2, 3])
        #expect(m.indexSelect(indices: [], axis: 1).shape == [2, 0])

        expectClose(Tensor.zeros([2, 3]).indexAdding(Tensor.ones([2, 2]), indices: [1, 1], axis: 1),
                    [0, 2, 0, 0, 2, 0], shape: [2, 3])
        expectClose(m.indexAdding(Tensor([[10, 20, 30]] as [[Float]]), indices: [0], axis: 0),
                    [10, 21, 32, 3, 4, 5], shape: [2, 3])
    }

    @Test func oneHotEncodings() {
        expectClose(Tensor.oneHot([2, 0], classes: 3), [0, 0, 1, 1, 0, 0], shape: [2, 3])
        let fromTensor = Tensor.oneHot(Tensor(shape: [2, 1], scalars: [1, 0] as [Float]), classes: 2, dtype: .float64)
        #expect(fromTensor.dtype == .float64)
        expectClose(fromTensor, [0, 1, 1, 0], shape: [2, 1, 2])
        #expect(Tensor.oneHot([Int](), classes: 4).shape == [0, 4])
        // Labels from argmax round-trip.
        let logits = Tensor([[0.1, 0.7, 0.2], [0.9, 0.05, 0.05]] as [[Float]])
        expectClose(Tensor.oneHot(logits.argmax(axis: 1), classes: 3), [0, 1, 0, 1, 0, 0], shape: [2, 3])
    }

    @Test func dropoutScalesKeptElements() {
        let x = Tensor([1, 2, 3, 4] as [Float])
        expectClose(x.dropout(mask: Tensor([1, 0, 1, 0] as [Float]), keepProbability: 0.5), [2, 0, 6, 0])
        // A broadcast mask drops whole columns; a float64 mask on float32 data is converted.
        let m = Tensor([[1, 2], [3, 4]] as [[Float]])
        let out = m.dropout(mask: Tensor([0, 1] as [Double]), keepProbability: 0.8)
        #expect(out.dtype == .float32)
        expectClose(out, [0, 2.5, 0, 5], shape: [2, 2])
        expectClose(x.dropout(mask: Tensor.ones([4]), keepProbability: 1), x)
    }

    @Test func dropoutMaskIsBernoulliAndSeeded() {
        var g = RandomGenerator(seed: 7)
        let mask = Tensor.dropoutMask(shape: [100, 100], keepProbability: 0.8, using: &g)
        let values = mask.scalars
        #expect(values.allSatisfy { $0 == 0 || $0 == 1 })
        let kept = Double(values.reduce(0, +)) / Double(values.count)
        #expect(abs(kept - 0.8) < 0.02, "kept fraction \(kept)")

        var again = RandomGenerator(seed: 7)
        #expect(Tensor.dropoutMask(shape: [100, 100], keepProbability: 0.8, using: &again).scalars == values)
        #expect(g == again)
        #expect(Tensor.dropoutMask(shape: [5], keepProbability: 0, using: &g).scalars == [0, 0, 0, 0, 0])
        let ones = Tensor.dropoutMask(shape: [5], keepProbability: 1, dtype: .float64, using: &g)
        #expect(ones.dtype == .float64 && ones.scalars == [1, 1, 1, 1, 1])
    }

    @Test func opsRecordTheirNames() {
        let x = Tensor.arange(0, 6, dtype: .float64).reshaped(2, 3).requiringGrad()
        let idx = Tensor([[0, 2]] as [[Double]])
        var seen: [String?] = [
            x.slice(axis: 1, start: 1).gradientOp,
            x.slice(axis: 1, start: 1).sliceBackward(into: [2, 3], starts: [0, 1], steps: [1, 1]).gradientOp,
            x.padded([(1, 1), (0, 0)]).gradientOp,
            Tensor.concat([x, x], axis: 0).gradientOp,
            x.gathered(indices: idx, axis: 1).gradientOp,
            x.scatterAdding(x.slice(axis: 0, end: 1).slice(axis: 1, end: 2), indices: idx, axis: 1).gradientOp,
            x.indexSelect(indices: [0], axis: 0).gradientOp,
            x.indexAdding(x, indices: [1, 0], axis: 0).gradientOp,
            x.dropout(mask: Tensor.ones([2, 3], dtype: .float64), keepProbability: 0.5).gradientOp,
        ]
        #expect(seen.map { $0 ?? "nil" } == Tensor.indexingOpNames)
        seen = [Tensor.stack([x, x]).gradientOp, x.split(count: 3, axis: 1)[2].gradientOp, x[0].gradientOp]
        #expect(seen == ["concat", "slice", "reshape"])
    }

    // MARK: gradients

    @Test func fanOutSlicesOfOneTensorSumTheirGradients() {
        let x = Tensor([1, 2, 3] as [Float]).requiringGrad()
        let y = Tensor.concat([x[0..<2], x[1...]], axis: 0)
        expectClose(y, [1, 2, 2, 3])
        (y * Tensor([1, 10, 100, 1000] as [Float])).sum().backward()
        expectClose(x.grad!, [1, 110, 1000])

        expectGradientsCorrect([randn([2, 4], seed: 1)]) { xs in
            let x = xs[0]
            return Tensor.concat([x.slice(axis: 1, start: 0, end: 3), x.slice(axis: 1, start: -2, step: 1), x], axis: 1)
        }
    }

    @Test func sliceAndSubscriptGradients() {
        expectGradientsCorrect([randn([3, 5], seed: 2)]) { xs in
            xs[0].slice(axis: 1, start: -4, step: 2) * xs[0].slice(axis: 1, start: 0, end: 2)
        }
        expectGradientsCorrect([randn([2, 3, 4], seed: 3)]) { xs in
            xs[0][1, .ellipsis, .slice(start: 1, step: 2)].square()
        }
        expectGradientsCorrect([randn([2, 3], seed: 4)]) { xs in
            xs[0].slice(axis: 0, start: 1).sliceBackward(into: [3, 5], starts: [1, 0], steps: [1, 2])
        }
    }

    @Test func joiningGradients() {
        expectGradientsCorrect([randn([2, 2], seed: 5), randn([2, 3], seed: 6)]) { xs in
            Tensor.concat([xs[0], xs[1].square(), xs[0]], axis: 1)
        }
        expectGradientsCorrect([randn([3], seed: 7), randn([3], seed: 8)]) { xs in
            Tensor.stack([xs[0], xs[1] * xs[0]], axis: 1)
        }
        // Only two of three pieces are used: the unused middle gets zero gradient.
        expectGradientsCorrect([randn([2, 5], seed: 9)]) { xs in
            let parts = xs[0].split(sizes: [2, 1, 2], axis: 1)
            return parts[0] * parts[2]
        }
        expectGradientsCorrect([randn([4, 2], seed: 10)]) { xs in
            let parts = xs[0].split(count: 2, axis: 0)
            return parts[1] - parts[0].square()
        }
        expectGradientsCorrect([randn([2, 3], seed: 11)]) { xs in
            xs[0].padded([(1, 2), (0, 1)], value: -1).square()
        }
    }

    @Test func gatherAndIndexSelectGradients() {
        // Repeated indices: the same element receives several gradients.
        let idx = Tensor([[0, 0, 2], [1, 2, 1]] as [[Float]])
        expectGradientsCorrect([randn([2, 3], seed: 12)]) { xs in xs[0].gathered(indices: idx, axis: 1).square() }
        let rowIdx = Tensor([[1, 1], [0, 1]] as [[Float]])
        expectGradientsCorrect([randn([3, 2], seed: 13)]) { xs in xs[0].gathered(indices: rowIdx, axis: 0) }
        expectGradientsCorrect([randn([2, 3], seed: 14), randn([2, 3], seed: 15)]) { xs in
            xs[0].scatterAdding(xs[1].square(), indices: idx, axis: 1)
        }
        expectGradientsCorrect([randn([2, 3], seed: 16)]) { xs in
            xs[0].indexSelect(indices: [2, 0, 2], axis: 1) * 3
        }
        expectGradientsCorrect([randn([3, 2], seed: 17), randn([2, 2], seed: 18)]) { xs in
            xs[0].indexAdding(xs[1] * xs[1], indices: [2, 2], axis: 0)
        }
    }

    @Test func dropoutGradient() {
        let mask = Tensor([[1, 0, 1], [0, 1, 1]] as [[Float]])
        expectGradientsCorrect([randn([2, 3], seed: 19)]) { xs in xs[0].dropout(mask: mask, keepProbability: 0.7) }
        let x = Tensor([1, 2] as [Float]).requiringGrad()
        x.dropout(mask: Tensor([0, 1] as [Float]), keepProbability: 0.25).sum().backward()
        expectClose(x.grad!, [0, 4])
    }

    @Test func secondOrderGradients() {
        expectSecondOrderCorrect([randn([2, 4], seed: 20)]) { xs in
            xs[0].slice(axis: 1, start: 1, step: 2).square()
        }
        expectSecondOrderCorrect([randn([2, 2], seed: 21), randn([2, 2], seed: 22)]) { xs in
            Tensor.concat([xs[0] * xs[1], xs[0].square()], axis: 0).sum(axis: 1)
        }
        expectSecondOrderCorrect([randn([2, 3], seed: 23)]) { xs in
            xs[0].padded([(0, 1), (1, 0)]).square().gathered(indices: Tensor([[1, 3]] as [[Float]]), axis: 1)
        }
        expectSecondOrderCorrect([randn([3, 2], seed: 24)]) { xs in
            xs[0].indexSelect(indices: [0, 2], axis: 0).square()
                .dropout(mask: Tensor([1, 0] as [Float]), keepProbability: 0.5)
        }
    }

    // MARK: bad input stops with a message

    /// The standard error of an exit test, to check that the message names the op and values.
    private func message(_ result: ExitTest.Result?) -> String {
        String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    }

    @Test func dropoutWithANonBinaryMaskFails() async {
        let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([3]).dropout(mask: Tensor([1, 0.5, 0] as [Float]), keepProbability: 0.5)
        }
        #expect(message(r).contains("dropout: mask must hold only 0 and 1, found 0.5"))
        // A float64 value that would round to 1 as a Float is still named, not lost.
        let r64 = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2], dtype: .float64).dropout(mask: Tensor([1, 1 + 1e-12] as [Double]), keepProbability: 0.5)
        }
        #expect(message(r64).contains("dropout: mask must hold only 0 and 1, found 1.000000000001"))
    }

    @Test func sliceOnAMissingAxisFails() async {
        let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]).slice(axis: 5, start: 0, end: 1)
        }
        #expect(message(r).contains("slice: axis 5 is out of range for a tensor of rank 2"))
    }

    @Test func sliceWithZeroStepFails() async {
        let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]).slice(axis: 0, step: 0)
        }
        #expect(message(r).contains("slice: step must be > 0, got 0"))
    }

    @Test func gatherWithOutOfRangeIndexFails() async {
        let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]).gathered(indices: Tensor([[0, 3]] as [[Float]]), axis: 1)
        }
        #expect(message(r).contains("gather: index 3 at position [0, 1] of indices is out of range for axis 1 of size 3"))
    }

    @Test func concatWithMismatchedShapesFails() async {
        let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.concat([Tensor.zeros([2, 3]), Tensor.zeros([3, 3])], axis: 1)
        }
        #expect(message(r).contains("concat: tensor 1 has shape [3, 3], tensor 0 has [2, 3]"))
    }

    @Test func oneHotWithOutOfRangeLabelFails() async {
        let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.oneHot([0, 3], classes: 3)
        }
        #expect(message(r).contains("oneHot: label 3 at position 1 is out of range for 3 classes"))
    }

    @Test func subscriptIndexOutOfRangeFails() async {
        let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3])[0, -4]
        }
        #expect(message(r).contains("subscript: index -4 is out of range for axis 1 of size 3"))
    }
}
