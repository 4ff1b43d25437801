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

/// Watches one connecting socket's handshakes and explains a failure in one sentence.
///
/// Threading: the thread that owns the watched socket (the monitor is created before `connect`).
struct HandshakeWatch {
    let monitor: ZMQMonitor
    let endpoint: String
    /// What the socket is for, in messages: "alert feed", "history endpoint", "ingest endpoint".
    let role: String
    let credentials: CurveCredentials?

    /// Starts watching `socket` (call before it connects).
    init(_ socket: ZMQSocket, context: ZMQContext, endpoint: String, role: String, credentials: CurveCredentials?) throws {
        monitor = try ZMQMonitor(monitoring: socket, context: context, events: ZMQSocketEvents.handshakes.union(.connected))
        self.endpoint = endpoint
        self.role = role
        self.credentials = credentials
    }

    /// Waits up to `milliseconds` for the handshake; throws a `CLIError` saying why it failed.
    func await(milliseconds: Int) throws {
        let outcome = try monitor.awaitHandshake(timeoutMilliseconds: milliseconds)
        if let problem = explain(outcome, waited: milliseconds) { throw CLIError(problem, code: .authentication) }
    }

    /// Throws when a handshake failure was reported since the last look; never waits.
    func check() throws {
        if let outcome = try monitor.queuedHandshakeFailure(), let problem = explain(outcome, waited: 0) {
            throw CLIError(problem, code: .authentication)
        }
    }

    /// What a failed handshake means, nil for success.
    func explain(_ outcome: ZMQHandshakeOutcome, waited: Int) -> String? {
        let seconds = String(format: "%g", Double(waited) / 1000)
        switch (outcome, credentials) {
        case (.succeeded, _):
            return nil
        case (.refused(let status), let c?):
            return "the \(role) \(endpoint) refused this client's CURVE key \(c.publicKey) (from \(c.keyFile); ZAP status \(status)): add that public key to the daemon's security.curve.authorized_keys_file and send vigild SIGHUP"
        case (.refused(let status), nil):
            return "the \(role) \(endpoint) refused this client (ZAP status \(status))"
        case (.protocolError(let e), nil) where e == .mechanismMismatch:
            return "the \(role) \(endpoint) requires CURVE authentication: pass --server-key KEY|@FILE (the daemon's public key) and --key-file PATH (this client's secret key)"
        case (.protocolError(let e), _?) where e == .mechanismMismatch:
            return "the \(role) \(endpoint) does not use CURVE (security mechanism mismatch): the daemon has no security.curve, so leave out --server-key and --key-file"
        case (.protocolError(let e), _):
            return "the handshake with the \(role) \(endpoint) failed: \(e)"
        case (.closedDuringHandshake, let c?):
            return "the \(role) \(endpoint) closed the connection during the CURVE handshake: --server-key \(c.serverKey) is most likely not the daemon's public key"
        case (.closedDuringHandshake, nil):
            return "the \(role) \(endpoint) closed the connection during the handshake"
        case (.timedOut(connected: true), _?):
            return "no CURVE handshake with the \(role) \(endpoint) within \(seconds) s: the daemon did not accept this client (a wrong --server-key, or a key it does not authorize)"
        case (.timedOut(connected: true), nil):
            return "no handshake with the \(role) \(endpoint) within \(seconds) s"
        case (.timedOut(connected: false), _):
            return "cannot reach the \(role) \(endpoint) within \(seconds) s: is vigild running, and is this its endpoint?"
        }
    }

    func close() { monitor.close() }
}
