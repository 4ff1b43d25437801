// SPDX-License-Identifier: GPL-3.0-or-later
import CZeroMQ
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Connection events a socket monitor reports (`ZMQ_EVENT_*`), as a set to choose which ones
/// `ZMQMonitor` receives; a received event has exactly one member.
public struct ZMQSocketEvents: OptionSet, Sendable, Hashable, CustomStringConvertible {
    /// The `ZMQ_EVENT_*` bits.
    public let rawValue: UInt16
    /// The events whose bits are set in `rawValue`.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// A connecting socket's TCP connection is up (the ZMTP handshake follows).
    public static let connected = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_CONNECTED))
    /// A connection attempt is in progress.
    public static let connectDelayed = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_CONNECT_DELAYED))
    /// A connection attempt failed and will be retried.
    public static let connectRetried = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_CONNECT_RETRIED))
    /// A bound socket listens.
    public static let listening = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_LISTENING))
    /// A bound socket accepted a TCP connection (the ZMTP handshake follows).
    public static let accepted = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_ACCEPTED))
    /// A connection was closed.
    public static let disconnected = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_DISCONNECTED))
    /// The monitored socket was closed: the last event.
    public static let monitorStopped = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_MONITOR_STOPPED))
    /// The handshake failed without a reason libzmq could name (the peer closed it: for a CURVE
    /// client, typically a server key that is not the server's; for a CURVE server, a peer that
    /// does not speak CURVE). The value is an `errno`.
    public static let handshakeFailedNoDetail = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL))
    /// The ZMTP handshake (and CURVE authentication) completed: messages flow.
    public static let handshakeSucceeded = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_SUCCEEDED))
    /// The handshake failed with a protocol error; the value is a `ZMQProtocolError`.
    public static let handshakeFailedProtocol = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL))
    /// The ZAP handler refused the client; the value is the ZAP status code (e.g. 400).
    public static let handshakeFailedAuth = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH))
    /// Every handshake outcome.
    public static let handshakes: ZMQSocketEvents = [.handshakeSucceeded, .handshakeFailedNoDetail, .handshakeFailedProtocol, .handshakeFailedAuth]

    public var description: String {
        let names: [(ZMQSocketEvents, String)] = [
            (.connected, "connected"), (.connectDelayed, "connect_delayed"), (.connectRetried, "connect_retried"),
            (.listening, "listening"), (.accepted, "accepted"), (.disconnected, "disconnected"),
            (.monitorStopped, "monitor_stopped"), (.handshakeFailedNoDetail, "handshake_failed_no_detail"),
            (.handshakeSucceeded, "handshake_succeeded"), (.handshakeFailedProtocol, "handshake_failed_protocol"),
            (.handshakeFailedAuth, "handshake_failed_auth"),
        ]
        let known = names.filter { contains($0.0) }.map(\.1)
        return known.isEmpty ? "event 0x\(String(rawValue, radix: 16))" : known.joined(separator: "|")
    }
}

/// A ZMTP protocol error reported with `handshakeFailedProtocol` (`ZMQ_PROTOCOL_ERROR_*`).
public struct ZMQProtocolError: Sendable, Hashable, CustomStringConvertible {
    /// The `ZMQ_PROTOCOL_ERROR_*` value.
    public let rawValue: UInt32
    /// The error an event's value names.
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The peers use different security mechanisms (one CURVE, the other not).
    public static let mechanismMismatch = ZMQProtocolError(rawValue: UInt32(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH))
    /// A CURVE box could not be opened: the client used another server key than ours, or the
    /// handshake was tampered with.
    public static let cryptographic = ZMQProtocolError(rawValue: UInt32(ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC))

    public var description: String {
        switch self {
        case .mechanismMismatch: "security mechanism mismatch (one side uses CURVE, the other does not)"
        case .cryptographic: "CURVE cryptographic error (wrong server key?)"
        default: "ZMTP protocol error 0x\(String(rawValue, radix: 16))"
        }
    }
}

/// One monitor event: what happened, its value (an errno, a file descriptor, a ZAP status
/// code or a `ZMQProtocolError`, depending on the event) and the endpoint it concerns.
public struct ZMQMonitorEvent: Sendable, Equatable, CustomStringConvertible {
    /// Exactly one member of `ZMQSocketEvents`.
    public var event: ZMQSocketEvents
    /// The event's value (see `ZMQSocketEvents` for what it means per event).
    public var value: UInt32
    /// The endpoint the event concerns, as libzmq names it.
    public var endpoint: String

    /// An event as read from a monitor.
    public init(event: ZMQSocketEvents, value: UInt32, endpoint: String) {
        self.event = event
        self.value = value
        self.endpoint = endpoint
    }

    public var description: String { "\(event) (\(value)) on \(endpoint)" }
}

/// How a connecting socket's handshake with its server ended, as `ZMQMonitor.awaitHandshake`
/// saw it. ZeroMQ itself never tells a refused client: sends queue and receives wait.
public enum ZMQHandshakeOutcome: Sendable, Equatable {
    /// The handshake completed: messages flow.
    case succeeded
    /// The server's ZAP handler refused our key; the ZAP status code (400: not authorized).
    case refused(status: UInt32)
    /// A protocol error, e.g. `mechanismMismatch` (we use CURVE and the server does not, or the
    /// other way round).
    case protocolError(ZMQProtocolError)
    /// The server closed the connection during the handshake without saying why: for a CURVE
    /// client, the server key is not the server's public key.
    case closedDuringHandshake
    /// Nothing decided in time; `connected` tells whether a TCP connection was made at all.
    case timedOut(connected: Bool)
}

/// Reads the events of one socket (`zmq_socket_monitor`) from a PAIR socket connected to the
/// monitor's inproc endpoint.
///
/// Threading: create it on the monitored socket's owner thread, before that socket binds or
/// connects (so no event is missed). From then on the monitor is an ordinary socket of its own:
/// it may be handed to another thread, which alone reads and closes it. The PAIR socket has no
/// receive high-water mark, so libzmq's I/O thread never waits on a slow reader.
public final class ZMQMonitor: @unchecked Sendable {
    /// The PAIR socket the events arrive on (poll it with `zmqPollReadable`).
    public let socket: ZMQSocket
    private static let next = Atomic<Int>(0)

    /// Starts monitoring `monitored` for `events`.
    public init(monitoring monitored: ZMQSocket, context: ZMQContext, events: ZMQSocketEvents) throws(ZMQError) {
        let n = Self.next.add(1, ordering: .relaxed).newValue
        let endpoint = "inproc://vigil.monitor.\(getpid()).\(n)"
        _ = try zmqCall("zmq_socket_monitor(\(endpoint))") { zmq_socket_monitor(monitored.raw, endpoint, Int32(events.rawValue)) }
        socket = try ZMQSocket(context: context, type: .pair)
        try socket.setReceiveHighWaterMark(0)
        try socket.connect(endpoint)
    }

    /// The next event, waiting up to `timeoutMilliseconds` (0: only one already queued; -1:
    /// forever); nil when none came.
    public func next(timeoutMilliseconds: Int) throws(ZMQError) -> ZMQMonitorEvent? {
        if timeoutMilliseconds != 0 {
            guard try socket.waitReadable(timeoutMilliseconds: timeoutMilliseconds) else { return nil }
        }
        guard let frames = try socket.receiveMultipart(dontWait: true) else { return nil }
        // Frame 1: u16 event, u32 value (host byte order); frame 2: the endpoint.
        guard frames.count >= 2, frames[0].count >= 6 else { return nil }
        let head = frames[0]
        let event = head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt16.self) }
        let value = head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 2, as: UInt32.self) }
        return ZMQMonitorEvent(event: ZMQSocketEvents(rawValue: event), value: value,
                               endpoint: String(decoding: frames[1], as: UTF8.self))
    }

    /// Waits up to `timeoutMilliseconds` for the monitored (connecting) socket's handshake to
    /// succeed or fail; requires the monitor to include `.handshakes` and `.connected`.
    ///
    /// A connection closed without a reason is not final at once: the peer may have closed it
    /// before our side read its greeting, and the next attempt (libzmq reconnects within
    /// `ZMQ_RECONNECT_IVL`) often names the cause, so up to `detailMilliseconds` more are given
    /// to it.
    public func awaitHandshake(timeoutMilliseconds: Int, detailMilliseconds: Int = 1000) throws(ZMQError) -> ZMQHandshakeOutcome {
        var deadline = monotonicMilliseconds() + timeoutMilliseconds
        var connected = false
        var closed = false
        while true {
            let left = deadline - monotonicMilliseconds()
            guard left > 0, let e = try next(timeoutMilliseconds: left) else {
                return closed ? .closedDuringHandshake : .timedOut(connected: connected)
            }
            switch Self.outcome(of: e) {
            case .closedDuringHandshake?:
                if !closed { deadline = min(deadline, monotonicMilliseconds() + detailMilliseconds) }
                closed = true
            case let outcome?:
                return outcome
            case nil:
                if e.event == .connected { connected = true }
            }
        }
    }

    /// The most telling handshake failure among the events already queued since the last
    /// success (a refusal or a protocol error rather than a connection closed without a
    /// reason); nil when none, or when a handshake succeeded after them. Never waits.
    public func queuedHandshakeFailure() throws(ZMQError) -> ZMQHandshakeOutcome? {
        var best: ZMQHandshakeOutcome?
        while let e = try next(timeoutMilliseconds: 0) {
            switch Self.outcome(of: e) {
            case .succeeded?: best = nil
            case .closedDuringHandshake?: if best == nil { best = .closedDuringHandshake }
            case let failure?: best = failure
            case nil: break
            }
        }
        return best
    }

    /// The handshake outcome an event reports, nil for other events.
    public static func outcome(of e: ZMQMonitorEvent) -> ZMQHandshakeOutcome? {
        switch e.event {
        case .handshakeSucceeded: .succeeded
        case .handshakeFailedAuth: .refused(status: e.value)
        case .handshakeFailedProtocol: .protocolError(ZMQProtocolError(rawValue: e.value))
        case .handshakeFailedNoDetail: .closedDuringHandshake
        default: nil
        }
    }

    /// Closes the PAIR socket. Idempotent. Owner thread only.
    public func close() { socket.close() }
}

private func monotonicMilliseconds() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int(ts.tv_sec) * 1000 + Int(ts.tv_nsec) / 1_000_000
}
