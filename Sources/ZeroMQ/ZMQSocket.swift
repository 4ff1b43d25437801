// SPDX-License-Identifier: GPL-3.0-or-later
import CZeroMQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The socket types Vigil uses.
public enum ZMQSocketType: Sendable {
    case pull, push, pub, sub, req, rep, router, dealer
    /// One peer at each end; Vigil uses it only to read a socket monitor (`ZMQMonitor`).
    case pair

    var raw: Int32 {
        switch self {
        case .pair: ZMQ_PAIR
        case .pull: ZMQ_PULL
        case .push: ZMQ_PUSH
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        case .router: ZMQ_ROUTER
        case .dealer: ZMQ_DEALER
        }
    }
}

/// A ZeroMQ socket (`zmq_socket`).
///
/// Threading: libzmq sockets are **not** thread-safe. A socket may be created on one thread and
/// handed to another (hence `@unchecked Sendable`), but from then on only that thread may use it,
/// including `close()`. `ZMQ_LINGER` is always set (to `lingerMilliseconds`, default 0 for
/// receivers and 1000 for senders) so that closing a socket and terminating the context never hang.
public final class ZMQSocket: @unchecked Sendable {
    public let type: ZMQSocketType
    private var handle: UnsafeMutableRawPointer?
    /// Kept alive while the socket exists: `zmq_ctx_term` waits for every socket to close.
    private let context: ZMQContext

    public init(context: ZMQContext, type: ZMQSocketType, lingerMilliseconds: Int32? = nil) throws(ZMQError) {
        guard let h = zmq_socket(context.handle, type.raw) else { throw ZMQError.last("zmq_socket") }
        self.type = type
        self.handle = h
        self.context = context
        let defaultLinger: Int32 = (type == .push || type == .pub || type == .dealer || type == .req) ? 1000 : 0
        try setOption(ZMQ_LINGER, lingerMilliseconds ?? defaultLinger, "ZMQ_LINGER")
    }

    deinit { close() }

    /// Closes the socket (`zmq_close`). Idempotent. Owner thread only.
    public func close() {
        if let h = handle {
            zmq_close(h)
            handle = nil
        }
    }

    var raw: UnsafeMutableRawPointer {
        guard let h = handle else { preconditionFailure("ZMQSocket used after close()") }
        return h
    }

    // MARK: Endpoints

    /// `zmq_bind`. `tcp://127.0.0.1:*` binds an ephemeral port; see `lastEndpoint`.
    public func bind(_ endpoint: String) throws(ZMQError) {
        _ = try zmqCall("zmq_bind(\(endpoint))") { zmq_bind(raw, endpoint) }
    }

    /// `zmq_connect`.
    public func connect(_ endpoint: String) throws(ZMQError) {
        _ = try zmqCall("zmq_connect(\(endpoint))") { zmq_connect(raw, endpoint) }
    }

    /// `zmq_unbind`.
    public func unbind(_ endpoint: String) throws(ZMQError) {
        _ = try zmqCall("zmq_unbind(\(endpoint))") { zmq_unbind(raw, endpoint) }
    }

    /// `zmq_disconnect`.
    public func disconnect(_ endpoint: String) throws(ZMQError) {
        _ = try zmqCall("zmq_disconnect(\(endpoint))") { zmq_disconnect(raw, endpoint) }
    }

    /// The endpoint last bound (`ZMQ_LAST_ENDPOINT`), with the real port of a `*` bind.
    public var lastEndpoint: String {
        var buf = [CChar](repeating: 0, count: 256)
        var size = buf.count
        _ = zmq_getsockopt(raw, ZMQ_LAST_ENDPOINT, &buf, &size)
        return cText(buf)
    }

    // MARK: Options

    func setOption(_ option: Int32, _ value: Int32, _ name: String) throws(ZMQError) {
        var v = value
        _ = try zmqCall("zmq_setsockopt(\(name))") { zmq_setsockopt(raw, option, &v, MemoryLayout<Int32>.size) }
    }

    func setOption64(_ option: Int32, _ value: Int64, _ name: String) throws(ZMQError) {
        var v = value
        _ = try zmqCall("zmq_setsockopt(\(name))") { zmq_setsockopt(raw, option, &v, MemoryLayout<Int64>.size) }
    }

    func setOption(_ option: Int32, bytes: [UInt8], _ name: String) throws(ZMQError) {
        _ = try zmqCall("zmq_setsockopt(\(name))") {
            bytes.withUnsafeBytes { zmq_setsockopt(raw, option, $0.baseAddress, $0.count) }
        }
    }

    func getOption32(_ option: Int32) -> Int32 {
        var v: Int32 = 0
        var size = MemoryLayout<Int32>.size
        zmq_getsockopt(raw, option, &v, &size)
        return v
    }

    /// `ZMQ_LINGER` in milliseconds (-1 waits forever: never used by Vigil).
    public func setLinger(_ milliseconds: Int32) throws(ZMQError) { try setOption(ZMQ_LINGER, milliseconds, "ZMQ_LINGER") }
    /// `ZMQ_SNDHWM`: queued outgoing messages per peer before PUB drops / PUSH blocks.
    public func setSendHighWaterMark(_ messages: Int32) throws(ZMQError) { try setOption(ZMQ_SNDHWM, messages, "ZMQ_SNDHWM") }
    /// `ZMQ_RCVHWM`: queued incoming messages before the sender is pushed back.
    public func setReceiveHighWaterMark(_ messages: Int32) throws(ZMQError) { try setOption(ZMQ_RCVHWM, messages, "ZMQ_RCVHWM") }
    /// `ZMQ_MAXMSGSIZE`: a peer sending a larger message is disconnected by libzmq (-1: no limit).
    public func setMaxMessageSize(_ bytes: Int64) throws(ZMQError) { try setOption64(ZMQ_MAXMSGSIZE, bytes, "ZMQ_MAXMSGSIZE") }
    /// `ZMQ_RCVTIMEO` in milliseconds (-1 blocks forever); a timed-out receive returns nil.
    public func setReceiveTimeout(_ milliseconds: Int32) throws(ZMQError) { try setOption(ZMQ_RCVTIMEO, milliseconds, "ZMQ_RCVTIMEO") }
    /// `ZMQ_SNDTIMEO` in milliseconds (-1 blocks forever); a timed-out send returns false.
    public func setSendTimeout(_ milliseconds: Int32) throws(ZMQError) { try setOption(ZMQ_SNDTIMEO, milliseconds, "ZMQ_SNDTIMEO") }
    /// `ZMQ_RCVBUF` / `ZMQ_SNDBUF`: kernel socket buffer sizes in bytes.
    public func setKernelBuffers(receive: Int32, send: Int32) throws(ZMQError) {
        try setOption(ZMQ_RCVBUF, receive, "ZMQ_RCVBUF")
        try setOption(ZMQ_SNDBUF, send, "ZMQ_SNDBUF")
    }
    /// `ZMQ_SUBSCRIBE` (SUB only): receive messages whose first frame starts with `prefix`.
    public func subscribe(_ prefix: String = "") throws(ZMQError) { try setOption(ZMQ_SUBSCRIBE, bytes: Array(prefix.utf8), "ZMQ_SUBSCRIBE") }
    /// `ZMQ_UNSUBSCRIBE` (SUB only).
    public func unsubscribe(_ prefix: String) throws(ZMQError) { try setOption(ZMQ_UNSUBSCRIBE, bytes: Array(prefix.utf8), "ZMQ_UNSUBSCRIBE") }
    /// `ZMQ_IMMEDIATE`: queue only to completed connections.
    public func setImmediate(_ on: Bool) throws(ZMQError) { try setOption(ZMQ_IMMEDIATE, on ? 1 : 0, "ZMQ_IMMEDIATE") }
    /// Makes this socket a CURVE server (`ZMQ_CURVE_SERVER` = 1, `ZMQ_CURVE_SECRETKEY`): it then
    /// accepts CURVE clients only, and asks the context's ZAP handler (`ZAPEndpoint`) about each
    /// client's public key when one is bound. `secretKey` is 40 Z85 characters. Before `bind`.
    public func makeCurveServer(secretKey: String) throws(ZMQError) {
        try setOption(ZMQ_CURVE_SERVER, Int32(1), "ZMQ_CURVE_SERVER")
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: Array(secretKey.utf8), "ZMQ_CURVE_SECRETKEY")
    }
    /// Makes this socket a CURVE client: `serverKey` is the server's public key, `publicKey` and
    /// `secretKey` our own pair (each 40 Z85 characters). Before `connect`.
    public func makeCurveClient(serverKey: String, publicKey: String, secretKey: String) throws(ZMQError) {
        try setOption(ZMQ_CURVE_SERVERKEY, bytes: Array(serverKey.utf8), "ZMQ_CURVE_SERVERKEY")
        try setOption(ZMQ_CURVE_PUBLICKEY, bytes: Array(publicKey.utf8), "ZMQ_CURVE_PUBLICKEY")
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: Array(secretKey.utf8), "ZMQ_CURVE_SECRETKEY")
    }
    /// `ZMQ_ZAP_DOMAIN`: the domain this socket names in its ZAP requests (RFC 27), at most
    /// 254 bytes. Vigil puts the configured endpoint there, so the handler knows which socket asks.
    /// Before `bind`.
    public func setZAPDomain(_ domain: String) throws(ZMQError) {
        try setOption(ZMQ_ZAP_DOMAIN, bytes: Array(domain.utf8), "ZMQ_ZAP_DOMAIN")
    }
    /// `ZMQ_HANDSHAKE_IVL` in milliseconds (libzmq's default 30000; 0: none): a connection whose
    /// ZMTP/CURVE handshake has not completed by then is closed.
    public func setHandshakeInterval(_ milliseconds: Int32) throws(ZMQError) {
        try setOption(ZMQ_HANDSHAKE_IVL, milliseconds, "ZMQ_HANDSHAKE_IVL")
    }
    /// The security mechanism (`ZMQ_MECHANISM`): whether the socket is set up for CURVE.
    public var usesCurve: Bool { getOption32(ZMQ_MECHANISM) == ZMQ_CURVE }

    /// The file descriptor libzmq signals when the socket may have become readable (`ZMQ_FD`).
    public var fileDescriptor: Int32 {
        var fd: Int32 = -1
        var size = MemoryLayout<Int32>.size
        zmq_getsockopt(raw, ZMQ_FD, &fd, &size)
        return fd
    }

    // MARK: Sending

    /// Sends one frame (`zmq_send`). Returns false when the call would block (`EAGAIN`: a
    /// non-blocking send at the high-water mark, or `ZMQ_SNDTIMEO` expired).
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, more: Bool = false, dontWait: Bool = false) throws(ZMQError) -> Bool {
        let flags = (more ? ZMQ_SNDMORE : 0) | (dontWait ? ZMQ_DONTWAIT : 0)
        do throws(ZMQError) {
            _ = try zmqCall("zmq_send") { Int32(truncatingIfNeeded: zmq_send(raw, bytes.baseAddress, bytes.count, flags)) }
            return true
        } catch {
            if error.isWouldBlock { return false }
            throw error
        }
    }

    /// Sends one frame from an array.
    @discardableResult
    public func send(_ bytes: [UInt8], more: Bool = false, dontWait: Bool = false) throws(ZMQError) -> Bool {
        try bytes.withUnsafeBytes { b in
            Result { () throws(ZMQError) -> Bool in try send(b, more: more, dontWait: dontWait) }
        }.get()
    }

    /// Sends one UTF-8 frame.
    @discardableResult
    public func send(_ text: String, more: Bool = false, dontWait: Bool = false) throws(ZMQError) -> Bool {
        var text = text
        return try text.withUTF8 { b in
            Result { () throws(ZMQError) -> Bool in try send(UnsafeRawBufferPointer(b), more: more, dontWait: dontWait) }
        }.get()
    }

    /// Sends a multipart message. All frames are queued atomically by libzmq.
    @discardableResult
    public func send(multipart frames: [[UInt8]], dontWait: Bool = false) throws(ZMQError) -> Bool {
        precondition(!frames.isEmpty, "a message has at least one frame")
        for (k, f) in frames.enumerated() {
            let ok = try send(f, more: k < frames.count - 1, dontWait: dontWait)
            if !ok { return false }
        }
        return true
    }

    // MARK: Receiving

    /// Receives one frame into `message` (`zmq_msg_recv`), zero-copy. Returns false on `EAGAIN`
    /// (receive timeout or a non-blocking call with nothing queued).
    public func receive(into message: ZMQMessage, dontWait: Bool = false) throws(ZMQError) -> Bool {
        do throws(ZMQError) {
            _ = try zmqCall("zmq_msg_recv") { zmq_msg_recv(message.pointer, raw, dontWait ? ZMQ_DONTWAIT : 0) }
            return true
        } catch {
            if error.isWouldBlock { return false }
            throw error
        }
    }

    /// Receives one frame as an array; nil on timeout.
    public func receiveFrame(dontWait: Bool = false) throws(ZMQError) -> (bytes: [UInt8], more: Bool)? {
        let m = ZMQMessage()
        guard try receive(into: m, dontWait: dontWait) else { return nil }
        return (m.withBytes { Array($0) }, m.hasMore)
    }

    /// Receives a whole multipart message; nil on timeout before its first frame.
    public func receiveMultipart(dontWait: Bool = false) throws(ZMQError) -> [[UInt8]]? {
        guard let first = try receiveFrame(dontWait: dontWait) else { return nil }
        var frames = [first.bytes]
        var more = first.more
        while more {
            // The remaining frames of a message arrive atomically with the first.
            guard let next = try receiveFrame() else { break }
            frames.append(next.bytes)
            more = next.more
        }
        return frames
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) for the socket to become readable
    /// (`zmq_poll`). Returns whether it is.
    public func waitReadable(timeoutMilliseconds: Int) throws(ZMQError) -> Bool {
        var item = zmq_pollitem_t(socket: raw, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        let rc = try zmqCall("zmq_poll") { zmq_poll(&item, 1, timeoutMilliseconds) }
        return rc > 0 && (item.revents & Int16(ZMQ_POLLIN)) != 0
    }
}

/// Waits until any of `sockets` is readable, up to `timeoutMilliseconds` (-1: forever), and
/// returns the indices of the readable ones (`zmq_poll`). Call from the sockets' owner thread.
public func zmqPollReadable(_ sockets: [ZMQSocket], timeoutMilliseconds: Int) throws(ZMQError) -> [Int] {
    var items = sockets.map { zmq_pollitem_t(socket: $0.raw, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
    let rc = try zmqCall("zmq_poll") { zmq_poll(&items, Int32(items.count), timeoutMilliseconds) }
    if rc == 0 { return [] }
    return items.indices.filter { (items[$0].revents & Int16(ZMQ_POLLIN)) != 0 }
}

/// Waits until any of `sockets` or of the plain file descriptors `fds` is readable, up to
/// `timeoutMilliseconds` (`zmq_poll` over both kinds); returns whether anything is. For an owner
/// thread that also serves non-ZeroMQ sources (an eventfd, an MQTT client's socket). A negative
/// descriptor is skipped.
@discardableResult
public func zmqPollReadable(_ sockets: [ZMQSocket], fds: [Int32], timeoutMilliseconds: Int) throws(ZMQError) -> Bool {
    var items = sockets.map { zmq_pollitem_t(socket: $0.raw, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
    for fd in fds where fd >= 0 { items.append(zmq_pollitem_t(socket: nil, fd: fd, events: Int16(ZMQ_POLLIN), revents: 0)) }
    return try zmqCall("zmq_poll") { zmq_poll(&items, Int32(items.count), timeoutMilliseconds) } > 0
}

/// A reusable message frame (`zmq_msg_t`) for zero-copy receives on the hot path.
/// Owned by one thread.
public final class ZMQMessage: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<zmq_msg_t>

    public init() {
        pointer = .allocate(capacity: 1)
        zmq_msg_init(pointer)
    }

    deinit {
        zmq_msg_close(pointer)
        pointer.deallocate()
    }

    /// Size of the last received frame in bytes.
    public var count: Int { zmq_msg_size(pointer) }

    /// Whether more frames of the same message follow (`ZMQ_MORE`).
    public var hasMore: Bool { zmq_msg_more(pointer) != 0 }

    /// Lends the frame's bytes; valid only inside `body` and until the next receive.
    @inline(__always)
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: zmq_msg_data(pointer), count: zmq_msg_size(pointer)))
    }
}
