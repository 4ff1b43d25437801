// SPDX-License-Identifier: GPL-3.0-or-later
import CVigilOS
import Logging
import NATS
import Synchronization
import VigilConfig
import VigilCore
import VigilPipeline
#if canImport(Glibc)
import Glibc
#endif

/// Sample messages from the owned partitions of the JetStream sample stream, for the ingest
/// thread: one fetch thread per partition pulls from the partition's durable consumer
/// (`vigil_p<N>`, explicit acks, `nats.ack_wait`, at most `maxAckPending` unacknowledged — the
/// backpressure: a slow pipeline holds acks, so fetches return nothing more) and queues the
/// messages in an inbox; an eventfd wakes the ingest thread's poll.
///
/// The ingest thread decodes each message with the same decoder as ZeroMQ input, drops samples
/// not newer than their sensor's last one from NATS (`duplicate`: a redelivery) and samples of
/// another partition (`wrong_partition`), submits the rest, takes a pipeline fence, and
/// acknowledges the messages once the fence is passed — every sample processed and every alert
/// it caused journaled (and published to the alert stream). See `IngestService`.
///
/// Threading: `open` on the starting thread, `start`/`stopFetching`/`join` from the ingest
/// stage, `take` and `wakeFD` from the ingest thread; the fetch threads only touch their own
/// subscription and the inbox (a lock held for an append).
final class NATSSampleSource: @unchecked Sendable {
    /// One fetched message and the partition it came from.
    struct Delivery {
        var partition: Int
        var message: NATSMessage
    }

    let cluster: NATSCluster
    let leases: PartitionLeases?
    private let logger: Logger
    private var subscriptions: [(partition: Int, sub: PullSubscription)] = []
    private var threads: [StageThread] = []
    private let inbox = Lock<[Delivery]>([])
    private let stopping = Atomic<Bool>(false)
    /// Written by the fetch threads after an append; read (and cleared) by the ingest thread.
    let wakeFD: Int32 = vigil_eventfd()
    /// Heartbeats of the fetch threads.
    private(set) var heartbeats: [Heartbeat] = []
    /// At most this many messages per partition are delivered and not acknowledged.
    static let maxAckPending = 2048

    init(cluster: NATSCluster, leases: PartitionLeases?, logger: Logger) {
        self.cluster = cluster
        self.leases = leases
        self.logger = logger
    }

    deinit { if wakeFD >= 0 { close(wakeFD) } }

    /// Binds to (creating) the durable consumer of each owned partition.
    func open() throws {
        let js = cluster.jetStream!
        for p in cluster.settings.ownedPartitions.sorted() {
            let sub: PullSubscription
            do {
                sub = try js.pullSubscribe(stream: cluster.settings.ingestStream, subject: cluster.sampleSubject(p),
                                           durable: NATSCluster.durableName(p),
                                           ackWaitNanoseconds: durationNanoseconds(cluster.settings.ackWait),
                                           maxAckPending: Self.maxAckPending)
            } catch {
                throw Daemon.StartError(description: "nats: cannot consume partition \(p) of \(cluster.settings.ingestStream): \(error)")
            }
            subscriptions.append((p, sub))
        }
        heartbeats = subscriptions.map { Heartbeat(name: "vigil-nats-p\($0.partition)") }
    }

    func start() {
        for (i, (partition, sub)) in subscriptions.enumerated() {
            let beat = heartbeats[i]
            threads.append(StageThread(name: "vigil-nats-p\(partition)") { [self] in
                self.fetchLoop(partition: partition, sub: sub, heartbeat: beat)
            })
        }
    }

    /// Stops fetching (at the start of the drain, or when the lease is lost); what was fetched
    /// stays in the inbox for the ingest thread.
    func stopFetching() { stopping.store(true, ordering: .releasing) }

    func join() {
        stopFetching()
        for t in threads { t.join() }
        threads.removeAll()
    }

    /// Everything fetched so far (ingest thread).
    func take() -> [Delivery] {
        var count: UInt64 = 0
        _ = read(wakeFD, &count, 8)
        return inbox.withLock { d in
            let out = d
            d.removeAll(keepingCapacity: true)
            return out
        }
    }

    private func fetchLoop(partition: Int, sub: PullSubscription, heartbeat: Heartbeat) {
        var lastError: UInt64 = 0
        while !stopping.load(ordering: .acquiring) {
            heartbeat.beat()
            if leases?.isLost == true { break }
            do {
                let messages = try sub.fetch(batch: 256, timeoutMilliseconds: 500)
                guard !messages.isEmpty else { continue }
                inbox.withLock { d in
                    for m in messages { d.append(Delivery(partition: partition, message: m)) }
                }
                var one: UInt64 = 1
                _ = write(wakeFD, &one, 8)
            } catch {
                // The server went away (libnats reconnects to another one), a leader election of
                // the consumer, …: log at most every 10 s and try again shortly.
                let now = SystemTime.monotonicNanoseconds()
                if now &- lastError > 10_000_000_000 {
                    logger.warning("nats: fetching partition \(partition): \(error); retrying")
                    lastError = now
                }
                for _ in 0..<5 where !stopping.load(ordering: .acquiring) {
                    heartbeat.beat()
                    usleep(50_000)
                }
            }
        }
    }
}
