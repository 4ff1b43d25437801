// SPDX-License-Identifier: GPL-3.0-or-later
import Synchronization
import VigilCore
import VigilPipeline

/// The daemon's counters and histograms, rendered in the Prometheus text format for `/metrics`.
/// Every update is a relaxed atomic add: safe from any thread, nothing on the hot path waits.
final class DaemonMetrics: Sendable {
    let samplesReceived = AtomicCounters(count: 1)
    let messagesReceived = AtomicCounters(count: 1)
    /// Alerts by detector × severity × event.
    let alerts = AtomicCounters(count: DetectorKind.allCases.count * Severity.allCases.count * 2)
    let lastSeq = AtomicCounters(count: 1)
    /// Failed journal writes: alert batches (each failed try) and retention passes.
    let journalErrors = AtomicCounters(count: 1)
    /// Alerts deleted from the journal by retention.
    let journalDeleted = AtomicCounters(count: 1)
    /// False while the publisher cannot write the journal (`/readyz` answers 503).
    let journalWritable = Atomic<Bool>(true)
    let ingestLatency = LatencyHistogram()
    let publishLatency = LatencyHistogram()
    /// Checkpoints written (periodic and at shutdown).
    let checkpoints = AtomicCounters(count: 1)
    /// Checkpoints given up or not written.
    let checkpointFailures = AtomicCounters(count: 1)
    /// The last checkpoint written: [0] nanoseconds it took, [1] bytes, [2] sensors, [3] wall-clock
    /// nanoseconds when it began.
    let checkpointLast = AtomicCounters(count: 4)
    /// The longest pause each worker took for the last periodic checkpoint, in nanoseconds.
    private let checkpointPauses = Lock<[UInt64]>([])
    /// Threads whose heartbeat stopped (written by the main thread at each watchdog check).
    private let stalls = Lock<[StageWatchdog.Stall]>([])
    /// From ingest receiving a sample to the alert it caused being published (per alert event).
    let alertLatency = LatencyHistogram(bounds: LatencyHistogram.decimalBounds)
    let ready = Atomic<Bool>(false)
    let draining = Atomic<Bool>(false)
    let startedAt = SystemTime.wallNanoseconds()
    /// The `endpoint` labels of `vigil_auth_failures_total` (empty without CURVE).
    let authEndpoints: [String]
    /// Refused connections per `authEndpoints` entry.
    let authFailures: AtomicCounters
    /// Client keys the ZAP handler admits now.
    let authorizedKeys = AtomicCounters(count: 1)

    /// NATS: the owned partitions (labels), and per partition [2i] messages and [2i + 1] samples
    /// acknowledged (processed, their alerts journaled and published) to JetStream.
    let natsPartitions: [Int]
    let natsAcked: AtomicCounters
    /// NATS: [0] messages redelivered by JetStream, [1] alerts published to the alert stream,
    /// [2] of them JetStream already had (duplicates), [3] failed alert publishes (retried).
    let natsCounters = AtomicCounters(count: 4)
    /// MQTT: [0] messages received (handed to the pipeline), [1] reconnections.
    let mqttCounters = AtomicCounters(count: 2)
    private let mqttEnabled: Bool

    /// Metrics with one `vigil_auth_failures_total` series per entry of `authEndpoints`.
    init(authEndpoints: [String] = [], natsPartitions: [Int] = [], mqtt: Bool = false) {
        mqttEnabled = mqtt
        self.authEndpoints = authEndpoints
        authFailures = AtomicCounters(count: authEndpoints.count)
        self.natsPartitions = natsPartitions
        natsAcked = AtomicCounters(count: 2 * natsPartitions.count)
    }

    /// The `vigil_nats_*` and `vigil_mqtt_*` series.
    private func renderCluster() -> String {
        var s = ""
        if !natsPartitions.isEmpty {
            s += "# HELP vigil_nats_acked_messages_total JetStream sample messages acknowledged (processed, alerts journaled and published), by partition.\n# TYPE vigil_nats_acked_messages_total counter\n"
            for (i, p) in natsPartitions.enumerated() { s += "vigil_nats_acked_messages_total{partition=\"\(p)\"} \(natsAcked[2 * i])\n" }
            s += "# HELP vigil_nats_acked_samples_total Samples of acknowledged JetStream messages that were processed (duplicates left out), by partition.\n# TYPE vigil_nats_acked_samples_total counter\n"
            for (i, p) in natsPartitions.enumerated() { s += "vigil_nats_acked_samples_total{partition=\"\(p)\"} \(natsAcked[2 * i + 1])\n" }
            s += "# HELP vigil_nats_redelivered_total JetStream sample messages received again (a redelivery).\n# TYPE vigil_nats_redelivered_total counter\nvigil_nats_redelivered_total \(natsCounters[0])\n"
            s += "# HELP vigil_nats_alerts_published_total Alert events stored in the JetStream alert stream.\n# TYPE vigil_nats_alerts_published_total counter\nvigil_nats_alerts_published_total \(natsCounters[1])\n"
            s += "# HELP vigil_nats_alerts_duplicate_total Alert events the alert stream already had (same Nats-Msg-Id).\n# TYPE vigil_nats_alerts_duplicate_total counter\nvigil_nats_alerts_duplicate_total \(natsCounters[2])\n"
            s += "# HELP vigil_nats_alert_publish_errors_total Failed publishes to the alert stream (each retried).\n# TYPE vigil_nats_alert_publish_errors_total counter\nvigil_nats_alert_publish_errors_total \(natsCounters[3])\n"
        }
        guard mqttEnabled else { return s }
        s += "# HELP vigil_mqtt_messages_total MQTT messages handed to the pipeline.\n# TYPE vigil_mqtt_messages_total counter\nvigil_mqtt_messages_total \(mqttCounters[0])\n"
        s += "# HELP vigil_mqtt_reconnects_total MQTT reconnections after a lost connection.\n# TYPE vigil_mqtt_reconnects_total counter\nvigil_mqtt_reconnects_total \(mqttCounters[1])\n"
        return s
    }

    func setCheckpointPauses(_ pauses: [UInt64]) { checkpointPauses.withLock { $0 = pauses } }

    /// Records the stalled threads of the last watchdog check (empty when all make progress).
    func setStalls(_ s: [StageWatchdog.Stall]) { stalls.withLock { $0 = s } }

    /// The stalled threads of the last watchdog check.
    var stalledStages: [StageWatchdog.Stall] { stalls.withLock { $0 } }

    /// Counts one published alert.
    func countAlert(_ r: AlertRecord) {
        alerts.add(Self.alertIndex(r.detector, r.severity, r.event), 1)
    }

    /// Whether `/readyz` should answer 200: started, not draining, and the journal writable.
    var isReady: Bool {
        ready.load(ordering: .acquiring) && !draining.load(ordering: .acquiring) && journalWritable.load(ordering: .acquiring)
    }

    private static func alertIndex(_ d: DetectorKind, _ s: Severity, _ e: AlertEventKind) -> Int {
        let di = DetectorKind.allCases.firstIndex(of: d)!
        let si = Severity.allCases.firstIndex(of: s)!
        return (di * Severity.allCases.count + si) * 2 + (e == .raised ? 0 : 1)
    }

    /// A Prometheus label value: backslash, double quote and newline escaped.
    static func escapeLabel(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    func render(pipeline: Pipeline) -> String {
        var s = ""
        func counter(_ name: String, _ help: String, _ value: UInt64) {
            s += "# HELP \(name) \(help)\n# TYPE \(name) counter\n\(name) \(value)\n"
        }
        func gauge(_ name: String, _ help: String, _ value: Double) {
            s += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name) \(value)\n"
        }
        s += renderCluster()
        counter("vigil_messages_received_total", "Ingest messages received.", messagesReceived[0])
        counter("vigil_samples_received_total", "Samples decoded and accepted by ingest.", samplesReceived[0])
        counter("vigil_samples_processed_total", "Samples scored by the detectors.", pipeline.samplesProcessed)
        s += "# HELP vigil_dropped_total Messages (or single samples) dropped by ingest, by reason.\n# TYPE vigil_dropped_total counter\n"
        for r in DropReason.allCases {
            s += "vigil_dropped_total{reason=\"\(r.rawValue)\"} \(pipeline.drops.messages(r))\n"
        }
        s += "# HELP vigil_dropped_samples_total Samples lost with dropped messages, by reason (where known).\n# TYPE vigil_dropped_samples_total counter\n"
        for r in DropReason.allCases {
            s += "vigil_dropped_samples_total{reason=\"\(r.rawValue)\"} \(pipeline.drops.samples(r))\n"
        }
        s += "# HELP vigil_alerts_total Alert events published, by detector, severity and event.\n# TYPE vigil_alerts_total counter\n"
        for d in DetectorKind.allCases {
            for sev in Severity.allCases {
                for e in [AlertEventKind.raised, .cleared] {
                    s += "vigil_alerts_total{detector=\"\(d.rawValue)\",severity=\"\(sev.rawValue)\",event=\"\(e.rawValue)\"} \(alerts[Self.alertIndex(d, sev, e)])\n"
                }
            }
        }
        gauge("vigil_alert_seq", "Sequence number of the last published alert.", Double(lastSeq[0]))
        counter("vigil_journal_errors_total", "Failed journal writes (each failed try of an alert batch, and failed retention passes).", journalErrors[0])
        gauge("vigil_journal_writable", "1 while the journal takes alerts, 0 while writes fail and alerts are held.", journalWritable.load(ordering: .relaxed) ? 1 : 0)
        counter("vigil_journal_retention_deleted_total", "Alerts deleted from the journal by state.journal_retention.", journalDeleted[0])
        gauge("vigil_sensors", "Sensors known to the daemon (with an accepted sample, not evicted).", Double(pipeline.liveSensorCount))
        counter("vigil_sensors_evicted_total", "Sensors evicted after limits.sensor_idle_timeout without a sample.", pipeline.sensorsEvicted)
        s += "# HELP vigil_ring_occupancy Samples queued per worker ring.\n# TYPE vigil_ring_occupancy gauge\n"
        for (w, n) in pipeline.ringOccupancy.enumerated() { s += "vigil_ring_occupancy{worker=\"\(w)\"} \(n)\n" }
        gauge("vigil_ring_capacity", "Capacity of each worker ring.", Double(pipeline.ringCapacity))
        gauge("vigil_workers", "Worker threads.", Double(pipeline.configuration.workers))
        ingestLatency.render(name: "vigil_ingest_round_seconds", help: "Time to receive, decode and queue one round of ingest messages.", into: &s)
        publishLatency.render(name: "vigil_publish_round_seconds", help: "Time to journal and publish one round of alerts.", into: &s)
        if !authEndpoints.isEmpty {
            s += "# HELP vigil_auth_failures_total Connections refused by CURVE authentication (key not authorized, not CURVE, wrong server key), by bound endpoint.\n# TYPE vigil_auth_failures_total counter\n"
            for (i, e) in authEndpoints.enumerated() {
                s += "vigil_auth_failures_total{endpoint=\"\(Self.escapeLabel(e))\"} \(authFailures[i])\n"
            }
            gauge("vigil_auth_authorized_keys", "Client public keys CURVE authentication admits (security.curve.authorized_keys_file, re-read on SIGHUP).", Double(authorizedKeys[0]))
        }
        counter("vigil_checkpoints_total", "Detector checkpoints written (periodic and at shutdown).", checkpoints[0])
        counter("vigil_checkpoint_failures_total", "Detector checkpoints given up or not written (the previous one stays).", checkpointFailures[0])
        gauge("vigil_checkpoint_duration_seconds", "Time the last checkpoint took, from request to rename.", Double(checkpointLast[0]) / 1e9)
        gauge("vigil_checkpoint_bytes", "Size of the last checkpoint.", Double(checkpointLast[1]))
        gauge("vigil_checkpoint_sensors", "Sensors in the last checkpoint.", Double(checkpointLast[2]))
        gauge("vigil_checkpoint_time_seconds", "When the last checkpoint began (Unix seconds; 0: none yet).", Double(checkpointLast[3]) / 1e9)
        s += "# HELP vigil_checkpoint_pause_seconds Longest pause of a worker's sample loop during the last periodic checkpoint.\n# TYPE vigil_checkpoint_pause_seconds gauge\n"
        for (w, ns) in checkpointPauses.withLock({ $0 }).enumerated() { s += "vigil_checkpoint_pause_seconds{worker=\"\(w)\"} \(Double(ns) / 1e9)\n" }
        let stalled = stalledStages
        s += "# HELP vigil_stage_stalled 1 for a thread whose heartbeat stopped (the watchdog ping is withheld).\n# TYPE vigil_stage_stalled gauge\n"
        for stall in stalled { s += "vigil_stage_stalled{thread=\"\(stall.name)\"} 1\n" }
        alertLatency.render(name: "vigil_alert_latency_seconds", help: "From ingest receiving a sample to the alert event it caused being published (journaled, then sent on the PUB socket).", into: &s)
        gauge("vigil_start_time_seconds", "Start time of the daemon (Unix seconds).", Double(startedAt) / 1e9)
        return s
    }
}
