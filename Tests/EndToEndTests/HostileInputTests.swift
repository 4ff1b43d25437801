// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilDetectors
import VigilTestKit
import ZeroMQ

/// Junk that must not make sensors, and clocks that must not freeze one: real `vigild`
/// processes, pyzmq peers (`pyzmq_hostile.py`, `pyzmq_peer.py`).
@Suite("vigild against hostile input", .serialized)
struct HostileInputTests {
    let hostile = packageRoot.appendingPathComponent("Tests/EndToEndTests/pyzmq_hostile.py").path
    let peer = packageRoot.appendingPathComponent("Tests/EndToEndTests/pyzmq_peer.py").path

    /// `vigil_dropped_total{reason="…"}` from `/metrics`.
    func dropped(_ daemon: VigildProcess, _ reason: DropReason) -> Double? {
        daemon.metric("vigil_dropped_total{reason=\"\(reason.rawValue)\"}")
    }

    @Test("a junk flood naming 120 000 new sensors adds none; a real new sensor is then accepted, and the snapshot holds only it")
    func junkFlood() throws {
        let state = TestNetwork.temporaryDirectory("vigild")
        let daemon = try VigildProcess(state: state)
        try daemon.start()
        let flood = try runProgram("/usr/bin/env", ["python3", hostile, "junk", daemon.ingest, "120000"])
        #expect(flood.status == 0, "\(flood.err)")
        #expect(TestNetwork.waitUntil(seconds: 30) {
            let counted = [DropReason.malformedJSON, .nonFiniteValue, .futureTimestamp, .truncatedFrame]
                .reduce(0.0) { $0 + (dropped(daemon, $1) ?? 0) }
            return counted == 120_000
        }, "every junk message is counted: \(flood.out)")
        #expect(dropped(daemon, .malformedJSON) == 30_000)
        #expect(dropped(daemon, .nonFiniteValue) == 30_000)
        #expect(dropped(daemon, .futureTimestamp) == 30_000)
        #expect(dropped(daemon, .truncatedFrame) == 30_000)
        #expect(dropped(daemon, .sensorLimit) == 0)
        let sensors = try #require(daemon.metric("vigil_sensors"))
        #expect(sensors < 1_000, "the junk left \(sensors) sensors")
        #expect(sensors == 0)
        #expect(daemon.metric("vigil_samples_received_total") == 0)

        // A real new sensor (pyzmq, one JSON sample a message, a spike at 200) is accepted and
        // processed, and raises its alert.
        let collector = try AlertCollector(endpoint: daemon.publish)
        let real = try runProgram("/usr/bin/env", ["python3", peer, "send", daemon.ingest, "plant1/real", "300", "200"])
        #expect(real.status == 0, "\(real.err)")
        #expect(TestNetwork.waitUntil(seconds: 10) { daemon.metric("vigil_samples_processed_total") == 300 })
        #expect(daemon.metric("vigil_sensors") == 1)
        #expect(TestNetwork.waitUntil(seconds: 10) { collector.alerts.contains { $0.sensor == "plant1/real" && $0.event == .raised } })
        collector.stop()
        #expect(daemon.stop() == 0)
        #expect(daemon.logText.contains("saved detector state") && daemon.logText.contains("sensors=1"), "\(daemon.logText)")

        // After a restart, the snapshot brought back the real sensor and nothing of the junk.
        let again = try VigildProcess(state: state)
        try again.start()
        #expect(again.metric("vigil_sensors") == 1)
        #expect(again.logText.contains("restored detector state"))
        #expect(again.stop() == 0)
        let snapshot = try DetectorSnapshot(decoding: Array(try Data(contentsOf: URL(fileURLWithPath: state + "/detectors.snapshot"))))
        #expect(snapshot.names == ["plant1/real"])
    }

    @Test("timestamps from a wrong clock: the future one and the late one are dropped and counted, the sensor goes on and alerts")
    func wrongClock() throws {
        let daemon = try VigildProcess()
        try daemon.start()
        let collector = try AlertCollector(endpoint: daemon.publish)
        let run = try runProgram("/usr/bin/env", ["python3", hostile, "clock", daemon.ingest, "clock/s"])
        #expect(run.status == 0, "\(run.err)")
        let expected = try JSONDecoder().decode([String: Double].self, from: Data(run.out.utf8))
        let accepted = try #require(expected["accepted"])
        #expect(TestNetwork.waitUntil(seconds: 10) { daemon.metric("vigil_samples_processed_total") == accepted })
        #expect(dropped(daemon, .futureTimestamp) == expected["future_timestamp"])
        #expect(dropped(daemon, .lateSample) == expected["late_sample"])
        #expect(expected["future_timestamp"] == 1 && expected["late_sample"] == 1)
        let metrics = TestNetwork.httpGet(port: daemon.metricsPort, path: "/metrics")?.body ?? ""
        #expect(metrics.contains("vigil_dropped_samples_total{reason=\"late_sample\"} 1"))
        #expect(metrics.contains("vigil_dropped_total{reason=\"past_timestamp\"} 0"), "listed like every reason")
        // The spike after the clock trouble raised (and cleared) an alert: the baseline was not frozen.
        #expect(TestNetwork.waitUntil(seconds: 10) { collector.alerts.filter { $0.sensor == "clock/s" }.count == 2 })
        collector.stop()
        #expect(collector.alerts.map(\.event) == [.raised, .cleared])
        #expect(daemon.stop() == 0)
    }

    @Test("a looped replay keeps its timestamps acceptable: rebased or not, nothing is late or in the future; past 2262 it stops with an error, not a trap")
    func loopedReplay() throws {
        let daemon = try VigildProcess()
        try daemon.start()
        let vigil = binDirectory.appendingPathComponent("vigil").path
        let nab = packageRoot.appendingPathComponent("Fixtures/nab/data/artificialWithAnomaly/art_daily_jumpsup.csv").path
        let rebased = try runProgram(vigil, ["replay", nab, "--to", daemon.ingest, "--loop", "--passes", "3", "--rebase-time", "--quiet"])
        #expect(rebased.status == 0, "\(rebased.err)")
        // The same recording under another name (the sensor is the file's stem): the rebased
        // replay left its sensor's newest timestamp at today, so 2014 would be late for it.
        let dir = TestNetwork.temporaryDirectory("replay")
        let copy = dir + "/recorded_copy.csv"
        try FileManager.default.copyItem(atPath: nab, toPath: copy)
        let recorded = try runProgram(vigil, ["replay", copy, "--to", daemon.ingest, "--loop", "--passes", "3", "--quiet",
                                              "--format", "json"])
        #expect(recorded.status == 0, "\(recorded.err)")
        #expect(TestNetwork.waitUntil(seconds: 20) { daemon.metric("vigil_samples_processed_total") == 6 * 4032 })
        #expect(dropped(daemon, .lateSample) == 0 && dropped(daemon, .futureTimestamp) == 0)

        // A recording near the end of Int64 nanoseconds: the second pass cannot be stamped.
        let csv = dir + "/far.csv"
        try "timestamp,value\n2250-01-01 00:00:00,1\n2260-01-01 00:00:00,2\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let far = try runProgram(vigil, ["replay", csv, "--to", daemon.ingest, "--loop", "--quiet"])
        #expect(far.status == 1, "an error exit, not a trap: \(far.status) \(far.err)")
        #expect(far.err.contains("replay pass 2: unrepresentable timestamp") && far.err.contains("--rebase-time"), "\(far.err)")
        #expect(TestNetwork.waitUntil(seconds: 10) {
            daemon.metric("vigil_dropped_samples_total{reason=\"future_timestamp\"}") == 2
        }, "pass 1 lies in the future: refused")
        #expect(daemon.stop() == 0)
    }

    @Test("an idle sensor is evicted after limits.sensor_idle_timeout, a busy one is not; the evicted one comes back fresh")
    func idleEviction() throws {
        // Grouping off: the two sensors would otherwise form the asset `evict`, whose members are
        // never evicted (their positions in the asset's vector must stay).
        let daemon = try VigildProcess(extraYAML: "limits: {sensor_idle_timeout: 2s}\ngrouping: {rule: none}\n")
        try daemon.start()
        let context = try ZMQContext()
        let push = try ZMQSocket(context: context, type: .push, lingerMilliseconds: 5000)
        try push.connect(daemon.ingest)
        let t0: Int64 = 1_760_000_000_000_000_000
        func send(_ sensor: String, _ i: Int) throws {
            try push.send(IngestEncoder.json(sensor: sensor, ts: t0 + Int64(i) * 1_000_000_000, value: Double(i % 5)))
        }
        for i in 0..<10 { try send("evict/idle", i); try send("evict/busy", i) }
        #expect(TestNetwork.waitUntil(seconds: 5) { daemon.metric("vigil_sensors") == 2 })
        var i = 10
        let evicted = TestNetwork.waitUntil(seconds: 15) {
            try? send("evict/busy", i)
            i += 1
            usleep(200_000)
            return daemon.metric("vigil_sensors_evicted_total") == 1
        }
        #expect(evicted, "\(daemon.logText)")
        #expect(daemon.metric("vigil_sensors") == 1)
        // It reports again: a sensor again, its samples processed.
        let before = daemon.metric("vigil_samples_processed_total") ?? 0
        try send("evict/idle", 100)
        #expect(TestNetwork.waitUntil(seconds: 5) {
            daemon.metric("vigil_sensors") == 2 && daemon.metric("vigil_samples_processed_total") == before + 1
        })
        push.close()
        #expect(daemon.stop() == 0)
    }
}
