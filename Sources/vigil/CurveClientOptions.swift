// SPDX-License-Identifier: GPL-3.0-or-later
import ArgumentParser
import Foundation
import VigilConfig
import VigilCore
import ZeroMQ

/// `--server-key KEY|@FILE`, `--key-file PATH` and `--handshake-timeout`: CURVE for the
/// commands that connect to a daemon (`vigil tail`, `vigil replay`). Both keys or neither.
struct CurveClientOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The daemon's CURVE public key: 40 Z85 characters, or @FILE for a key file such as the daemon's PATH.pub from vigil keygen --out.",
                               valueName: "KEY|@FILE"))
    var serverKey: String?

    @Option(help: ArgumentHelp("This client's CURVE secret key file (PATH.key from vigil keygen --out, mode 0600); its public key, derived from it, must be in the daemon's authorized_keys_file.",
                               valueName: "PATH"))
    var keyFile: String?

    @Option(help: ArgumentHelp("Seconds to wait for a connection's handshake before giving up (a refused CURVE client gets no error from ZeroMQ, only silence).",
                               valueName: "SECONDS"))
    var handshakeTimeout: Double = 5

    mutating func validate() throws {
        switch (serverKey, keyFile) {
        case (nil, nil): break
        case (_?, nil): throw ValidationError("--server-key needs --key-file PATH (this client's secret key) as well")
        case (nil, _?): throw ValidationError("--key-file needs --server-key KEY|@FILE (the daemon's public key) as well")
        case (_?, _?): _ = try credentials()
        }
        guard handshakeTimeout > 0, handshakeTimeout.isFinite else {
            throw ValidationError("--handshake-timeout must be a positive number of seconds")
        }
    }

    /// The keys to connect with, read and checked; nil without CURVE.
    func credentials() throws -> CurveCredentials? {
        guard let serverKey, let keyFile else { return nil }
        let server: CurveKey
        if serverKey.hasPrefix("@") {
            let path = String(serverKey.dropFirst())
            do {
                server = try CurveKeyFile.readPublicKey(path: path)
            } catch {
                throw ValidationError("--server-key @\(path): \(error)")
            }
        } else {
            do {
                server = try CurveKey(z85: serverKey)
            } catch {
                throw ValidationError("--server-key: not a Z85 CURVE public key: \(error.message) (give 40 Z85 characters, or @FILE)")
            }
        }
        let secret: CurveSecretKey
        do {
            secret = try CurveKeyFile.readSecretKey(path: keyFile)
        } catch {
            throw ValidationError("--key-file: \(error)")
        }
        guard zmqHasCurve else { throw ValidationError("this libzmq was built without CURVE support (libsodium)") }
        let publicKey: String
        do {
            publicKey = try zmqCurvePublicKey(secretKey: secret.z85)
        } catch {
            throw ValidationError("--key-file \(keyFile): cannot derive its public key: \(error)")
        }
        return CurveCredentials(serverKey: server.z85, publicKey: publicKey, secretKey: secret.z85, keyFile: keyFile)
    }

    /// The handshake timeout in milliseconds.
    var handshakeMilliseconds: Int { Int(handshakeTimeout * 1000) }
}

/// A client's CURVE keys, ready for `ZMQSocket.makeCurveClient`.
struct CurveCredentials {
    /// The daemon's public key (Z85).
    let serverKey: String
    /// This client's public key, derived from `secretKey`.
    let publicKey: String
    let secretKey: String
    /// Where the secret key came from, for messages.
    let keyFile: String

    /// Makes `socket` a CURVE client of the daemon. Before `connect`.
    func apply(to socket: ZMQSocket) throws {
        try socket.makeCurveClient(serverKey: serverKey, publicKey: publicKey, secretKey: secretKey)
    }
}
