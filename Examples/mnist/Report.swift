import Foundation

/// One epoch's numbers, as printed and plotted.
struct EpochRecord {
    var epoch: Int
    var trainLoss: Double
    var trainAccuracy: Double
    var validationAccuracy: Double?
    var testAccuracy: Double
    var seconds: Double
}

/// The per-epoch line a person reads.
func epochLine(_ r: EpochRecord, of total: Int) -> String {
    var s = String(format: "epoch %*d/%d  loss %.4f  train %6.2f%%", String(total).count, r.epoch, total,
                   r.trainLoss, 100 * r.trainAccuracy)
    if let v = r.validationAccuracy { s += String(format: "  validation %6.2f%%", 100 * v) }
    s += String(format: "  test %6.2f%%  %.1f s", 100 * r.testAccuracy, r.seconds)
    return s
}

/// A 10×10 table: rows are the true digits, columns the predicted ones.
func confusionMatrix(predicted: [Int], labels: [Int], classes: Int = 10) -> String {
    var counts = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
    for (p, l) in zip(predicted, labels) where p < classes && l < classes { counts[l][p] += 1 }
    let width = max(5, String(counts.joined().max() ?? 0).count + 1)
    func cell(_ s: String) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
    var lines = ["confusion matrix (rows: true digit, columns: predicted)",
                 "     " + (0..<classes).map { cell(String($0)) }.joined()]
    for (digit, row) in counts.enumerated() {
        let correct = row[digit], total = row.reduce(0, +)
        lines.append(cell(String(digit)) + row.map { cell(String($0)) }.joined()
                     + String(format: "   %6.2f%%", total == 0 ? 0 : 100 * Double(correct) / Double(total)))
    }
    return lines.joined(separator: "\n")
}

/// An SVG with two panels: training loss, and accuracies (train, validation, test) per epoch.
func plotSVG(_ records: [EpochRecord], title: String) -> String {
    let width = 900.0, height = 380.0, panel = 400.0, top = 40.0, plotHeight = 280.0
    var svg = """
    <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
    <rect width="100%" height="100%" fill="white"/>
    <text x="\(width / 2)" y="20" text-anchor="middle" font-size="15">\(escape(title))</text>

    """
    func panelSVG(x0: Double, name: String, series: [(String, String, [Double])], percent: Bool) -> String {
        let values = series.flatMap { $0.2 }.filter { $0.isFinite }
        guard !values.isEmpty else { return "" }
        var lo = values.min()!, hi = values.max()!
        if hi - lo < 1e-9 { hi += 0.5; lo -= 0.5 }
        let pad = (hi - lo) * 0.05
        lo -= pad; hi += pad
        let n = max(records.count, 2)
        let left = x0 + 60, right = x0 + panel
        func px(_ i: Int) -> Double { left + (right - left) * Double(i) / Double(n - 1) }
        func py(_ v: Double) -> Double { top + plotHeight * (1 - (v - lo) / (hi - lo)) }
        var s = "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(right - left)\" height=\"\(plotHeight)\" fill=\"none\" stroke=\"#888\"/>\n"
        s += "<text x=\"\((left + right) / 2)\" y=\"\(top + plotHeight + 32)\" text-anchor=\"middle\">epoch</text>\n"
        s += "<text x=\"\(left)\" y=\"\(top - 6)\">\(escape(name))</text>\n"
        for k in 0...4 {
            let v = lo + (hi - lo) * Double(k) / 4
            let label = percent ? String(format: "%.1f%%", 100 * v) : String(format: "%.3g", v)
            s += "<text x=\"\(left - 6)\" y=\"\(py(v) + 4)\" text-anchor=\"end\">\(label)</text>\n"
            s += "<line x1=\"\(left)\" x2=\"\(right)\" y1=\"\(py(v))\" y2=\"\(py(v))\" stroke=\"#eee\"/>\n"
        }
        for (i, r) in records.enumerated() where records.count <= 12 || i % max(1, records.count / 10) == 0 {
            s += "<text x=\"\(px(i))\" y=\"\(top + plotHeight + 16)\" text-anchor=\"middle\">\(r.epoch)</text>\n"
        }
        for (k, (label, color, ys)) in series.enumerated() {
            let points = ys.enumerated().filter { $0.element.isFinite }
                .map { String(format: "%.1f,%.1f", px($0.offset), py($0.element)) }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points)\"/>\n"
            s += "<text x=\"\(right - 100)\" y=\"\(top + 18 + 16 * Double(k))\" fill=\"\(color)\">\(escape(label))</text>\n"
        }
        return s
    }
    svg += panelSVG(x0: 0, name: "training loss", series: [("loss", "#1f77b4", records.map(\.trainLoss))], percent: false)
    var accuracy: [(String, String, [Double])] = [("train", "#ff7f0e", records.map(\.trainAccuracy))]
    if records.contains(where: { $0.validationAccuracy != nil }) {
        accuracy.append(("validation", "#2ca02c", records.map { $0.validationAccuracy ?? .nan }))
    }
    accuracy.append(("test", "#d62728", records.map(\.testAccuracy)))
    svg += panelSVG(x0: 460, name: "accuracy", series: accuracy, percent: true)
    return svg + "</svg>\n"
}

private func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
}
