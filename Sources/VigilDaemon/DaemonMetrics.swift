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
    let journalErrors = AtomicCounters(count: 1)
    let ingestLatency = LatencyHistogram()
    let publishLatency = LatencyHistogram()
    let ready = Atomic<Bool>(false)
    let draining = Atomic<Bool>(false)
    let startedAt = Clock.wallNanoseconds()

    func countAlert(_ e: AlertEvent) {
        alerts.add(Self.alertIndex(e.detector, e.severity, e.event), 1)
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
        counter("vigil_journal_errors_total", "Failed journal writes.", journalErrors[0])
        gauge("vigil_sensors", "Sensors known to the daemon (with an accepted sample, not evicted).", Double(pipeline.registry.liveCount))
        counter("vigil_sensors_evicted_total", "Sensors evicted after limits.sensor_idle_timeout without a sample.", pipeline.sensorsEvicted)
        s += "# HELP vigil_ring_occupancy Samples queued per worker ring.\n# TYPE vigil_ring_occupancy gauge\n"
        for (w, n) in pipeline.ringOccupancy.enumerated() { s += "vigil_ring_occupancy{worker=\"\(w)\"} \(n)\n" }
        gauge("vigil_ring_capacity", "Capacity of each worker ring.", Double(pipeline.ringCapacity))
        gauge("vigil_workers", "Worker threads.", Double(pipeline.configuration.workers))
        ingestLatency.render(name: "vigil_ingest_round_seconds", help: "Time to receive, decode and queue one round of ingest messages.", into: &s)
        publishLatency.render(name: "vigil_publish_round_seconds", help: "Time to journal and publish one round of alerts.", into: &s)
        gauge("vigil_start_time_seconds", "Start time of the daemon (Unix seconds).", Double(startedAt) / 1e9)
        return s
    }
}
