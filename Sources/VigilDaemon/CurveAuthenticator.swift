// SPDX-License-Identifier: GPL-3.0-or-later
import Logging
import Synchronization
import VigilCore
import VigilPipeline
import ZeroMQ

/// CURVE security for the daemon (`security.curve`): makes every socket `vigild` binds a CURVE
/// server, a connecting subscription a CURVE client, and runs the ZAP handler (ZeroMQ RFC 27)
/// that admits only the authorized client keys.
///
/// The handler is a REP socket bound to `ZAPEndpoint` in the daemon's context, on a thread of
/// its own (`vigil-zap`). It is bound before any server socket and closed after all of them:
/// while no handler is bound, libzmq lets every CURVE client in, so the daemon never runs
/// without it. A client is admitted (status 200) exactly when its public key is in the
/// allow-list; anything else (an unknown key, a request that is not CURVE) is refused (400).
/// Connections refused before they reach ZAP (a peer that does not speak CURVE, a client using
/// another server key) are seen through a socket monitor on each server socket. Every refusal
/// is counted in `vigil_auth_failures_total{endpoint=…}` and logged at a bounded rate: at most
/// one line per endpoint per `logInterval`, with the number of refusals it held back.
///
/// Threading: `init`, `open`, `secureServer` and `secureClient` on the starting thread before
/// `start`; from `start` on, the ZAP socket and the monitors belong to the handler thread.
/// `replaceAuthorizedKeys` from any thread (the allow-list sits behind a `Lock`). `stop` and
/// `join` after every server socket has been closed.
final class CurveAuthenticator: Stage, @unchecked Sendable {
    let name = "auth"
    private let heartbeat = Heartbeat(name: "vigil-zap")
    var heartbeats: [Heartbeat] { [heartbeat] }
    /// Why CURVE cannot be set up: the daemon then refuses to start (exit 78).
    static func failure(_ why: String) -> Daemon.StartError {
        Daemon.StartError(description: "security.curve: " + why, code: .security)
    }

    private let curve: DaemonOptions.Curve
    /// The daemon's public key (Z85), derived from its secret key.
    let publicKey: String
    private let metrics: DaemonMetrics
    private let logger: Logger
    private let allowed: Lock<Set<CurveKey>>
    private var zap: ZMQSocket?
    /// Monitors of the server sockets, with the index of their `endpoint` label.
    private var monitors: [(monitor: ZMQMonitor, endpoint: Int)] = []
    private var thread: StageThread?
    private let stopping = Atomic<Bool>(false)
    /// `ZMQ_HANDSHAKE_IVL` of the server sockets (libzmq's default is 30 s).
    static let handshakeMilliseconds: Int32 = 10_000
    /// At most one refusal line per endpoint per this many nanoseconds.
    let logInterval: UInt64

    /// Checks that this libzmq has CURVE and derives the daemon's public key. Throws a
    /// `Daemon.StartError` with code `.security` when either fails.
    init(curve: DaemonOptions.Curve, metrics: DaemonMetrics, logger: Logger, logIntervalSeconds: Double = 10) throws {
        guard zmqHasCurve else {
            throw Self.failure("this libzmq \(zmqVersion.major).\(zmqVersion.minor).\(zmqVersion.patch) was built without CURVE (libsodium); refusing to run unauthenticated")
        }
        do {
            publicKey = try zmqCurvePublicKey(secretKey: curve.secretKey.z85)
        } catch {
            throw Self.failure("cannot derive the daemon's public key from its secret key: \(error)")
        }
        self.curve = curve
        self.metrics = metrics
        self.logger = logger
        allowed = Lock(Set(curve.authorizedKeys))
        logInterval = UInt64(logIntervalSeconds * 1e9)
        metrics.authorizedKeys.set(0, UInt64(curve.authorizedKeys.count))
    }

    /// Binds the ZAP handler's socket. Call before any server socket is bound.
    func open(context: ZMQContext) throws {
        do {
            let s = try ZMQSocket(context: context, type: .rep)
            try s.bind(ZAPEndpoint)
            zap = s
        } catch {
            throw Self.failure("cannot bind the ZAP handler on \(ZAPEndpoint): \(error)")
        }
    }

    /// The ZAP domain naming `endpoint`'s socket in its requests.
    private func domain(of endpoint: Int) -> String { "vigil/\(endpoint)" }

    /// Makes `socket` a CURVE server for the bound `endpoint` (one of
    /// `DaemonOptions.boundEndpoints`) and watches its handshakes. Before `bind`, on the
    /// socket's creating thread.
    func secureServer(_ socket: ZMQSocket, endpoint: String, context: ZMQContext) throws {
        guard zap != nil else { preconditionFailure("CurveAuthenticator.open must run before any server socket is secured") }
        guard let index = metrics.authEndpoints.firstIndex(of: endpoint) else {
            preconditionFailure("\(endpoint) is not one of the daemon's bound endpoints \(metrics.authEndpoints)")
        }
        do {
            try socket.makeCurveServer(secretKey: curve.secretKey.z85)
            try socket.setZAPDomain(domain(of: index))
            // A peer that never finishes its handshake holds a connection at most this long.
            try socket.setHandshakeInterval(Self.handshakeMilliseconds)
            let monitor = try ZMQMonitor(monitoring: socket, context: context,
                                         events: [.handshakeFailedNoDetail, .handshakeFailedProtocol, .monitorStopped])
            monitors.append((monitor, index))
        } catch {
            throw Self.failure("cannot make \(endpoint) a CURVE server: \(error)")
        }
        guard socket.usesCurve else { throw Self.failure("\(endpoint) did not take the CURVE mechanism") }
    }

    /// Makes a connecting `socket` a CURVE client of the server whose public key is
    /// `serverKey`, with the daemon's key pair as its identity. Before `connect`.
    func secureClient(_ socket: ZMQSocket, endpoint: String, serverKey: CurveKey) throws {
        do {
            try socket.makeCurveClient(serverKey: serverKey.z85, publicKey: publicKey, secretKey: curve.secretKey.z85)
        } catch {
            throw Self.failure("cannot make the subscription to \(endpoint) a CURVE client: \(error)")
        }
    }

    /// Replaces the allow-list (SIGHUP). Connections already admitted stay; every new
    /// handshake is checked against `keys`. Any thread.
    func replaceAuthorizedKeys(_ keys: [CurveKey], from file: String) {
        let new = Set(keys)
        let old = allowed.withLock { current -> Set<CurveKey> in
            defer { current = new }
            return current
        }
        metrics.authorizedKeys.set(0, UInt64(new.count))
        let added = new.subtracting(old).count, removed = old.subtracting(new).count
        logger.notice("authorized keys reloaded from \(file): \(new.count) key\(new.count == 1 ? "" : "s") (\(added) added, \(removed) removed); connections already admitted stay open")
    }

    /// The keys admitted now. Any thread.
    var authorizedKeys: Set<CurveKey> { allowed.withLock { $0 } }

    func start() {
        thread = StageThread(name: "vigil-zap") { [self] in self.run() }
    }

    /// Asks the handler thread to close its sockets and exit. Call after every server socket
    /// has been closed (from then on no handshake needs the handler): the first stage of the
    /// daemon's group, it is stopped last.
    func requestStop() { stopping.store(true, ordering: .releasing) }

    func join() {
        thread?.join()
        thread = nil
    }

    // MARK: The handler thread

    /// Per endpoint: refusals since the last line, when that line was written, the last reason.
    private struct RefusalLog {
        var held = 0
        var lastLine: UInt64 = 0
        var lastReason = ""
    }

    private func run() {
        guard let zap else { return }
        var logs = [RefusalLog](repeating: RefusalLog(), count: metrics.authEndpoints.count)
        while !stopping.load(ordering: .acquiring) {
            heartbeat.beat()
            do throws(ZMQError) {
                let ready = try zmqPollReadable([zap] + monitors.map(\.monitor.socket), timeoutMilliseconds: 250)
                if ready.contains(0) { try answer(zap, &logs) }
                var stopped: [Int] = []
                for i in ready where i > 0 {
                    if try readEvents(monitors[i - 1], &logs) { stopped.append(i - 1) }
                }
                for i in stopped.reversed() {
                    monitors[i].monitor.close()
                    monitors.remove(at: i)
                }
            } catch {
                if error.isTerminated { break }
                logger.error("ZAP handler: \(error)")
            }
            flushHeldRefusals(&logs, force: false)
        }
        flushHeldRefusals(&logs, force: true)
        for m in monitors { m.monitor.close() }
        monitors.removeAll()
        zap.close()
    }

    /// Answers every queued ZAP request.
    private func answer(_ zap: ZMQSocket, _ logs: inout [RefusalLog]) throws(ZMQError) {
        while let frames = try zap.receiveMultipart(dontWait: true) {
            guard let request = ZAPRequest(frames: frames) else {
                try zap.send(multipart: ZAPRequest.errorReply(to: frames, text: "malformed ZAP request"))
                continue
            }
            var endpoint: Int?
            if request.domain.hasPrefix("vigil/"), let n = Int(request.domain.dropFirst("vigil/".count)), logs.indices.contains(n) {
                endpoint = n
            }
            let key = request.curvePublicKey.flatMap { CurveKey(bytes: $0) }
            if let key, allowed.withLock({ $0.contains(key) }) {
                try zap.send(multipart: request.reply(status: 200, text: "OK", userID: key.z85))
                continue
            }
            try zap.send(multipart: request.reply(status: 400, text: "not authorized"))
            let reason = key.map { "client key \($0) from \(request.address) is not in \(curve.authorizedKeysFile)" }
                ?? "a \(request.mechanism) client from \(request.address) (only CURVE clients are admitted)"
            if let endpoint { refused(endpoint, reason, &logs) }
        }
    }

    /// Counts the handshake failures one monitor reported; true once its socket was closed.
    private func readEvents(_ m: (monitor: ZMQMonitor, endpoint: Int), _ logs: inout [RefusalLog]) throws(ZMQError) -> Bool {
        while let e = try m.monitor.next(timeoutMilliseconds: 0) {
            switch e.event {
            case .monitorStopped:
                return true
            case .handshakeFailedProtocol where ZMQProtocolError(rawValue: e.value) == .cryptographic:
                refused(m.endpoint, "a CURVE client that does not use this daemon's public key \(publicKey) as its server key", &logs)
            case .handshakeFailedProtocol:
                refused(m.endpoint, "a handshake that failed: \(ZMQProtocolError(rawValue: e.value))", &logs)
            case .handshakeFailedNoDetail:
                refused(m.endpoint, "a peer that does not speak CURVE (or left during the handshake)", &logs)
            default:
                break
            }
        }
        return false
    }

    /// Counts one refusal at `endpoint` and logs it unless a line for that endpoint was
    /// written less than `logInterval` ago.
    private func refused(_ endpoint: Int, _ reason: String, _ logs: inout [RefusalLog]) {
        metrics.authFailures.add(endpoint, 1)
        let now = SystemTime.monotonicNanoseconds()
        if logs[endpoint].lastLine == 0 || now - logs[endpoint].lastLine >= logInterval {
            let held = logs[endpoint].held
            logger.warning("refused a connection on \(metrics.authEndpoints[endpoint]): \(reason)\(held > 0 ? " (and \(held) more refused since the last line)" : "")")
            logs[endpoint] = RefusalLog(held: 0, lastLine: now, lastReason: reason)
        } else {
            logs[endpoint].held += 1
            logs[endpoint].lastReason = reason
        }
    }

    /// Writes the refusals held back for endpoints whose interval has passed (all, at exit).
    private func flushHeldRefusals(_ logs: inout [RefusalLog], force: Bool) {
        let now = SystemTime.monotonicNanoseconds()
        for i in logs.indices where logs[i].held > 0 && (force || now - logs[i].lastLine >= logInterval) {
            logger.warning("refused \(logs[i].held) more connection\(logs[i].held == 1 ? "" : "s") on \(metrics.authEndpoints[i]) in the last \(Int((Double(now - logs[i].lastLine) / 1e9).rounded())) s; the last: \(logs[i].lastReason)")
            logs[i].held = 0
            logs[i].lastLine = now
        }
    }
}
