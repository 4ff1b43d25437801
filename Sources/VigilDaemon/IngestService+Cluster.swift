// SPDX-License-Identifier: GPL-3.0-or-later
import Logging
import MQTT
import NATS
import VigilConfig
import VigilCore
import VigilPipeline
#if canImport(Glibc)
import Glibc
#endif

/// The ingest thread's handling of JetStream sample messages (see `NATSSampleSource`): decode with
/// the shared decoder, drop what was processed already (`duplicate`), keep samples of the
/// message's partition only (else `wrong_partition`), submit, and acknowledge each message once
/// the pipeline fence taken after its submit is passed.
///
/// Duplicates, two ways: a *redelivered* message (JetStream's delivery count above 1) whose
/// stream sequence this daemon already submitted is dropped whole — its acknowledgement was lost
/// or late; a redelivered message it never saw (a fetch answer lost with a server) is processed
/// even though later messages were; and in a first delivery, a sample not newer than its sensor's
/// last from NATS is dropped (a gateway that sent the same samples again in another message).
/// Threading: the ingest thread only.
struct NATSIngest {
    private let partitions: Int
    /// Index of each owned partition in the metrics' arrays.
    private let slot: [Int: Int]
    /// Per sensor index: the newest timestamp accepted from NATS (`Int64.min`: none yet).
    private var newest: [Int64] = []
    /// Per sensor index: its partition (-1: not looked up yet).
    private var partitionOf: [Int32] = []
    private var scratch: [Sample] = []
    /// Submitted messages waiting for their fence, oldest first.
    private var pending: [(fence: ProcessingFence, messages: [NATSSampleSource.Delivery], samples: [Int])] = []
    private var lastAckError: UInt64 = 0
    /// Per owned partition (by slot): stream sequences submitted, above a floor below which every
    /// sequence counts as submitted (the set is halved from below when it grows past `remembered`).
    private var submitted: [(floor: UInt64, set: Set<UInt64>)]
    static let remembered = 65_536

    init(partitions: Int, owned: [Int]) {
        self.partitions = partitions
        var slot: [Int: Int] = [:]
        for (i, p) in owned.enumerated() { slot[p] = i }
        self.slot = slot
        submitted = Array(repeating: (0, []), count: owned.count)
        scratch.reserveCapacity(8192)
    }

    /// Messages submitted and not acknowledged yet.
    var pendingMessages: Int { pending.reduce(0) { $0 + $1.messages.count } }

    /// A released sensor index (idle eviction): a new sensor may get it.
    mutating func forget(_ index: UInt32) {
        let i = Int(index)
        if i < newest.count {
            newest[i] = .min
            partitionOf[i] = -1
        }
    }

    /// Decodes, filters and submits `deliveries`, then queues them for acknowledgement behind one
    /// fence. Returns the samples submitted.
    mutating func handle(_ deliveries: [NATSSampleSource.Delivery], decoder: inout IngestDecoder,
                         pipeline: Pipeline, metrics: DaemonMetrics, now: Int64, arrival: UInt32) -> Int {
        var kept = [Int](repeating: 0, count: slot.count)
        scratch.removeAll(keepingCapacity: true)
        for d in deliveries {
            let meta = d.message.metadata
            let redelivered = (meta?.deliveries ?? 1) > 1
            let s = slot[d.partition]
            if redelivered { metrics.natsCounters.add(0, 1) }
            let before = scratch.count
            d.message.withPayload { payload in
                _ = decoder.decode(topic: nil, payload: payload, now: now, into: &scratch)
            }
            if let meta, let s {
                if redelivered, meta.streamSequence <= submitted[s].floor || submitted[s].set.contains(meta.streamSequence) {
                    pipeline.drops.record(.duplicate, samples: scratch.count - before)
                    scratch.removeLast(scratch.count - before)
                    continue
                }
                remember(meta.streamSequence, slot: s)
            }
            // Filter this message's samples in place.
            var write = before
            for k in before..<scratch.count {
                var sample = scratch[k]
                let i = Int(sample.sensor)
                if i >= newest.count {
                    newest.append(contentsOf: repeatElement(.min, count: i + 1 - newest.count))
                    partitionOf.append(contentsOf: repeatElement(-1, count: i + 1 - partitionOf.count))
                }
                if partitionOf[i] < 0 {
                    partitionOf[i] = Int32(SensorPartition.of(pipeline.registry.name(of: sample.sensor), partitions: partitions))
                }
                guard Int(partitionOf[i]) == d.partition else {
                    pipeline.drops.record(.wrongPartition)
                    continue
                }
                guard sample.timestamp > newest[i] || redelivered else {
                    pipeline.drops.record(.duplicate)
                    continue
                }
                newest[i] = max(newest[i], sample.timestamp)
                sample.arrival = arrival
                scratch[write] = sample
                write += 1
            }
            scratch.removeLast(scratch.count - write)
            if let s = slot[d.partition] { kept[s] += write - before }
        }
        if !scratch.isEmpty {
            metrics.samplesReceived.add(0, UInt64(scratch.count))
            pipeline.submit(scratch)
        }
        metrics.messagesReceived.add(0, UInt64(deliveries.count))
        pending.append((pipeline.fence(), deliveries, kept))
        return scratch.count
    }

    private mutating func remember(_ sequence: UInt64, slot s: Int) {
        submitted[s].set.insert(sequence)
        guard submitted[s].set.count > Self.remembered else { return }
        let sorted = submitted[s].set.sorted()
        let cut = sorted[sorted.count / 2]
        submitted[s].floor = max(submitted[s].floor, cut)
        submitted[s].set = Set(sorted[(sorted.count / 2 + 1)...])
    }

    /// Acknowledges every queued message whose fence is passed, oldest first. Returns how many.
    @discardableResult
    mutating func acknowledgePassed(pipeline: Pipeline, metrics: DaemonMetrics, logger: Logger) -> Int {
        var acked = 0
        while !pending.isEmpty, pipeline.isPassed(&pending[0].fence) {
            let done = pending.removeFirst()
            for d in done.messages {
                do {
                    try d.message.ack()
                    if let s = slot[d.partition] { metrics.natsAcked.add(2 * s, 1) }
                } catch {
                    // Not acknowledged: JetStream redelivers it after nats.ack_wait, and its
                    // samples are dropped then as duplicates.
                    let now = SystemTime.monotonicNanoseconds()
                    if now &- lastAckError > 10_000_000_000 {
                        logger.warning("nats: cannot acknowledge a sample message of partition \(d.partition): \(error); it will be redelivered and deduplicated")
                        lastAckError = now
                    }
                }
            }
            for (s, n) in done.samples.enumerated() where n > 0 { metrics.natsAcked.add(2 * s + 1, UInt64(n)) }
            acked += done.messages.count
        }
        return acked
    }
}

extension IngestService {
    /// Runs every MQTT client once (ingest thread): each message is decoded with the shared
    /// decoder (its topic names the sensor) and its samples are submitted to the pipeline before
    /// the handler returns, so the PUBACK libmosquitto writes afterwards acknowledges only what
    /// the pipeline holds. A lost connection is retried every second (not while draining).
    /// Returns the messages handed over.
    func serveMQTT(_ decoder: inout IngestDecoder, _ samples: inout [Sample], retry: inout [UInt64],
                   draining: Bool, started: UInt64, wallAtStart: Int64) -> Int {
        var received = 0
        for (i, client) in mqtt.enumerated() {
            let now = SystemTime.monotonicNanoseconds()
            if client.socket < 0 {
                guard !draining, now >= retry[i] else { continue }
                retry[i] = now &+ 1_000_000_000
                if let error = client.reconnect() {
                    logger.warning("ingest.mqtt[\(i)]: \(error); retrying every second")
                } else {
                    metrics.mqttCounters.add(1, 1)
                    logger.notice("ingest.mqtt[\(i)]: reconnected to \(options.mqtt[i].url)")
                }
                continue
            }
            let error = client.loop(timeoutMilliseconds: 0) { m in
                let wall = SystemTime.wallNanoseconds()
                let arrival = ArrivalStamp.stamp(monotonicNanoseconds: started &+ UInt64(max(0, wall &- wallAtStart)))
                _ = decoder.decode(topic: m.topic, payload: m.payload, now: wall, into: &samples)
                received += 1
                if !samples.isEmpty {
                    samples.withUnsafeMutableBufferPointer { b in
                        for k in b.indices { b[k].arrival = arrival }
                    }
                    metrics.samplesReceived.add(0, UInt64(samples.count))
                    pipeline.submit(samples)
                    samples.removeAll(keepingCapacity: true)
                }
            }
            if let error, !draining {
                logger.warning("ingest.mqtt[\(i)]: connection lost (\(error)); reconnecting")
                retry[i] = now &+ 250_000_000
            }
        }
        if received > 0 {
            metrics.mqttCounters.add(0, UInt64(received))
            metrics.messagesReceived.add(0, UInt64(received))
        }
        return received
    }

    /// After the drain (ingest thread): waits, at most `ingest.drain_timeout`, until every
    /// submitted JetStream message's fence is passed (the workers and the publisher still run)
    /// and acknowledges them; what is left is redelivered to the next owner.
    func finishCluster(_ state: inout NATSIngest?) {
        guard var n = state else { return }
        let deadline = SystemTime.monotonicNanoseconds() &+ UInt64(max(durationNanoseconds(options.drainTimeout), 1_000_000_000))
        n.acknowledgePassed(pipeline: pipeline, metrics: metrics, logger: logger)
        while n.pendingMessages > 0, SystemTime.monotonicNanoseconds() < deadline {
            pipeline.ingestHeartbeat.beat()
            usleep(1000)
            n.acknowledgePassed(pipeline: pipeline, metrics: metrics, logger: logger)
        }
        if n.pendingMessages > 0 {
            logger.warning("nats: \(n.pendingMessages) sample messages not acknowledged at stop (their alerts are not journaled yet); JetStream redelivers them to the next owner")
        }
        state = n
    }
}
