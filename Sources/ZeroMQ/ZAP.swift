// SPDX-License-Identifier: GPL-3.0-or-later

/// The endpoint a ZAP handler (ZeroMQ RFC 27) binds, a REP socket, in the same context as the
/// sockets it authenticates. While one is bound, every CURVE server socket of the context asks
/// it about each client; while none is, libzmq lets every CURVE client in (RFC 26's
/// "Stonehouse" mode). So bind the handler before any server socket and close it after them.
public let ZAPEndpoint = "inproc://zeromq.zap.01"

/// One ZAP request (RFC 27), as a REP socket receives it: version `1.0`, request id, domain,
/// peer address, routing id, mechanism and its credentials (for CURVE, the client's 32-byte
/// public key).
public struct ZAPRequest: Sendable, Equatable {
    /// Always `1.0`.
    public var version: [UInt8]
    /// Echoed in the reply so libzmq matches it to the handshake that asked.
    public var requestID: [UInt8]
    /// The requesting socket's `ZMQ_ZAP_DOMAIN`.
    public var domain: String
    /// The peer's address (an IP address for TCP).
    public var address: String
    /// The connection's routing id (`ZMQ_ROUTING_ID`), usually empty.
    public var routingID: [UInt8]
    /// `NULL`, `PLAIN` or `CURVE`.
    public var mechanism: String
    /// The mechanism's credential frames.
    public var credentials: [[UInt8]]

    /// The request in `frames`; nil when they are not a ZAP request of version 1.0.
    public init?(frames: [[UInt8]]) {
        guard frames.count >= 6, frames[0] == Array("1.0".utf8) else { return nil }
        version = frames[0]
        requestID = frames[1]
        domain = String(decoding: frames[2], as: UTF8.self)
        address = String(decoding: frames[3], as: UTF8.self)
        routingID = frames[4]
        mechanism = String(decoding: frames[5], as: UTF8.self)
        credentials = Array(frames.dropFirst(6))
    }

    /// The client's public key for a CURVE request: its one 32-byte credential.
    public var curvePublicKey: [UInt8]? {
        guard mechanism == "CURVE", credentials.count == 1, credentials[0].count == 32 else { return nil }
        return credentials[0]
    }

    /// The reply frames (version, request id, status code, status text, user id, empty
    /// metadata): `200` admits the client, `400` refuses it, `500` is an internal error.
    public func reply(status: Int, text: String, userID: String = "") -> [[UInt8]] {
        [Array("1.0".utf8), requestID, Array(String(status).utf8), Array(text.utf8), Array(userID.utf8), []]
    }

    /// A reply to frames that were not a ZAP request: status 500 with the request id if any.
    public static func errorReply(to frames: [[UInt8]], text: String) -> [[UInt8]] {
        [Array("1.0".utf8), frames.count > 1 ? frames[1] : [], Array("500".utf8), Array(text.utf8), [], []]
    }
}
