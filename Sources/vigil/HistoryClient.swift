// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import VigilCore
import ZeroMQ

/// A client of the history endpoint (`HistoryRequest` out, `HistoryResponse` back) over a REQ
/// socket, a CURVE client when `credentials` are given. A request that gets no answer in time
/// leaves a REQ socket unable to send again, so the socket is then replaced; the timeout's
/// message says why when the handshake failed (a refused key, CURVE on one side only).
///
/// Threading: one thread (it owns a ZeroMQ socket).
final class HistoryClient {
    /// Why a page could not be had.
    struct Failure: Error, CustomStringConvertible {
        /// What went wrong; a struct around a private enum so new kinds can be added.
        struct Code: Hashable, CustomStringConvertible {
            private enum Value: String { case timeout, refused, badReply = "bad_reply", unauthenticated }
            private let value: Value
            private init(_ value: Value) { self.value = value }
            /// No answer within the timeout.
            static let timeout = Code(.timeout)
            /// The endpoint answered with an error (`HistoryError`).
            static let refused = Code(.refused)
            /// The answer was not a history reply.
            static let badReply = Code(.badReply)
            /// The handshake failed: the endpoint refused our CURVE key, or only one side uses CURVE.
            static let unauthenticated = Code(.unauthenticated)
            var description: String { value.rawValue }
        }
        var code: Code
        var message: String
        var description: String { message }
    }

    private let context: ZMQContext
    private let endpoint: String
    private let timeoutMilliseconds: Int32
    private let credentials: CurveCredentials?
    private var socket: ZMQSocket?
    private var watch: HandshakeWatch?

    /// With `credentials`, each new socket waits up to `handshakeMilliseconds` for its CURVE
    /// handshake and throws a `CLIError` saying why it failed.
    init(context: ZMQContext, endpoint: String, timeoutMilliseconds: Int32 = 5000, credentials: CurveCredentials? = nil,
         handshakeMilliseconds: Int = 5000) {
        self.context = context
        self.endpoint = endpoint
        self.timeoutMilliseconds = timeoutMilliseconds
        self.credentials = credentials
        self.handshakeMilliseconds = handshakeMilliseconds
    }

    private let handshakeMilliseconds: Int

    private func connected() throws -> ZMQSocket {
        if let socket { return socket }
        let s = try ZMQSocket(context: context, type: .req)
        try s.setReceiveTimeout(timeoutMilliseconds)
        try credentials?.apply(to: s)
        watch = try HandshakeWatch(s, context: context, endpoint: endpoint, role: "history endpoint", credentials: credentials)
        try s.connect(endpoint)
        if credentials != nil {
            do {
                try watch!.await(milliseconds: handshakeMilliseconds)
            } catch {
                watch?.close()
                watch = nil
                s.close()
                throw Failure(code: .unauthenticated, message: "\(error)")
            }
        }
        socket = s
        return s
    }

    /// Why the handshake of the current socket failed, if it did (never waits).
    private func handshakeProblem() -> String? {
        guard let watch else { return nil }
        do {
            try watch.check()
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// One page for `request`.
    func page(_ request: HistoryRequest) throws -> HistoryReply {
        let s = try connected()
        try s.send(request.json)
        guard let reply = try s.receiveFrame() else {
            let problem = handshakeProblem()
            close()
            if let problem { throw Failure(code: .unauthenticated, message: problem) }
            throw Failure(code: .timeout, message: "no answer from the history endpoint \(endpoint) within \(timeoutMilliseconds / 1000) s")
        }
        let response: HistoryResponse
        do {
            response = try JSONDecoder().decode(HistoryResponse.self, from: Data(reply.bytes))
        } catch {
            throw Failure(code: .badReply, message: "the history endpoint \(endpoint) sent something that is not a history reply: \(error)")
        }
        switch response {
        case .page(let page): return page
        case .failure(let e): throw Failure(code: .refused, message: "history endpoint refused \(request.json): \(e.message) (\(e.code))")
        }
    }

    func close() {
        watch?.close()
        watch = nil
        socket?.close()
        socket = nil
    }
}
