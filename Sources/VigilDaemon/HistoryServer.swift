// SPDX-License-Identifier: GPL-3.0-or-later
import Logging
import Synchronization
import VigilCore
import VigilJournal
import VigilPipeline
import ZeroMQ

/// The history endpoint: a ROUTER socket answering `HistoryRequest`s (`{"since_seq": N}` or
/// `{"since": ts}`, optional `"limit"`) with journaled alerts as a `HistoryReply`, so late or
/// restarted subscribers catch up; a request it refuses gets `HistoryError.json`. Works with REQ
/// and DEALER clients (the envelope up to the empty delimiter frame is sent back as it came).
///
/// Hostile input costs little: libzmq disconnects a peer whose frame exceeds
/// `history.max_request_bytes` before reading it (`ZMQ_MAXMSGSIZE`), a message of many smaller
/// frames is read frame by frame and discarded past that size, and at most `receiveQueue`
/// requests per peer wait in the socket (`ZMQ_RCVHWM`).
///
/// Threading: `open` on the starting thread, then the socket and the journal reader belong to
/// the history thread; `requestStop` may be called from any thread.
final class HistoryServer: Stage, @unchecked Sendable {
    let name = "history"
    private let heartbeat = Heartbeat(name: "vigil-history")
    var heartbeats: [Heartbeat] { [heartbeat] }
    private let options: DaemonOptions
    private let logger: Logger
    private let auth: CurveAuthenticator?
    private var socket: ZMQSocket?
    private var journal: Journal?
    private var thread: StageThread?
    private let stopping = Atomic<Bool>(false)
    /// Requests queued per peer before libzmq stops reading from it.
    private let receiveQueue: Int32 = 64

    init(options: DaemonOptions, auth: CurveAuthenticator?, logger: Logger) {
        self.options = options
        self.auth = auth
        self.logger = logger
    }

    /// Opens a read-only journal connection and binds the ROUTER socket (after the publisher
    /// created the journal; a CURVE server with `security.curve`).
    func open(context: ZMQContext) throws {
        journal = try Journal(path: options.journalPath, access: .readOnly)
        let s = try ZMQSocket(context: context, type: .router)
        try s.setMaxMessageSize(Int64(options.historyMaxRequestBytes))
        try s.setReceiveHighWaterMark(receiveQueue)
        try auth?.secureServer(s, endpoint: options.historyEndpoint, context: context)
        try s.bind(options.historyEndpoint)
        socket = s
    }

    func start() {
        thread = StageThread(name: "vigil-history") { [self] in self.run() }
    }

    func requestStop() { stopping.store(true, ordering: .releasing) }

    func join() {
        thread?.join()
        thread = nil
    }

    private func run() {
        guard let socket, let journal else { return }
        let frame = ZMQMessage()
        while !stopping.load(ordering: .acquiring) {
            heartbeat.beat()
            do throws(ZMQError) {
                guard try socket.waitReadable(timeoutMilliseconds: 100),
                      let message = try receive(socket, frame) else { continue }
                let reply: String
                if message.oversized {
                    reply = HistoryError(.tooLarge, "request larger than \(options.historyMaxRequestBytes) bytes (history.max_request_bytes)").json
                } else if message.frames != 1 {
                    reply = HistoryError(.malformed, "a request is one frame holding a JSON object, got \(message.frames) frames").json
                } else {
                    reply = answer(message.body[0], journal: journal)
                }
                var out = message.envelope
                out.append(Array(reply.utf8))
                try socket.send(multipart: out, dontWait: true)
            } catch {
                if error.isTerminated { break }
                logger.error("history: \(error)")
            }
        }
        socket.close()
    }

    /// One request read frame by frame: its envelope (the peer's routing id, and the empty
    /// delimiter a REQ peer adds), the frames after it, and whether it exceeded the size limit
    /// (then the frames past the limit were read and dropped, not kept).
    private struct Message {
        var envelope: [[UInt8]] = []
        /// The first frames after the envelope (at most 4 kept).
        var body: [[UInt8]] = []
        /// How many frames followed the envelope.
        var frames = 0
        var oversized = false
    }

    private func receive(_ socket: ZMQSocket, _ frame: ZMQMessage) throws(ZMQError) -> Message? {
        guard try socket.receive(into: frame, dontWait: true) else { return nil }
        var m = Message()
        m.envelope.append(frame.withBytes { Array($0) })  // routing id, set by the ROUTER
        var size = 0
        var first = true
        while frame.hasMore {
            // The remaining frames of a message are already queued with the first.
            guard try socket.receive(into: frame) else { break }
            if first, frame.count == 0 {
                m.envelope.append([])  // a REQ peer's delimiter
                first = false
                continue
            }
            first = false
            m.frames += 1
            size += frame.count
            if size > options.historyMaxRequestBytes { m.oversized = true }
            if !m.oversized, m.body.count < 4 { m.body.append(frame.withBytes { Array($0) }) }
        }
        return m
    }

    /// Answers one request payload: a `HistoryReply` or a `HistoryError`, as JSON text.
    func answer(_ payload: [UInt8], journal: Journal) -> String {
        let request: HistoryRequest
        do throws(HistoryError) {
            request = try HistoryRequest(parsing: payload, maxLimit: options.historyMaxReply)
        } catch {
            logger.debug("history: refused a request: \(error.message)")
            return error.json
        }
        let limit = request.limit ?? options.historyMaxReply
        do throws(JournalError) {
            let page: JournalPage
            var floor: UInt64 = 0
            switch request.start {
            case .afterSeq(let n):
                page = try journal.page(afterSeq: n, limit: limit + 1)
                floor = n
            case .sinceTimestamp(let ts):
                page = try journal.page(sinceTimestamp: ts, limit: limit + 1)
            }
            let more = page.rows.count > limit
            let rows = page.rows.prefix(limit)
            // Without `more`, every matching alert up to the head (read in the same transaction)
            // is in this page, so the client stands at the head.
            let lastSeq = more ? rows.last!.seq : max(floor, page.headSeq, rows.last?.seq ?? 0)
            return HistoryReply.json(alertJSON: rows.lazy.map(\.json), lastSeq: lastSeq, headSeq: page.headSeq, more: more)
        } catch {
            logger.error("history: \(error)")
            return HistoryError(.server, "\(error)").json
        }
    }
}
