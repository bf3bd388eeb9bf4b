// gradcheck: checks the backward pass of every built-in op against central differences in
// float64, on random shapes (broadcasting, fan-out and batched cases included), and prints
// a table, or one JSON object per line with --json. Exit status 0 only if every check passes.
//
//   swift run -c release gradcheck [--json] [--filter NAME]
import Foundation
import Nabla

var json = false
var filter: String? = nil
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--json": json = true
    case "--filter":
        guard let f = args.popFirst() else { usage("--filter needs an op name") }
        filter = f
    case "-h", "--help": usage(nil)
    default: usage("unknown argument '\(a)'")
    }
}

func usage(_ error: String?) -> Never {
    let text = """
    usage: gradcheck [--json] [--filter NAME]
      --json         one JSON object per check instead of a table
      --filter NAME  only the checks whose op name contains NAME
    """
    if let error {
        FileHandle.standardError.write(Data("gradcheck: \(error)\n\(text)\n".utf8))
        exit(2)
    }
    print(text)
    exit(0)
}

var results: [(GradientCase, GradientCheckResult)] = []
for c in allCases() where filter.map({ c.op.contains($0) }) ?? true {
    let r = c.secondOrder ? checkSecondOrderGradients(at: c.inputs, eps: c.eps, c.function)
                          : checkGradients(at: c.inputs, eps: c.eps, c.function)
    results.append((c, r))
    if json {
        let object: [String: Any] = [
            "op": c.op, "shapes": c.shapes, "order": c.secondOrder ? 2 : 1,
            "max_abs_error": r.maxAbsoluteError, "max_rel_error": r.maxRelativeError,
            "derivatives": r.comparedCount, "passed": r.passed,
        ]
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}

let failed = results.filter { !$0.1.passed }
if !json {
    let opWidth = max(10, results.map { $0.0.op.count + ($0.0.secondOrder ? 4 : 0) }.max() ?? 0)
    let shapeWidth = max(6, results.map { $0.0.shapes.count }.max() ?? 0)
    func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
    func sci(_ v: Double) -> String { String(format: "%.2e", v) }
    print("\(pad("op", opWidth))  \(pad("shapes", shapeWidth))  max abs err  max rel err  result")
    print(String(repeating: "-", count: opWidth + shapeWidth + 36))
    for (c, r) in results {
        let name = c.secondOrder ? "\(c.op) (2nd)" : c.op
        print("\(pad(name, opWidth))  \(pad(c.shapes, shapeWidth))  \(pad(sci(r.maxAbsoluteError), 11))  \(pad(sci(r.maxRelativeError), 11))  \(r.passed ? "pass" : "FAIL")")
    }
    print("\n\(results.count - failed.count) passed, \(failed.count) failed")
    for (c, r) in failed { print("\n\(c.op) \(c.shapes):\n\(r)") }
}
exit(failed.isEmpty ? 0 : 1)
