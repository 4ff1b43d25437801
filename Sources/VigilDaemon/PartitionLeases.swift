// SPDX-License-Identifier: GPL-3.0-or-later
import Logging
import NATS
import Synchronization
import VigilConfig
import VigilCore
import VigilPipeline
#if canImport(Glibc)
import Glibc
#endif

/// Ownership of this daemon's share of the partitions: one key per partition (`p<N>`) in the
/// `<ingest_stream>_leases` bucket, whose keys expire `nats.lease_ttl` after their last write.
///
/// - `acquire` (at start, before any detector state is restored) creates every key of the share,
///   all or none: while another daemon holds one (the active daemon of a standby pair), it waits,
///   retrying every second, and says once whom it waits for. A daemon with a share that overlaps
///   another's but differs from it waits until that one stops: shares are disjoint, or equal.
/// - As a stage, a thread renews every key at a third of the TTL. A renewal that finds the key
///   taken by someone else (after this daemon stalled for longer than the TTL) loses the share:
///   the lease thread logs it as critical, marks it lost (the NATS source stops fetching at once)
///   and sends the daemon SIGTERM, so that it drains and stops (systemd restarts it as a standby).
/// - At a clean stop the keys are deleted, so a standby takes over at once.
///
/// Threading: `acquire` on the starting thread; the renewals on the lease thread; `isLost` from
/// any thread.
final class PartitionLeases: Stage, @unchecked Sendable {
    let name = "leases"
    private let cluster: NATSCluster
    private let logger: Logger
    private let heartbeat = Heartbeat(name: "vigil-leases")
    var heartbeats: [Heartbeat] { [heartbeat] }
    private var revisions: [Int: UInt64] = [:]
    private var thread: StageThread?
    private let stopping = Atomic<Bool>(false)
    private let lost = Atomic<Bool>(false)

    init(cluster: NATSCluster, logger: Logger) {
        self.cluster = cluster
        self.logger = logger
    }

    private var store: KeyValueStore { cluster.leases! }
    private var value: [UInt8] { Array(cluster.ownerID.utf8) }
    private static func key(_ p: Int) -> String { "p\(p)" }

    /// True once a renewal found a key taken by another daemon.
    var isLost: Bool { lost.load(ordering: .acquiring) }

    /// Takes every lease of the share, waiting while any is held by another daemon. `interrupted`
    /// is asked between tries (a signal to stop); throws when it says so.
    func acquire(interrupted: () -> Bool) throws {
        var announced = ""
        while true {
            var held: [Int: UInt64] = [:]
            var holder: (Int, String)?
            for p in cluster.settings.ownedPartitions.sorted() {
                if let rev = try store.create(Self.key(p), value) {
                    held[p] = rev
                } else {
                    let who = (try? store.get(Self.key(p))).flatMap { $0 }.map { String(decoding: $0.value, as: UTF8.self) } ?? "another daemon"
                    holder = (p, who)
                    break
                }
            }
            if let holder {
                for p in held.keys { try? store.delete(Self.key(p)) }
                let line = "partition \(holder.0) is held by \(holder.1)"
                if line != announced {
                    logger.notice("standby: waiting for the share \(cluster.shareKey) of \(cluster.settings.ingestStream): \(line); taking over when its lease expires (nats.lease_ttl \(cluster.settings.leaseTTL)) or it stops")
                    announced = line
                }
                for _ in 0..<10 {
                    if interrupted() { throw Daemon.StartError(description: "stopped while waiting for the partition leases") }
                    usleep(100_000)
                }
                continue
            }
            revisions = held
            logger.info("holding the partition leases of share \(cluster.shareKey)", metadata: ["owner": "\(cluster.ownerID)"])
            // Renew from now on: restoring the state and binding the consumers may take longer
            // than the TTL.
            thread = StageThread(name: "vigil-leases") { [self] in self.run() }
            return
        }
    }

    /// The renewals started in `acquire`; nothing more to start.
    func start() {}

    func requestStop() { stopping.store(true, ordering: .releasing) }

    func join() {
        thread?.join()
        thread = nil
        if !isLost, cluster.connection?.isConnected == true {
            for p in revisions.keys.sorted() { try? store.delete(Self.key(p)) }
            logger.info("released the partition leases of share \(cluster.shareKey)")
        } else if !isLost {
            logger.warning("the NATS cluster is unreachable: the partition leases of share \(cluster.shareKey) expire after nats.lease_ttl \(cluster.settings.leaseTTL) instead of being released")
        }
    }

    private func run() {
        let interval = max(UInt64(durationNanoseconds(cluster.settings.leaseTTL)) / 3, 200_000_000)
        var next = SystemTime.monotonicNanoseconds() &+ interval
        while !stopping.load(ordering: .acquiring) {
            heartbeat.beat()
            if SystemTime.monotonicNanoseconds() >= next {
                renew()
                next = SystemTime.monotonicNanoseconds() &+ interval
            }
            usleep(50_000)
        }
    }

    private func renew() {
        guard !isLost else { return }
        for p in revisions.keys.sorted() where !stopping.load(ordering: .acquiring) {
            do {
                if let rev = try store.update(Self.key(p), value, revision: revisions[p]!) {
                    revisions[p] = rev
                } else if let rev = try store.create(Self.key(p), value) {
                    // Expired (this daemon was slower than the TTL) and nobody took it: take it back.
                    logger.warning("the lease of partition \(p) had expired; renewed it (nobody had taken it)")
                    revisions[p] = rev
                } else {
                    lost.store(true, ordering: .releasing)
                    logger.critical("lost the lease of partition \(p) to another daemon (this one did not renew it within nats.lease_ttl \(cluster.settings.leaseTTL)); stopping ingest from NATS and shutting down")
                    kill(getpid(), SIGTERM)
                    return
                }
            } catch {
                // The cluster is unreachable: keep trying; the key lives for the TTL.
                logger.warning("cannot renew the lease of partition \(p): \(error)")
            }
        }
    }
}
