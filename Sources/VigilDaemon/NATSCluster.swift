// SPDX-License-Identifier: GPL-3.0-or-later
import Logging
import NATS
import VigilConfig
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// The daemon's side of a NATS JetStream cluster (config `nats`): one connection, the sample
/// stream (created with its partitions when missing, checked otherwise), the alert stream, and
/// two key-value buckets — `<ingest_stream>_leases` (partition leases, keys expire `lease_ttl`
/// after their last renewal) and `<ingest_stream>_checkpoints` (detector checkpoints per share).
///
/// Names (documented in the README, "Running several daemons"):
/// - samples of partition `p`: subject `<ingest_stream>.<p>` (`SensorPartition`), durable pull
///   consumer `vigil_p<p>`; the stream is a work queue (a message is deleted once acknowledged);
/// - alerts: subject `<alert_stream>.<p>` (the partition of the alert's sensor or asset),
///   `Nats-Msg-Id` `<id>:raised:<severity>` or `<id>:cleared`;
/// - leases: key `p<p>` holding the owner's id; checkpoints: key `share.<share>` (the manifest)
///   and its parts, where `<share>` is the owned partitions joined by `-`.
///
/// Threading: `open` on the starting thread; afterwards any thread (libnats is thread-safe).
final class NATSCluster: @unchecked Sendable {
    let settings: VigilConfiguration.NATS
    let logger: Logger
    /// Who this daemon is, in lease values and log lines.
    let ownerID: String
    private(set) var connection: NATSConnection?
    private(set) var jetStream: JetStream?
    private(set) var leases: KeyValueStore?
    private(set) var checkpoints: KeyValueStore?

    /// How long JetStream remembers a `Nats-Msg-Id` of the alert stream: a failover within it
    /// cannot store an alert twice.
    static let alertDuplicateWindow: Int64 = 3600 * 1_000_000_000
    /// The same for the sample stream (a gateway's retried publish).
    static let sampleDuplicateWindow: Int64 = 120 * 1_000_000_000

    init(settings: VigilConfiguration.NATS, stateDirectory: String, logger: Logger) {
        self.settings = settings
        self.logger = logger
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        let hostName = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        ownerID = "\(hostName) pid \(getpid()) state \(stateDirectory) #\(UInt32.random(in: 0...UInt32.max))"
    }

    /// The owned partitions as a key part: `0-1-2-3`.
    var shareKey: String { settings.ownedPartitions.sorted().map(String.init).joined(separator: "-") }

    func sampleSubject(_ partition: Int) -> String { SensorPartition.subject(stream: settings.ingestStream, partition: partition) }
    func alertSubject(_ partition: Int) -> String { SensorPartition.subject(stream: settings.alertStream, partition: partition) }
    static func durableName(_ partition: Int) -> String { "vigil_p\(partition)" }

    /// Connects and makes sure the streams and buckets exist. Throws a `Daemon.StartError`
    /// naming the servers, or the stream whose partitions differ from the configuration.
    func open(alertRetentionNanoseconds: Int64) throws {
        do {
            let c = try NATSConnection(servers: settings.servers, name: "vigild \(ownerID)")
            let js = try c.jetStream()
            connection = c
            jetStream = js
            try ensureSampleStream(js)
            if try js.streamInfo(settings.alertStream) == nil {
                try js.addStream(name: settings.alertStream, subjects: ["\(settings.alertStream).*"],
                                 description: "vigil alerts: \(settings.partitions) partitions", replicas: settings.replicas,
                                 duplicateWindowNanoseconds: Self.alertDuplicateWindow, maxAgeNanoseconds: alertRetentionNanoseconds)
                logger.notice("created the JetStream alert stream \(settings.alertStream) (\(settings.replicas) replicas)")
            }
            leases = try js.keyValue(bucket: "\(settings.ingestStream)_leases", replicas: settings.replicas,
                                     ttlNanoseconds: durationNanoseconds(settings.leaseTTL))
            checkpoints = try js.keyValue(bucket: "\(settings.ingestStream)_checkpoints", replicas: settings.replicas)
        } catch let error as Daemon.StartError {
            throw error
        } catch {
            throw Daemon.StartError(description: "nats: \(error) (nats.servers: \(settings.servers.joined(separator: ", ")))")
        }
    }

    private func ensureSampleStream(_ js: JetStream) throws {
        let description = SensorPartition.streamDescription(partitions: settings.partitions)
        guard let info = try js.streamInfo(settings.ingestStream) else {
            try js.addStream(name: settings.ingestStream, subjects: ["\(settings.ingestStream).*"], description: description,
                             replicas: settings.replicas, duplicateWindowNanoseconds: Self.sampleDuplicateWindow, workQueue: true)
            logger.notice("created the JetStream sample stream \(settings.ingestStream) with \(settings.partitions) partitions (\(settings.replicas) replicas)")
            return
        }
        if let existing = SensorPartition.partitions(fromStreamDescription: info.description), existing != settings.partitions {
            throw Daemon.StartError(description: "nats: the stream \(settings.ingestStream) has \(existing) partitions, nats.partitions says \(settings.partitions): the partition count is fixed when the stream is created (use another ingest_stream, or delete the stream)")
        }
    }

    func close() {
        connection?.close()
    }
}

func durationNanoseconds(_ d: Duration) -> Int64 {
    let (s, atto) = d.components
    return s * 1_000_000_000 + atto / 1_000_000_000
}
