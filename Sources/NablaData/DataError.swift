import Foundation

/// An error reading or writing a data file: it names the file and says, in one line, what is wrong.
///
/// `description` reads like `train-images-idx3-ubyte.gz: truncated: header says 60000×28×28
/// bytes of data, file has 1234`.
public struct DataError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// The file or folder the error is about, as the caller named it.
    public let path: String
    /// What is wrong with it, in one line without the file name.
    public let reason: String
    /// Whether `description` shows the full `path` (for files that cannot be found or opened)
    /// or only its last component (for files whose contents are bad).
    public let showsFullPath: Bool

    /// Creates an error about `path` saying `reason`.
    public init(path: String, reason: String, showsFullPath: Bool = false) {
        self.path = path
        self.reason = reason
        self.showsFullPath = showsFullPath
    }

    /// The one-line message: the file, a colon, and what is wrong.
    public var description: String {
        let name = showsFullPath ? path : (path as NSString).lastPathComponent
        return "\(name.isEmpty ? path : name): \(reason)"
    }

    /// The same one-line message, so that `localizedDescription` shows it too.
    public var errorDescription: String? { description }
}

/// Reads a whole regular file, turning every way it can fail into a one-line `DataError`.
func readFileBytes(_ path: String) throws -> [UInt8] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw DataError(path: path, reason: "no such file", showsFullPath: true)
    }
    if isDirectory.boolValue {
        throw DataError(path: path, reason: "is a directory, not a file", showsFullPath: true)
    }
    guard let handle = FileHandle(forReadingAtPath: path) else {
        throw DataError(path: path, reason: "cannot open file for reading", showsFullPath: true)
    }
    defer { try? handle.close() }
    do {
        let data = try handle.readToEnd() ?? Data()
        return [UInt8](data)
    } catch {
        throw DataError(path: path, reason: "cannot read file: \(error.localizedDescription)",
                        showsFullPath: true)
    }
}

/// Writes `bytes` to `path` atomically (a temporary file, then a rename), so a crash never
/// leaves a half-written file behind.
func writeFileBytes(_ bytes: [UInt8], to path: String) throws {
    do {
        try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw DataError(path: path, reason: "cannot write file: \(error.localizedDescription)",
                        showsFullPath: true)
    }
}

/// Formats a list of dimensions as `60000×28×28`.
func formatShape(_ dimensions: [Int]) -> String {
    dimensions.isEmpty ? "scalar" : dimensions.map(String.init).joined(separator: "×")
}
