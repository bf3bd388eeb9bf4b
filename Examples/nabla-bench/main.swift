// nabla-bench: Nabla's speed on the workloads of ../shared/bench, for comparison with PyTorch
// and NumPy measured in the same sitting.
//
//   swift run -c release nabla-bench [WORKLOAD…] [--epochs N] [--threads N] [--seed N] [--json]
//
// Workloads: sgemm, overhead, conv_step, nielsen_mlp, ce_mlp, lenet_b10, lenet_b64, bn_cnn (default: all).
import ExampleSupport
import Foundation
import Nabla

struct Options {
    var workloads: [String] = []
    var epochs = 1
    var threads: Int? = nil
    var json = false
    var data: String? = nil
    /// The training workloads start from the weights, and visit the examples in the
    /// orders, that the PyTorch reference script draws with the same --seed; nil means 0,
    /// the scripts' default.
    var seed: UInt64? = nil
}

let allWorkloads = ["sgemm", "overhead", "conv_step"] + trainingWorkloadNames

func usage(_ error: String?) -> Never {
    let text = """
    usage: nabla-bench [WORKLOAD…] [--epochs N] [--threads N] [--seed N] [--data DIR] [--json]
      workloads: \(allWorkloads.joined(separator: ", ")) (default: all)
      --epochs N   epochs per training workload (default 1)
      --threads N  threads for the kernels (default: NABLA_THREADS or all cores);
                   sgemm always measures 1 and 2 threads
      --seed N     the training workloads start from the weights and shuffle as the
                   PyTorch reference script does with --seed N (default 0, as there)
      --data DIR   folder of MNIST IDX files (default: the bundled data)
      --json       one JSON object per line
    """
    if let error {
        printError("nabla-bench: \(error)\n\(text)")
        exit(2)
    }
    print(text)
    exit(0)
}

func parse() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst()
    func int(_ flag: String) -> Int {
        guard let v = args.popFirst(), let n = Int(v), n > 0 else { usage("\(flag) needs a positive integer") }
        return n
    }
    while let a = args.popFirst() {
        switch a {
        case "--epochs": o.epochs = int(a)
        case "--threads": o.threads = int(a)
        case "--json": o.json = true
        case "--seed":
            guard let v = args.popFirst(), let n = UInt64(v) else { usage("--seed needs a non-negative integer") }
            o.seed = n
        case "--data":
            guard let d = args.popFirst() else { usage("--data needs a folder") }
            o.data = d
        case "-h", "--help": usage(nil)
        default:
            guard allWorkloads.contains(a) else { usage("unknown workload or flag '\(a)'") }
            o.workloads.append(a)
        }
    }
    if o.workloads.isEmpty { o.workloads = allWorkloads }
    return o
}

let options = parse()
if let t = options.threads { Threading.threadCount = t }
for workload in options.workloads {
    switch workload {
    case "sgemm": benchSGEMM(json: options.json)
    case "overhead": benchOverhead(json: options.json)
    case "conv_step": benchConvStep(json: options.json)
    default: benchTraining(workload, options: options)
    }
}
