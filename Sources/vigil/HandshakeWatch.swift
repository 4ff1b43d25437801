// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import ZeroMQ

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
