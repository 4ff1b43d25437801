// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import VigilCore
import ZeroMQ

/// A client of the history endpoint (`HistoryRequest` out, `HistoryResponse` back) over a REQ
/// socket. A request that gets no answer in time leaves a REQ socket unable to send again, so
/// the socket is then replaced.
///
/// Threading: one thread (it owns a ZeroMQ socket).
final class HistoryClient {
    /// Why a page could not be had.
    struct Failure: Error, CustomStringConvertible {
        /// What went wrong; a struct around a private enum so new kinds can be added.
        struct Code: Hashable, CustomStringConvertible {
            private enum Value: String { case timeout, refused, badReply = "bad_reply" }
            private let value: Value
            private init(_ value: Value) { self.value = value }
            /// No answer within the timeout.
            static let timeout = Code(.timeout)
            /// The endpoint answered with an error (`HistoryError`).
            static let refused = Code(.refused)
            /// The answer was not a history reply.
            static let badReply = Code(.badReply)
            var description: String { value.rawValue }
        }
        var code: Code
        var message: String
        var description: String { message }
    }

    private let context: ZMQContext
    private let endpoint: String
    private let timeoutMilliseconds: Int32
    private var socket: ZMQSocket?

    init(context: ZMQContext, endpoint: String, timeoutMilliseconds: Int32 = 5000) {
        self.context = context
        self.endpoint = endpoint
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    private func connected() throws -> ZMQSocket {
        if let socket { return socket }
        let s = try ZMQSocket(context: context, type: .req)
        try s.setReceiveTimeout(timeoutMilliseconds)
        try s.connect(endpoint)
        socket = s
        return s
    }

    /// One page for `request`.
    func page(_ request: HistoryRequest) throws -> HistoryReply {
        let s = try connected()
        try s.send(request.json)
        guard let reply = try s.receiveFrame() else {
            s.close()
            socket = nil
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
        socket?.close()
        socket = nil
    }
}
