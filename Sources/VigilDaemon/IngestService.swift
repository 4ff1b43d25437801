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
                                    maxMessageBytes: options.maxMessageBytes,
                                    timestampPolicy: options.timestampPolicy)
        decoder.arrivalClock = Int64(Clock.monotonicNanoseconds())
        var eviction = IdleEviction(timeout: options.sensorIdleTimeout)
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
            decoder.arrivalClock = Int64(started)
            do {
                for socket in sockets {
                    for _ in 0..<512 {
                        guard try socket.receive(into: first, dontWait: true) else { break }
                        received += 1
                        let now = Clock.wallNanoseconds()
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
                // Between submits: no sample is in our hands, so a sensor may be retired here.
                eviction.run(now: Int64(started), pipeline: pipeline, decoder: &decoder)
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
}

/// Evicts sensors that sent no accepted sample for `timeout` nanoseconds of the ingest thread's
/// monotonic clock, a slice of the registry at a time, at most every 250 ms (off the per-sample
/// path: the decoder stamps each accepted sample's sensor with the round's arrival clock, and
/// this scan reads those stamps).
///
/// The hand-off (`Pipeline.retire` / `reclaimRetired`): ingest retires the id (no later sample
/// can carry the index), the owning worker frees the state after the samples queued before and
/// answers, and the slot is released (then reused) only once the publisher has handled every
/// alert event the worker emitted before answering. Threading: ingest thread only.
struct IdleEviction {
    let timeout: Int64
    private var nextRun: Int64 = 0
    private var cursor = 0
    /// Indices looked at per run: a 100 000-sensor registry is covered in about 2 seconds.
    static let slice = 16_384
    static let interval: Int64 = 250_000_000

    init(timeout: Int64) {
        self.timeout = timeout
    }

    mutating func run(now: Int64, pipeline: Pipeline, decoder: inout IngestDecoder) {
        guard timeout > 0, now >= nextRun else { return }
        nextRun = now + Self.interval
        pipeline.reclaimRetired { decoder.forget($0) }
        decoder.trackRegistry()
        let n = pipeline.registry.count
        guard n > 0 else { return }
        for _ in 0..<min(n, Self.slice) {
            if cursor >= n { cursor = 0 }
            let index = UInt32(cursor)
            cursor += 1
            guard pipeline.isEvictable(index), let seen = decoder.lastArrival(of: index), now - seen > timeout else { continue }
            if !pipeline.retire(index) { break }
        }
    }
}
