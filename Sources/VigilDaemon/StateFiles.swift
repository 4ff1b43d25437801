// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore
import VigilDetectors
#if canImport(Glibc)
import Glibc
#endif

/// A failed file operation on the state directory: the call, the path, and `errno` with its
/// `strerror` text.
public struct StateFileError: Error, CustomStringConvertible, Sendable {
    /// The system call (`open`, `write`, `fsync`, `rename`, `read`, …).
    public var operation: String
    public var path: String
    /// `errno` of the failure (0 when the problem was not a system call's).
    public var code: Int32
    public var reason: String

    init(_ operation: String, _ path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
        reason = String(cString: strerror(code))
    }

    public var description: String { "\(operation) \(path): \(reason)" }
}

/// The whole file at `path`.
func readFile(_ path: String) throws(StateFileError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw StateFileError("open", path) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw StateFileError("read", path)
        }
        if n == 0 { return bytes }
        bytes.append(contentsOf: chunk[0..<n])
    }
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new file.
func writeFileAtomically(_ path: String, _ bytes: [UInt8]) throws(StateFileError) {
    let file = try AtomicFileWriter(path: path)
    do throws(StateFileError) {
        try file.write(bytes)
        try file.commit()
    } catch {
        file.abandon()
        throw error
    }
}

/// Writes a state file so that a crash (kill -9, power loss) leaves either the old file or the
/// complete new one, never a mix: the bytes are streamed into `path.tmp` (mode 0640) as they come,
/// then `commit()` fsyncs it, renames it over `path` and fsyncs the directory, so the rename
/// itself is durable. `abandon()` removes the temporary file and leaves `path` as it was.
///
/// Threading: one thread at a time.
final class AtomicFileWriter {
    let path: String
    let temporaryPath: String
    private var fd: Int32
    /// Bytes written so far.
    private(set) var bytesWritten = 0

    init(path: String, mode: mode_t = 0o640) throws(StateFileError) {
        self.path = path
        temporaryPath = path + ".tmp"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StateFileError("open", temporaryPath) }
        _ = fchmod(fd, mode)  // a .tmp left by an older build may have been created wider
    }

    deinit { if fd >= 0 { abandon() } }

    /// Appends `bytes` (retrying short writes and EINTR).
    func write(_ bytes: [UInt8]) throws(StateFileError) {
        let failure: StateFileError? = bytes.withUnsafeBytes { raw in
            do throws(StateFileError) {
                try write(raw)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// Appends `raw`.
    func write(_ raw: UnsafeRawBufferPointer) throws(StateFileError) {
        precondition(fd >= 0, "write after commit or abandon")
        var done = 0
        while done < raw.count {
            let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw StateFileError("write", temporaryPath)
            }
            done += n
        }
        bytesWritten += raw.count
    }

    /// Makes the new file durable and puts it in place: fsync, close, rename, fsync of the
    /// directory. On failure the temporary file is removed and `path` is untouched.
    func commit() throws(StateFileError) {
        precondition(fd >= 0, "commit twice")
        guard fsync(fd) == 0 else {
            let e = StateFileError("fsync", temporaryPath)
            abandon()
            throw e
        }
        close(fd)
        fd = -1
        guard rename(temporaryPath, path) == 0 else {
            let e = StateFileError("rename", temporaryPath)
            unlink(temporaryPath)
            throw e
        }
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let dfd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// Closes and removes the temporary file. Idempotent.
    func abandon() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        unlink(temporaryPath)
    }
}

/// A snapshot file read with `pread`, one section at a time (`DetectorSnapshotReader`), so a
/// restore never holds the whole file. Threading: one thread.
final class SnapshotFileSource: SnapshotSource {
    let path: String
    private let fd: Int32
    let size: Int

    init(path: String) throws(StateFileError) {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StateFileError("open", path) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = StateFileError("fstat", path)
            close(fd)
            throw e
        }
        size = Int(st.st_size)
        _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
    }

    deinit { close(fd) }

    func read(at offset: Int, count: Int) throws(SnapshotError) -> [UInt8] {
        var done = 0
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            while done < count {
                let n = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if n == 0 { break }
                done += n
            }
            initialized = done
        }
        guard failure == 0, done == count else {
            let why = failure != 0 ? String(cString: strerror(failure)) : "the file ended early"
            throw SnapshotError(.truncated, offset: offset + done, "reading \(path): \(why)")
        }
        return bytes
    }
}
