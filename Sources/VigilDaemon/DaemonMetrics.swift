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
    /// From ingest receiving a sample to the alert it caused being published (per alert event).
    let alertLatency = LatencyHistogram(bounds: LatencyHistogram.decimalBounds)
    let ready = Atomic<Bool>(false)
    let draining = Atomic<Bool>(false)
    let startedAt = Clock.wallNanoseconds()

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

    func render(pipeline: Pipeline) -> String {
        var s = ""
        func counter(_ name: String, _ help: String, _ value: UInt64) {
            s += "# HELP \(name) \(help)\n# TYPE \(name) counter\n\(name) \(value)\n"
        }
        func gauge(_ name: String, _ help: String, _ value: Double) {
            s += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name) \(value)\n"
        }
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
        gauge("vigil_sensors", "Sensors known to the daemon.", Double(pipeline.registry.count))
        s += "# HELP vigil_ring_occupancy Samples queued per worker ring.\n# TYPE vigil_ring_occupancy gauge\n"
        for (w, n) in pipeline.ringOccupancy.enumerated() { s += "vigil_ring_occupancy{worker=\"\(w)\"} \(n)\n" }
        gauge("vigil_ring_capacity", "Capacity of each worker ring.", Double(pipeline.ringCapacity))
        gauge("vigil_workers", "Worker threads.", Double(pipeline.configuration.workers))
        ingestLatency.render(name: "vigil_ingest_round_seconds", help: "Time to receive, decode and queue one round of ingest messages.", into: &s)
        publishLatency.render(name: "vigil_publish_round_seconds", help: "Time to journal and publish one round of alerts.", into: &s)
        alertLatency.render(name: "vigil_alert_latency_seconds", help: "From ingest receiving a sample to the alert event it caused being published (journaled, then sent on the PUB socket).", into: &s)
        gauge("vigil_start_time_seconds", "Start time of the daemon (Unix seconds).", Double(startedAt) / 1e9)
        return s
    }
}
