/// A model's predicted classes for a test set, kept as text so that an ensemble can vote
/// over runs that were trained at different times (or on different machines) without
/// keeping their weights: `mnist predict MODEL --output FILE` writes one, `mnist ensemble`
/// reads them next to saved models.
///
/// The format: lines starting with `#` are comments (what model, which epoch, its accuracy);
/// every other non-blank line holds one class index, in the order of the test set.
///
/// ```text
/// # mnist predictions: conv2-dropout, epoch 40, seed 3
/// 7
/// 2
/// 1
/// ```
public enum PredictionsFile {
    /// Why a predictions file cannot be used, naming the file and the line.
    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The text of a predictions file: each comment on its own `#` line, then one class per line.
    public static func text(_ predictions: [Int], comments: [String] = []) -> String {
        var out = comments.map { "# " + $0 + "\n" }.joined()
        out.reserveCapacity(out.utf8.count + 2 * predictions.count)
        for p in predictions { out += String(p) + "\n" }
        return out
    }

    /// The classes in `text`, which must hold exactly `count` of them, each in `0..<classes`;
    /// `path` names the file in errors.
    public static func parse(_ text: String, path: String, count: Int, classes: Int) throws -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(count)
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let item = line.trimmingASCIISpaces()
            if item.isEmpty || item.hasPrefix("#") { continue }
            guard let c = Int(item), (0..<classes).contains(c) else {
                throw FormatError(description: "\(path), line \(index + 1): expected a class from 0 to \(classes - 1), found '\(item.prefix(40))'")
            }
            result.append(c)
        }
        guard result.count == count else {
            throw FormatError(description: "\(path) holds \(result.count) predictions, but the test set has \(count) images")
        }
        return result
    }
}

/// The class with the most votes for each example, ties going to the smaller class:
/// `predictions[m][i]` is model `m`'s class for example `i`. All models must cover the
/// same examples.
public func majorityVote(_ predictions: [[Int]], classes: Int) -> [Int] {
    precondition(classes > 0, "majorityVote: there must be at least one class")
    guard let count = predictions.first?.count else { return [] }
    precondition(predictions.allSatisfy { $0.count == count }, "majorityVote: the models cover different numbers of examples")
    var votes = [Int](repeating: 0, count: classes)
    return (0..<count).map { i in
        for c in 0..<classes { votes[c] = 0 }
        for model in predictions { votes[model[i]] += 1 }
        var best = 0
        for c in 1..<classes where votes[c] > votes[best] { best = c }
        return best
    }
}

private extension Substring {
    /// The line without leading and trailing spaces and tabs.
    func trimmingASCIISpaces() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }) else { return self[endIndex...] }
        let end = lastIndex(where: { !isSpace($0) })!
        return self[start...end]
    }
}
