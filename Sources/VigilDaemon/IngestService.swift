// SPDX-License-Identifier: GPL-3.0-or-later
import CVigilOS
import Logging
import MQTT
import Synchronization
import VigilConfig
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
///
/// Drain: `requestStop()` does not close the sockets. The thread first unsubscribes its SUB
/// sockets (so a live publisher stops sending), then keeps reading everything senders already
/// queued (in libzmq's pipes and the kernel's buffers, and what a PULL sender still flushes from
/// its own queue) until every socket has been quiet for `drainQuietPeriod` or `drainTimeout`
/// has passed, and only then closes them. Every sample read is submitted, so the workers process
/// it before they stop and the final snapshot holds it. One log line says what the drain read.
final class IngestService: Stage, @unchecked Sendable {
    let name = "ingest"
    var heartbeats: [Heartbeat] { [pipeline.ingestHeartbeat] + (nats?.heartbeats ?? []) }
    let options: DaemonOptions
    let pipeline: Pipeline
    let metrics: DaemonMetrics
    let logger: Logger
    private let auth: CurveAuthenticator?
    private var sockets: [ZMQSocket] = []
    /// JetStream partitions (config `nats`); nil without.
    let nats: NATSSampleSource?
    /// MQTT brokers (config `ingest.mqtt`), run by the ingest thread.
    var mqtt: [MQTTClient] = []
    private var thread: StageThread?
    private let stopping = Atomic<Bool>(false)

    init(options: DaemonOptions, pipeline: Pipeline, metrics: DaemonMetrics, auth: CurveAuthenticator?, logger: Logger,
         nats: NATSSampleSource? = nil) {
        self.options = options
        self.nats = nats
        self.auth = auth
        self.pipeline = pipeline
        self.metrics = metrics
        self.logger = logger
    }

    /// Creates and binds/connects every ingest socket. Throws on the first failure. With CURVE,
    /// bound sockets are CURVE servers and a connecting subscription is a CURVE client of its
    /// publisher (`serverKey`); a connecting subscription without one is refused (fail closed).
    func bind(context: ZMQContext) throws {
        for endpoint in options.ingestEndpoints {
            let s = try ZMQSocket(context: context, type: .pull)
            try configure(s)
            try auth?.secureServer(s, endpoint: endpoint, context: context)
            try s.bind(endpoint)
            sockets.append(s)
        }
        for sub in options.subscriptions {
            let s = try ZMQSocket(context: context, type: .sub)
            try configure(s)
            for topic in sub.topics { try s.subscribe(topic) }
            if sub.bind {
                try auth?.secureServer(s, endpoint: sub.endpoint, context: context)
                try s.bind(sub.endpoint)
            } else {
                switch (auth, sub.serverKey) {
                case (let auth?, let key?): try auth.secureClient(s, endpoint: sub.endpoint, serverKey: key)
                case (nil, nil): break
                case (_?, nil):
                    throw CurveAuthenticator.failure("the subscription to \(sub.endpoint) has no server_key; with CURVE, vigild makes no unauthenticated connection")
                case (nil, _?):
                    throw CurveAuthenticator.failure("the subscription to \(sub.endpoint) has a server_key but the daemon has no key pair (security.curve)")
                }
                try s.connect(sub.endpoint)
            }
            sockets.append(s)
        }
        try connectMQTT()
        try nats?.open()
    }

    /// Connects every `ingest.mqtt` broker, waiting for each to accept, so that an unreachable
    /// broker or a refused login stops the start with the entry named.
    private func connectMQTT() throws {
        for (i, m) in options.mqtt.enumerated() {
            do {
                let client = try MQTTClient(options: .init(host: m.host, port: m.port, tls: m.tls, caFile: m.caFile, certFile: m.certFile,
                                                           keyFile: m.keyFile, insecure: m.insecure, clientID: m.clientID,
                                                           username: m.username, password: m.password, topics: m.topics, qos: m.qos))
                try client.connect()
                mqtt.append(client)
                logger.info("ingest.mqtt[\(i)]: connected to \(m.url), subscribed to \(m.topics.joined(separator: ", ")) at QoS \(m.qos)")
            } catch {
                throw Daemon.StartError(description: "ingest.mqtt[\(i)] (\(m.url)): \(error)")
            }
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
        nats?.start()
        thread = StageThread(name: "vigil-ingest") { [self] in self.run() }
    }

    /// Asks the ingest thread to drain its sockets and stop; `join()` waits for it.
    func requestStop() { stopping.store(true, ordering: .releasing) }

    func join() {
        thread?.join()
        thread = nil
        nats?.join()
    }

    /// Messages received before an idle ingest returns the allocator's free memory to the OS, and
    /// the least time between two such returns: a burst's heap is returned within a quarter of a
    /// second of its end, and an ingest that idles often between messages returns at most four
    /// times a second (each costs the idle ingest thread a few milliseconds). With 10,000 messages
    /// and 10 s, a return early in a burst of several seconds held off the one at its end: the
    /// burst's heap stayed resident for up to 10 s, and 100,000 sensors warmed with 400 samples
    /// each measured 3,600 or 4,500 bytes per sensor, depending on when the sender's pauses fell.
    static let trimAfterMessages = 1_000
    static let trimInterval: UInt64 = 250_000_000

    private func run() {
        var decoder = IngestDecoder(registry: pipeline.registry, drops: pipeline.drops,
                                    maxMessageBytes: options.maxMessageBytes,
                                    timestampPolicy: options.timestampPolicy)
        decoder.arrivalClock = Int64(SystemTime.monotonicNanoseconds())
        var eviction = IdleEviction(timeout: options.sensorIdleTimeout)
        var released: [UInt32] = []
        let first = ZMQMessage()
        let second = ZMQMessage()
        let extra = ZMQMessage()
        var samples: [Sample] = []
        samples.reserveCapacity(16_384)
        var lastDropLog: UInt64 = 0
        var lastDropTotal: UInt64 = 0
        let heartbeat = pipeline.ingestHeartbeat
        // The drain after `requestStop`: when it began, when a message last came, what it read.
        var drainStarted: UInt64 = 0
        var lastMessage: UInt64 = 0
        var drainedMessages = 0
        let drainTimeout = nanoseconds(options.drainTimeout)
        let quiet = nanoseconds(options.drainQuietPeriod)
        var natsIngest = options.nats.map { NATSIngest(partitions: $0.partitions, owned: $0.ownedPartitions) }
        var mqttRetry = [UInt64](repeating: 0, count: mqtt.count)
        let wakeFDs = [nats?.wakeFD ?? -1]
        // Messages since the allocator last returned free memory, and when it did.
        var messagesSinceTrim = 0
        var lastTrim: UInt64 = 0
        while true {
            heartbeat.beat()
            if drainStarted == 0, stopping.load(ordering: .acquiring) {
                drainStarted = SystemTime.monotonicNanoseconds()
                lastMessage = drainStarted
                if drainTimeout == 0 { break }
                beginDrain()
            }
            var received = 0
            let started = SystemTime.monotonicNanoseconds()
            decoder.arrivalClock = Int64(started)
            // Arrival times for the latency histogram come from the per-message wall clock read
            // (which the decoder needs anyway) offset onto this round's monotonic start: no second
            // clock read per message (a vDSO call is ~5 % of the one-sample JSON path here).
            let wallAtStart = SystemTime.wallNanoseconds()
            do {
                for socket in sockets {
                    for _ in 0..<512 {
                        guard try socket.receive(into: first, dontWait: true) else { break }
                        received += 1
                        let now = SystemTime.wallNanoseconds()
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
                received += serveMQTT(&decoder, &samples, retry: &mqttRetry, draining: drainStarted != 0,
                                       started: started, wallAtStart: wallAtStart)
                if var n = natsIngest {
                    let deliveries = nats!.take()
                    if !deliveries.isEmpty {
                        let now = SystemTime.wallNanoseconds()
                        _ = n.handle(deliveries, decoder: &decoder, pipeline: pipeline, metrics: metrics, now: now,
                                     arrival: ArrivalStamp.stamp(monotonicNanoseconds: started &+ UInt64(max(0, now &- wallAtStart))))
                        received += deliveries.count
                    }
                    n.acknowledgePassed(pipeline: pipeline, metrics: metrics, logger: logger)
                    natsIngest = n
                }
                // Between submits: no sample is in our hands, so a sensor may be retired here.
                eviction.run(now: Int64(started), pipeline: pipeline, decoder: &decoder, released: &released)
                if !released.isEmpty {
                    for index in released { natsIngest?.forget(index) }
                    released.removeAll(keepingCapacity: true)
                }
                if received > 0 {
                    metrics.messagesReceived.add(0, UInt64(received))
                    metrics.ingestLatency.observe(nanoseconds: SystemTime.monotonicNanoseconds() - started)
                    messagesSinceTrim &+= received
                } else {
                    // Idle after a burst: a burst queues up to RCVHWM messages per socket in
                    // libzmq (10,000 of 6.4 KB in the 100,000-sensor warm-up: 64 MB, a third of
                    // the daemon's growth beyond its detector state), allocated by libzmq's I/O
                    // thread and freed here: that heap, and what the workers free while they catch
                    // up (a new sensor's chain is built on its worker), stays resident until it is
                    // returned. It is returned once the workers have caught up (every submitted
                    // sample processed), which costs this thread a few milliseconds while nothing
                    // is waiting; until then the ingest polls in short steps, so that the return
                    // follows within milliseconds (a return before they caught up missed what
                    // they freed after it: 4,065–4,500 bytes per warmed sensor against 3,800).
                    let trimDue = messagesSinceTrim >= Self.trimAfterMessages && started &- lastTrim >= Self.trimInterval
                    if trimDue, pipeline.samplesProcessed >= pipeline.samplesSubmitted {
                        _ = vigil_release_free_memory()
                        messagesSinceTrim = 0
                        lastTrim = SystemTime.monotonicNanoseconds()
                    }
                    let waiting = (natsIngest?.pendingMessages ?? 0) > 0
                    let idleTimeout = trimDue ? 2 : (drainStarted == 0 ? 50 : 10)
                    if mqtt.isEmpty && nats == nil {
                        _ = try zmqPollReadable(sockets, timeoutMilliseconds: idleTimeout)
                    } else {
                        // Messages waiting for their fence are acknowledged within a millisecond
                        // or two of passing it.
                        try zmqPollReadable(sockets, fds: wakeFDs + mqtt.map(\.socket),
                                            timeoutMilliseconds: waiting ? 1 : idleTimeout)
                    }
                }
            } catch {
                if error.isTerminated { break }
                logger.error("ingest: \(error)")
            }
            if drainStarted != 0 {
                let now = SystemTime.monotonicNanoseconds()
                if received > 0 {
                    drainedMessages += received
                    lastMessage = now
                } else if now &- lastMessage >= quiet {
                    logger.info("ingest drained", metadata: [
                        "messages": "\(drainedMessages)", "ms": "\((now &- drainStarted) / 1_000_000)",
                        "quiet_ms": "\(quiet / 1_000_000)",
                    ])
                    break
                }
                if now &- drainStarted >= drainTimeout {
                    logger.warning("ingest drain stopped at its deadline (ingest.drain_timeout \(options.drainTimeout)) after \(drainedMessages) messages: senders were still sending; what they send from now on is not read")
                    break
                }
            }
            // Bad input is logged at a bounded rate: one summary every 10 s at most.
            let now = SystemTime.monotonicNanoseconds()
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
        finishCluster(&natsIngest)
        for s in sockets { s.close() }
        sockets.removeAll()
    }

    /// Unsubscribes every SUB socket from its topics, so that plant publishers stop sending to
    /// it and the drain can end; what they sent before is still read.
    private func beginDrain() {
        // JetStream and MQTT: fetch and accept nothing new; what was fetched is still processed.
        nats?.stopFetching()
        for client in mqtt { client.disconnect() }
        for (s, sub) in zip(sockets.suffix(options.subscriptions.count), options.subscriptions) {
            for topic in sub.topics { try? s.unsubscribe(topic) }
        }
    }

    private func nanoseconds(_ d: Duration) -> UInt64 {
        let (s, atto) = d.components
        return UInt64(max(0, s)) * 1_000_000_000 + UInt64(max(0, atto / 1_000_000_000))
    }

    /// Stamps `samples[from...]` (one message's) with their arrival time.
    @inline(__always)
    private static func stamp(_ samples: inout [Sample], from: Int, _ arrival: UInt32) {
        samples.withUnsafeMutableBufferPointer { b in
            for i in from..<b.count { b[i].arrival = arrival }
        }
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

    mutating func run(now: Int64, pipeline: Pipeline, decoder: inout IngestDecoder, released: inout [UInt32]) {
        guard timeout > 0, now >= nextRun else { return }
        nextRun = now + Self.interval
        pipeline.reclaimRetired {
            decoder.forget($0)
            released.append($0)
        }
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
