import Foundation

/// Measurements of this process that the example programs report.
public enum ProcessStats {
    /// The peak resident set size so far, in MB (`ru_maxrss`).
    public static var peakResidentMB: Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// The current resident set size, in MB (from /proc/self/statm).
    public static var currentResidentMB: Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count >= 2, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }
}

/// Seconds on a monotonic clock.
public func monotonicSeconds() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1e9
}

/// One JSON object on one line, keys sorted, for `--json` output.
public func jsonLine(_ object: [String: Any]) -> String {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

/// Writes a message to standard error.
public func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// The MNIST data bundled with Nabla (Examples/Data/mnist), found from the current folder or
/// from where this file was compiled, so `swift run` works from anywhere in a clone.
public func bundledMNISTDirectory() -> String {
    let fromCurrentFolder = FileManager.default.currentDirectoryPath + "/Examples/Data/mnist"
    if FileManager.default.fileExists(atPath: fromCurrentFolder) { return fromCurrentFolder }
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Data/mnist").path
}
