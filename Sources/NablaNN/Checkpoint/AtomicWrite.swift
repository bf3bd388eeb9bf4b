import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes `bytes` to `url` so that a crash at any moment leaves either the old file or the
/// complete new one: write a temporary file in the same folder (same file system, so the
/// rename is atomic), fsync it, rename it over `url`, then fsync the folder so the rename
/// itself is on disk.
///
/// `interruptAfter` is for tests: the write stops after that many bytes and throws as if the
/// process had died there, leaving the partial temporary file behind.
func writeAtomically(_ bytes: [UInt8], to url: URL, interruptAfter: Int? = nil) throws {
    let destination = url.path
    let folder = url.deletingLastPathComponent().path
    let temporary = "\(folder)/.\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    func failure(_ what: String) -> SafeTensorsError {
        SafeTensorsError("safetensors: cannot save \(destination): \(what) failed: \(String(cString: strerror(errno)))")
    }

    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw failure("creating the temporary file \(temporary)") }
    var written = 0
    let limit = min(bytes.count, interruptAfter ?? bytes.count)
    let writeError: SafeTensorsError? = bytes.withUnsafeBytes { buffer in
        while written < limit {
            let n = Glibc.write(fd, buffer.baseAddress! + written, limit - written)
            if n < 0 {
                if errno == EINTR { continue }
                return failure("writing")
            }
            written += n
        }
        return nil
    }
    if let interruptAfter, interruptAfter < bytes.count {
        close(fd)
        throw SafeTensorsError("safetensors: save of \(destination) interrupted after \(interruptAfter) bytes (simulated crash)")
    }
    if let writeError {
        close(fd)
        unlink(temporary)
        throw writeError
    }
    guard fsync(fd) == 0 else {
        let e = failure("fsync")
        close(fd)
        unlink(temporary)
        throw e
    }
    guard close(fd) == 0 else {
        let e = failure("closing the temporary file")
        unlink(temporary)
        throw e
    }
    guard rename(temporary, destination) == 0 else {
        let e = failure("renaming \(temporary)")
        unlink(temporary)
        throw e
    }
    removeStaleTemporaryFiles(of: url)
    // Make the rename durable; a folder that cannot be opened for fsync is not an error
    // (the data is already safe, only the rename might be lost on power failure).
    let dirfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dirfd >= 0 {
        _ = fsync(dirfd)
        close(dirfd)
    }
}

/// Deletes the temporary files of earlier saves of `url` whose writer process no longer exists
/// (killed mid-save: SIGKILL, a crash, Ctrl-C), so that interrupted runs do not fill the disk
/// with partial checkpoints. Files of live processes, including this one, are left alone: they
/// may belong to a save in progress.
func removeStaleTemporaryFiles(of url: URL) {
    let folder = url.deletingLastPathComponent().path
    let prefix = ".\(url.lastPathComponent).tmp-"
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
    for name in names where name.hasPrefix(prefix) {
        let rest = name.dropFirst(prefix.count)
        guard let dash = rest.firstIndex(of: "-"), let pid = pid_t(rest[..<dash]), pid > 0, pid != getpid() else {
            continue
        }
        if kill(pid, 0) == -1 && errno == ESRCH { unlink("\(folder)/\(name)") }
    }
}
