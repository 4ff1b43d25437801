// SPDX-License-Identifier: GPL-3.0-or-later
import Logging
import NATS
import VigilConfig
import VigilCore
import VigilPipeline
#if canImport(Glibc)
import Glibc
#endif

extension Daemon {
    /// With `nats`, before the detector state is restored: connects, takes the share's leases
    /// (a standby waits here for its active peer to stop or fail), and replaces the local
    /// checkpoint with the share's checkpoint from JetStream when there is one. Returns the alert
    /// stream sequence that checkpoint covers (0: read the whole alert stream).
    func joinCluster() throws -> UInt64 {
        guard let cluster = natsCluster else { return 0 }
        try cluster.open(alertRetentionNanoseconds: durationNanoseconds(options.journalRetention))
        notifier.notify("STATUS=standby: waiting for the leases of partitions \(cluster.shareKey)")
        try leases?.acquire(interrupted: { Self.stopSignalPending() })
        publisher.alertStream = alertSink
        checkpoints.replica = checkpointStore
        do {
            if let manifest = try checkpointStore?.download(to: snapshotPath) {
                logger.info("resuming from the share's checkpoint in JetStream", metadata: [
                    "share": "\(cluster.shareKey)", "generation": "\(manifest.generation)", "bytes": "\(manifest.bytes)",
                    "alert_stream_seq": "\(manifest.alertStreamSeq)", "writer": "\(manifest.writer)",
                ])
                return manifest.alertStreamSeq
            }
        } catch {
            logger.warning("cannot read the share's checkpoint from JetStream: \(error); using the local one, if any")
        }
        return 0
    }

    /// Whether SIGINT or SIGTERM is pending (they are blocked until `runUntilSignalled`).
    static func stopSignalPending() -> Bool {
        var pending = sigset_t()
        sigpending(&pending)
        return sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1
    }

    /// The reconcile of the restored state (see `reconcileWithJournal`) with the alert stream
    /// instead of the local journal: the alert stream holds what every daemon that owned these
    /// partitions published, and a checkpoint from JetStream covers every alert at or below
    /// `mark`. Reads the owned partitions' subjects after `mark` up to the stream's last
    /// message; each event's order is its stream sequence.
    func reconcileWithAlertStream(after mark: UInt64) {
        guard let cluster = natsCluster, let js = cluster.jetStream else { return }
        let started = SystemTime.monotonicNanoseconds()
        let stream = cluster.settings.alertStream
        let owned = Set(cluster.settings.ownedPartitions)
        var latest: [String: JournaledAlert] = [:]
        var rows = 0
        do {
            guard let info = try js.streamInfo(stream), info.lastSequence > mark else { return }
            let sub = try js.orderedSubscribe(stream: stream, subject: "\(stream).*", from: .sequence(mark + 1))
            while true {
                guard let message = try sub.next(timeoutMilliseconds: 5000) else {
                    logger.warning("the alert stream \(stream) stopped delivering before its last message \(info.lastSequence); reconciling with what was read")
                    break
                }
                guard let meta = message.metadata else { continue }
                let subject = message.subject
                if let p = Int(subject.split(separator: ".").last ?? ""), owned.contains(p) {
                    rows += 1
                    if var alert = JournaledAlert(json: message.payload) {
                        alert.seq = meta.streamSequence
                        latest[alert.sensor + "\u{0}" + alert.detector.rawValue] = alert
                    }
                }
                if meta.streamSequence >= info.lastSequence { break }
            }
        } catch {
            logger.error("cannot read the alert stream \(stream) to reconcile the detector state: \(error); the restored state is kept as it is")
            return
        }
        applyReconcile(latest, source: "the alert stream \(stream)", after: mark, rows: rows, started: started)
    }
}
