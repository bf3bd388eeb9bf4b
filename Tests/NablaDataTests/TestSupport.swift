import Testing
import Foundation
@testable import NablaData

/// The bundled MNIST folder, found from this file's location.
let bundledMNISTDirectory: String = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Examples/Data/mnist").path

/// The full bundled MNIST, loaded once and shared by every test that needs it.
let bundledMNIST: Result<MNIST, Error> = Result { try MNIST(directory: bundledMNISTDirectory) }

/// A fresh, empty temporary directory for one test.
func makeTemporaryDirectory() throws -> String {
    let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("nabla-data-\(UUID().uuidString)")
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs `body` and returns the `DataError` description it throws, or nil if it throws none.
func thrownMessage<T>(_ body: () throws -> T) -> String? {
    do {
        _ = try body()
        return nil
    } catch {
        return String(describing: error)
    }
}

/// Expects `body` to throw an error whose one-line description contains `fragment`.
func expectError<T>(containing fragment: String, sourceLocation: SourceLocation = #_sourceLocation,
                    _ body: () throws -> T) {
    let message = thrownMessage(body)
    #expect(message?.contains(fragment) == true, "expected an error containing \"\(fragment)\", got \(message ?? "no error")",
            sourceLocation: sourceLocation)
    #expect(message.map { !$0.contains("\n") } ?? true, "error messages are one line", sourceLocation: sourceLocation)
}
