// SPDX-License-Identifier: GPL-3.0-or-later
import ArgumentParser
import Foundation
import VigilConfig
import VigilCore
import ZeroMQ

/// `vigil keygen`: a CURVE key pair for securing ZeroMQ sockets.
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a new CURVE key pair (Z85) for securing ZeroMQ sockets.",
        discussion: """
            Without --out, prints the pair. With --out PATH, writes the secret key to PATH.key \
            (mode 0600) and the public key to PATH.pub (mode 0644), one Z85 line each, and prints \
            the public key. PATH.key is the daemon's security.curve.secret_key_file, or a client's \
            --key-file; a client's PATH.pub goes into the daemon's authorized_keys_file, and the \
            daemon's PATH.pub is what clients pass as --server-key @PATH.pub.
            Examples:
              vigil keygen --out /etc/vigil/vigild
              vigil keygen --out ~/.config/vigil/operator
              cat ~/.config/vigil/operator.pub >> /etc/vigil/authorized_keys
            """)

    @Option(help: ArgumentHelp("Write PATH.key (secret, mode 0600) and PATH.pub instead of printing.", valueName: "PATH"))
    var out: String?

    @Flag(help: "With --out: replace existing PATH.key and PATH.pub.")
    var force = false

    func validate() throws {
        if force, out == nil { throw ValidationError("--force goes with --out PATH") }
        if let out, out.isEmpty || out.hasSuffix("/") {
            throw ValidationError("--out takes a path prefix such as /etc/vigil/vigild (PATH.key and PATH.pub are written), got '\(out)'")
        }
    }

    func run() throws {
        guard zmqHasCurve else {
            throw CLIError("this libzmq was built without CURVE support (libsodium)")
        }
        let pair = try zmqCurveKeyPair()
        guard let out else {
            print("public: \(pair.publicKey)")
            print("secret: \(pair.secretKey)")
            return
        }
        let secretPath = out + ".key", publicPath = out + ".pub"
        if !force {
            for path in [secretPath, publicPath] where FileManager.default.fileExists(atPath: path) {
                throw CLIError("\(path) exists; refusing to overwrite a key (use --force to replace it)")
            }
        }
        // Written under a temporary name with its final mode and renamed into place, so a key
        // file is never briefly readable by others or half written.
        try writeKeyFile(secretPath, pair.secretKey, mode: 0o600)
        try writeKeyFile(publicPath, pair.publicKey, mode: 0o644)
        // What was written reads back as this pair (mode, format and key).
        let readBack = try CurveKeyFile.readSecretKey(path: secretPath)
        guard try zmqCurvePublicKey(secretKey: readBack.z85) == pair.publicKey,
              try CurveKeyFile.readPublicKey(path: publicPath).z85 == pair.publicKey else {
            throw CLIError("the key files written to \(secretPath) and \(publicPath) do not read back as the new pair")
        }
        print("wrote \(secretPath) (secret key, mode 0600) and \(publicPath) (public key)")
        print("public: \(pair.publicKey)")
    }

    /// Writes `key` and a newline to `path` with `mode`, atomically (temporary file, fsync,
    /// rename); the mode is set on the descriptor, whatever the umask.
    private func writeKeyFile(_ path: String, _ key: String, mode: mode_t) throws {
        let tmp = path + ".tmp.\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw CLIError("cannot create \(tmp): \(String(cString: strerror(errno)))") }
        var ok = fchmod(fd, mode) == 0
        let bytes = Array((key + "\n").utf8)
        ok = ok && bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count
        ok = ok && fsync(fd) == 0
        let reason = String(cString: strerror(errno))
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            let why = ok ? String(cString: strerror(errno)) : reason
            unlink(tmp)
            throw CLIError("cannot write \(path): \(why)")
        }
    }
}
