import ExampleSupport
import Testing

@Suite("Predictions files and the ensemble vote")
struct PredictionsTests {
    @Test func textRoundTripsWithComments() throws {
        let predictions = [7, 2, 1, 0, 4, 9]
        let text = PredictionsFile.text(predictions, comments: ["model conv2-dropout, epoch 40", "test accuracy 99.50 %"])
        #expect(text.hasPrefix("# model conv2-dropout, epoch 40\n# test accuracy 99.50 %\n7\n2\n"))
        #expect(try PredictionsFile.parse(text, path: "p.txt", count: 6, classes: 10) == predictions)
    }

    @Test func parseSkipsBlankLinesSpacesAndCarriageReturns() throws {
        let text = "# header\r\n3\r\n\r\n  5 \r\n\t8\n"
        #expect(try PredictionsFile.parse(text, path: "p.txt", count: 3, classes: 10) == [3, 5, 8])
    }

    @Test func wrongCountNamesTheFileAndBothCounts() {
        let error = #expect(throws: PredictionsFile.FormatError.self) {
            try PredictionsFile.parse("1\n2\n", path: "runs/a.txt", count: 3, classes: 10)
        }
        #expect(error?.description == "runs/a.txt holds 2 predictions, but the test set has 3 images")
    }

    @Test(arguments: ["1\nseven\n2\n", "1\n10\n2\n", "1\n-1\n2\n", "1\n2.0\n2\n"])
    func badLineNamesTheFileAndLine(text: String) {
        let error = #expect(throws: PredictionsFile.FormatError.self) {
            try PredictionsFile.parse(text, path: "b.txt", count: 3, classes: 10)
        }
        #expect(error?.description.hasPrefix("b.txt, line 2: expected a class from 0 to 9, found") == true)
    }

    @Test func voteTakesTheMajorityAndBreaksTiesTowardTheSmallerClass() {
        let models = [[1, 4, 9, 0, 6],
                      [1, 5, 8, 2, 6],
                      [3, 5, 9, 1, 6],
                      [3, 4, 7, 2, 5]]
        // Example 0: 1 and 3 tie (2 votes each) → 1; 1: 4 and 5 tie → 4; 2: 9 wins;
        // 3: 2 wins with two votes; 4: 6 wins.
        #expect(majorityVote(models, classes: 10) == [1, 4, 9, 2, 6])
        #expect(majorityVote([[2, 7]], classes: 10) == [2, 7])
        #expect(majorityVote([], classes: 10) == [])
    }
}
