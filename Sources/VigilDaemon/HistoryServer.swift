// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Logging
import Synchronization
import VigilCore
import VigilPipeline
import ZeroMQ

/// The history endpoint: a ROUTER socket answering `{"since_seq": N}` or `{"since": ts}`
/// (optional `"limit"`) with journaled alerts, so late or restarted subscribers catch up.
///
/// Reply (one frame after the request's envelope):
/// `{"alerts": [<alert>, …], "last_seq": <seq of the last alert in this reply or the request's
/// since_seq>, "head_seq": <newest journaled seq>, "more": <true when limit cut the reply>}`;
/// on a bad request `{"error": "…"}`. Works with REQ and DEALER clients.
final class HistoryServer: @unchecked Sendable {
    private let options: DaemonOptions
    private let logger: Logger
    private var socket: ZMQSocket?
    private var journal: Journal?
    private var thread: StageThread?
    private let stopping = Atomic<Bool>(false)

    init(options: DaemonOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    func open(context: ZMQContext) throws {
        journal = try Journal(path: options.journalPath)
        let s = try ZMQSocket(context: context, type: .router)
        try s.bind(options.historyEndpoint)
        socket = s
    }

    func start() {
        thread = StageThread(name: "vigil-history") { [self] in self.run() }
    }

    func stop() { stopping.store(true, ordering: .releasing) }

    func join() {
        thread?.join()
        thread = nil
    }

    private func run() {
        guard let socket, let journal else { return }
        while !stopping.load(ordering: .acquiring) {
            do throws(ZMQError) {
                guard try socket.waitReadable(timeoutMilliseconds: 100),
                      let frames = try socket.receiveMultipart(dontWait: true), frames.count >= 2 else { continue }
                let reply = answer(frames.last!, journal: journal)
                var out = Array(frames.dropLast())
                out.append(Array(reply.utf8))
                try socket.send(multipart: out, dontWait: true)
            } catch {
                if error.isTerminated { break }
                logger.error("history: \(error)")
            }
        }
        socket.close()
    }

    /// Answers one request payload.
    func answer(_ payload: [UInt8], journal: Journal) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any] else {
            return #"{"error":"request must be a JSON object such as {\"since_seq\": 0} or {\"since\": 1732500000000000000}"}"#
        }
        var limit = options.historyMaxReply
        if let l = object["limit"] as? Int { limit = max(1, min(l, options.historyMaxReply)) }
        do {
            let rows: [(seq: UInt64, json: String)]
            var lastSeq: UInt64 = 0
            if let n = object["since_seq"] as? Int, n >= 0 {
                rows = try journal.alerts(afterSeq: UInt64(n), limit: limit + 1)
                lastSeq = UInt64(n)
            } else if let ts = object["since"] {
                let parsed: Int64?
                if let i = ts as? Int { parsed = Int64(i) } else if let s = ts as? String { parsed = Timestamp.parse(s) } else { parsed = nil }
                guard let since = parsed else { return #"{"error":"since must be nanoseconds since the epoch or an RFC 3339 string"}"# }
                rows = try journal.alerts(sinceTimestamp: since, limit: limit + 1)
            } else {
                return #"{"error":"request needs since_seq (a non-negative integer) or since (a timestamp)"}"#
            }
            let more = rows.count > limit
            let page = rows.prefix(limit)
            if let last = page.last { lastSeq = last.seq }
            let head = try journal.lastSeq()
            return "{\"alerts\":[" + page.map(\.json).joined(separator: ",") + "],\"last_seq\":\(lastSeq),\"head_seq\":\(head),\"more\":\(more)}"
        } catch {
            return "{\"error\":" + JSONText.string("\(error)") + "}"
        }
    }
}
