// SPDX-License-Identifier: GPL-3.0-or-later
import NATS
import Synchronization
import VigilConfig
import VigilCore

/// The JetStream alert stream as the publisher's second destination (config `nats.alert_stream`):
/// each journaled alert event is stored on `<alert_stream>.<partition>` (the partition of its
/// sensor or asset, `SensorPartition`) with `Nats-Msg-Id` `<id>:raised:<severity>` or
/// `<id>:cleared`, so an event stored twice — a retry, or a standby that re-derives an alert its
/// failed predecessor had published — is stored once (JetStream's duplicate window is an hour).
///
/// Threading: `publish` from the publisher thread; `lastSequence` from any thread.
final class AlertStreamSink: @unchecked Sendable {
    private let cluster: NATSCluster
    var stream: String { cluster.settings.alertStream }
    private let sequence = Atomic<UInt64>(0)

    init(cluster: NATSCluster) {
        self.cluster = cluster
    }

    /// The alert stream's sequence of the last event this daemon stored (or found stored). Every
    /// alert journaled before a checkpoint began is at or below the value read then, which is
    /// where a restore's reconcile with the alert stream starts reading.
    var lastSequence: UInt64 { sequence.load(ordering: .acquiring) }

    /// The de-duplication id of an alert event.
    static func messageID(_ record: AlertRecord) -> String {
        record.event == .raised ? "\(record.id):raised:\(record.severity.rawValue)" : "\(record.id):cleared"
    }

    /// Stores one event and waits for JetStream's acknowledgement; returns whether JetStream had
    /// it already.
    func publish(_ record: AlertRecord, json: String) throws(NATSError) -> Bool {
        let subject = cluster.alertSubject(SensorPartition.of(record.sensor, partitions: cluster.settings.partitions))
        let ack = try cluster.jetStream!.publish(subject: subject, payload: Array(json.utf8), messageID: Self.messageID(record))
        if ack.sequence > sequence.load(ordering: .relaxed) { sequence.store(ack.sequence, ordering: .releasing) }
        return ack.duplicate
    }
}
