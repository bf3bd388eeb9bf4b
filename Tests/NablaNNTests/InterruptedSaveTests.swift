import Foundation
import Testing
import Nabla
@testable import NablaNN

#if canImport(Glibc)
import Glibc
#endif

// A process killed while it writes a checkpoint must leave the destination readable, holding
// either the checkpoint before that save or the one it was writing. Each round runs a child
// process (a Swift Testing exit test: this test binary started again) that saves checkpoints
// in a loop, reporting each completed save on its standard output, while a timer thread
// sends it SIGKILL at a random moment: no cleanup runs, exactly as with `kill -9` or a power
// cut seen from the process. The parent then loads the file and checks its version.

/// The checkpoint of version `version`: every element of every tensor equals the version
/// (so a mix of two saves is visible), large enough that a save takes a while.
private func versionedTensors(_ version: Int) -> [(name: String, tensor: Tensor)] {
    [("layer.weight", Tensor.full([256, 256], value: Double(version))),
     ("layer.bias", Tensor.full([256], value: Double(version))),
     ("optimizer.state.layer.weight.exp_avg", Tensor.full([256, 256], value: Double(version), dtype: .float64))]
}

/// The version a checkpoint file holds, or a description of what is wrong with it.
private func loadedVersion(_ url: URL) -> Result<Int, SafeTensorsError> {
    do {
        let contents = try SafeTensors.read(from: url)
        guard let text = contents.metadata["version"], let version = Int(text) else {
            return .failure(SafeTensorsError("no version in the metadata"))
        }
        let expected = versionedTensors(version)
        guard contents.tensors.count == expected.count else {
            return .failure(SafeTensorsError("\(contents.tensors.count) tensors, expected \(expected.count)"))
        }
        for (name, tensor) in expected {
            guard let t = contents[name], t.shape == tensor.shape, t.dtype == tensor.dtype,
                  t.scalars(as: Double.self).allSatisfy({ $0 == Double(version) }) else {
                return .failure(SafeTensorsError("tensor \(name) does not hold version \(version) throughout"))
            }
        }
        return .success(version)
    } catch let e as SafeTensorsError {
        return .failure(e)
    } catch {
        return .failure(SafeTensorsError("\(error)"))
    }
}

@Suite("Interrupted saves") struct InterruptedSaveTests {
    @Test(.timeLimit(.minutes(2)))
    func killedWriterLeavesTheOldOrTheNewCheckpoint() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-kill-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("model.safetensors")
        let path = url.path

        var rng = RandomGenerator(seed: 2024)
        var kills = 0, loadable = 0, old = 0, new = 0, midWrite = 0
        var version = 0
        try SafeTensors.write(versionedTensors(version), metadata: ["version": "0"], to: url)

        for round in 0..<30 {
            // Kill after 0–40 ms of saving: early rounds land on the first save, later ones
            // after several complete saves, somewhere inside write, fsync or rename.
            let delayMicroseconds = UInt32(rng.next() % 40_000)
            let firstVersion = version + 1
            let result = await #expect(processExitsWith: .signal(SIGKILL), observing: [\.standardOutputContent]) {
                [path = path as String, delay = delayMicroseconds as UInt32, firstVersion = firstVersion as Int] in
                let killer = Thread {
                    usleep(delay)
                    kill(getpid(), SIGKILL)
                }
                killer.start()
                var v = firstVersion
                while true {
                    try SafeTensors.write(versionedTensors(v), metadata: ["version": "\(v)"],
                                          to: URL(fileURLWithPath: path))
                    // One unbuffered write per completed save, so the parent knows the last one.
                    let line = Array("saved \(v)\n".utf8)
                    _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
                    v += 1
                }
            }
            guard let result else { return }
            kills += 1
            // A partial temporary file means the kill came between creating it and the rename.
            let partial = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains(".tmp-") }
            if !partial.isEmpty { midWrite += 1 }
            let lines = String(decoding: result.standardOutputContent, as: UTF8.self).split(separator: "\n")
            let lastSaved = lines.compactMap { $0.hasPrefix("saved ") ? Int($0.dropFirst(6)) : nil }.max() ?? version
            switch loadedVersion(url) {
            case .success(let found):
                loadable += 1
                // The last completed save, or the one in progress when the kill came (its
                // rename may have happened before the "saved" line was written).
                #expect(found == lastSaved || found == lastSaved + 1,
                        "round \(round): the file holds version \(found), the last completed save was \(lastSaved)")
                if found == lastSaved { old += 1 } else { new += 1 }
                version = found
            case .failure(let error):
                Issue.record("round \(round): after a kill \(delayMicroseconds) µs in, the checkpoint does not load: \(error)")
                return
            }
        }

        // The partial temporary files of the killed writers are removed by the next save.
        try SafeTensors.write(versionedTensors(version + 1), metadata: ["version": "\(version + 1)"], to: url)
        let staleAfter = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains(".tmp-") }
        print("Interrupted save: \(kills) kills, \(loadable) checkpoints loadable (\(old) held the last completed save, \(new) the save in progress), 0 unreadable; \(midWrite) kills left a partial temporary file (killed mid-save), \(staleAfter.count) such files left after the next save")
        #expect(kills == 30 && loadable == kills)
        #expect(staleAfter.isEmpty, "stale temporary files: \(staleAfter)")
        #expect(try loadedVersion(url).get() == version + 1)
    }
}
