// SPDX-License-Identifier: GPL-3.0-or-later
import Logging
import Synchronization
import VigilCore
import VigilPipeline
import ZeroMQ

/// The ingest stage: owns the PULL (and optional SUB) sockets on one thread, decodes messages,
/// interns sensors and submits samples to the pipeline.
///
/// Backpressure: when a worker ring is full under the `block` policy, `Pipeline.submit` waits,
/// this thread stops reading, libzmq's receive high-water mark fills and PULL senders block;
/// nothing is lost. Sockets are bound by `bind()` on the caller's thread (so bind errors refuse
/// start-up) and used only by the ingest thread afterwards.
final class IngestService: @unchecked Sendable {
    private let options: DaemonOptions
    private let pipeline: Pipeline
    private let metrics: DaemonMetrics
    private let logger: Logger
    private var sockets: [ZMQSocket] = []
    private var thread: StageThread?
    private let stopping = Atomic<Bool>(false)

    init(options: DaemonOptions, pipeline: Pipeline, metrics: DaemonMetrics, logger: Logger) {
        self.options = options
        self.pipeline = pipeline
        self.metrics = metrics
        self.logger = logger
    }

    /// Creates and binds/connects every ingest socket. Throws on the first failure.
    func bind(context: ZMQContext) throws(ZMQError) {
        for endpoint in options.ingestEndpoints {
            let s = try ZMQSocket(context: context, type: .pull)
            try configure(s)
            try s.bind(endpoint)
            sockets.append(s)
        }
        for sub in options.subscriptions {
            let s = try ZMQSocket(context: context, type: .sub)
            try configure(s)
            for topic in sub.topics { try s.subscribe(topic) }
            if sub.bind { try s.bind(sub.endpoint) } else { try s.connect(sub.endpoint) }
            sockets.append(s)
        }
    }

    private func configure(_ s: ZMQSocket) throws(ZMQError) {
        try s.setReceiveHighWaterMark(options.receiveHighWaterMark)
        // libzmq disconnects a peer whose message exceeds MAXMSGSIZE without telling us, so the
        // hard limit sits well above the counted application limit.
        try s.setMaxMessageSize(Int64(options.maxMessageBytes) * 4 + 1024)
        try s.setKernelBuffers(receive: 4 << 20, send: 0)
    }

    func start() {
        thread = StageThread(name: "vigil-ingest") { [self] in self.run() }
    }

    /// Asks the ingest thread to stop reading; `join()` waits for it.
    func stop() { stopping.store(true, ordering: .releasing) }

    func join() {
        thread?.join()
        thread = nil
    }

    private func run() {
        var decoder = IngestDecoder(registry: pipeline.registry, drops: pipeline.drops,
                                    maxMessageBytes: options.maxMessageBytes)
        let first = ZMQMessage()
        let second = ZMQMessage()
        let extra = ZMQMessage()
        var samples: [Sample] = []
        samples.reserveCapacity(16_384)
        var lastDropLog: UInt64 = 0
        var lastDropTotal: UInt64 = 0
        while !stopping.load(ordering: .acquiring) {
            var received = 0
            let started = Clock.monotonicNanoseconds()
            // Arrival times for the latency histogram come from the per-message wall clock read
            // (which the decoder needs anyway) offset onto this round's monotonic start: no second
            // clock read per message (a vDSO call is ~5 % of the one-sample JSON path here).
            let wallAtStart = Clock.wallNanoseconds()
            do {
                for socket in sockets {
                    for _ in 0..<512 {
                        guard try socket.receive(into: first, dontWait: true) else { break }
                        received += 1
                        let now = Clock.wallNanoseconds()
                        let arrival = ArrivalStamp.stamp(monotonicNanoseconds: started &+ UInt64(max(0, now &- wallAtStart)))
                        let before = samples.count
                        if !first.hasMore {
                            first.withBytes { payload in
                                _ = decoder.decode(topic: nil, payload: payload, now: now, into: &samples)
                            }
                        } else {
                            _ = try socket.receive(into: second)
                            if second.hasMore {
                                var more = true
                                while more { _ = try socket.receive(into: extra); more = extra.hasMore }
                                pipeline.drops.record(.tooManyFrames, samples: 0)
                            } else {
                                first.withBytes { topic in
                                    second.withBytes { payload in
                                        _ = decoder.decode(topic: topic, payload: payload, now: now, into: &samples)
                                    }
                                }
                            }
                        }
                        if samples.count > before { Self.stamp(&samples, from: before, arrival) }
                        if samples.count >= 8192 {
                            metrics.samplesReceived.add(0, UInt64(samples.count))
                            pipeline.submit(samples)
                            samples.removeAll(keepingCapacity: true)
                        }
                    }
                }
                if !samples.isEmpty {
                    metrics.samplesReceived.add(0, UInt64(samples.count))
                    pipeline.submit(samples)
                    samples.removeAll(keepingCapacity: true)
                }
                if received > 0 {
                    metrics.messagesReceived.add(0, UInt64(received))
                    metrics.ingestLatency.observe(nanoseconds: Clock.monotonicNanoseconds() - started)
                } else {
                    _ = try zmqPollReadable(sockets, timeoutMilliseconds: 50)
                }
            } catch {
                if error.isTerminated { break }
                logger.error("ingest: \(error)")
            }
            // Bad input is logged at a bounded rate: one summary every 10 s at most.
            let now = Clock.monotonicNanoseconds()
            if now - lastDropLog > 10_000_000_000 {
                let total = pipeline.drops.totalMessages
                if total != lastDropTotal {
                    let reasons = DropReason.allCases.compactMap { r -> String? in
                        let n = pipeline.drops.messages(r)
                        return n > 0 ? "\(r.rawValue)=\(n)" : nil
                    }.joined(separator: " ")
                    logger.warning("ingest dropped \(total - lastDropTotal) bad messages in the last interval; totals: \(reasons)")
                    lastDropTotal = total
                }
                lastDropLog = now
            }
        }
        for s in sockets { s.close() }
        sockets.removeAll()
    }

    /// Stamps `samples[from...]` (one message's) with their arrival time.
    @inline(__always)
    private static func stamp(_ samples: inout [Sample], from: Int, _ arrival: UInt32) {
        samples.withUnsafeMutableBufferPointer { b in
            for i in from..<b.count { b[i].arrival = arrival }
        }
    }
}
