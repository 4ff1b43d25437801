// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilTestKit
import ZeroMQ

/// Detector state across a real `vigild` restart (SIGTERM, then a new process on the same state
/// directory).
@Suite("vigild restart keeps detector state", .serialized)
struct RestartStateTests {
    static let start: Int64 = 1_760_000_000_000_000_000

    func send(_ endpoint: String, sensor: String, _ samples: [(ts: Int64, value: Double)]) throws {
        let context = try ZMQContext()
        let push = try ZMQSocket(context: context, type: .push, lingerMilliseconds: 5000)
        try push.connect(endpoint)
        try push.send(IngestEncoder.binary(sensor: sensor, samples: samples))
        push.close()
    }

    /// 100 calm samples: more than the test config's z-score warm-up (32).
    func warmUp() -> [(ts: Int64, value: Double)] {
        (0..<100).map { i in (Self.start + Int64(i) * 1_000_000_000, 10 + sin(Double(i) / 5) * 0.5) }
    }

    /// Three huge samples right after the warm-up (raise_after is 2 in the test config).
    func spike() -> [(ts: Int64, value: Double)] {
        (100..<103).map { i in (Self.start + Int64(i) * 1_000_000_000, 100) }
    }

    @Test("warm up, SIGTERM, restart on the same state: a spike raises at once without a new warm-up")
    func spikeAfterRestart() throws {
        let state = TestNetwork.temporaryDirectory("vigild-restart")
        do {
            let first = try VigildProcess(state: state)
            try first.start()
            try send(first.ingest, sensor: "restart/a", warmUp())
            #expect(TestNetwork.waitUntil(seconds: 10) { first.metric("vigil_samples_processed_total") == 100 })
            #expect(first.stop() == 0)
            #expect(first.logText.contains("saved detector state"), "\(first.logText)")
            #expect(FileManager.default.fileExists(atPath: state + "/detectors.snapshot"))
            #expect(!FileManager.default.fileExists(atPath: state + "/detectors.snapshot.tmp"))
        }
        let second = try VigildProcess(state: state)
        try second.start()
        #expect(second.logText.contains("restored detector state"), "\(second.logText)")
        #expect(second.logText.contains("sensors=1"), "\(second.logText)")
        let collector = try AlertCollector(endpoint: second.publish)
        try send(second.ingest, sensor: "restart/a", spike())
        #expect(TestNetwork.waitUntil(seconds: 10) { collector.alerts.count >= 1 })
        collector.stop()
        let raised = collector.alerts.first
        #expect(raised?.sensor == "restart/a" && raised?.event == .raised)
        #expect(raised.map { $0.ts - (Self.start + 101 * 1_000_000_000) } == 0, "raised on the second spike sample")
        #expect(second.stop() == 0)

        // Control: the same spike into a daemon without the snapshot raises nothing (warming up).
        let fresh = try VigildProcess()
        try fresh.start()
        let freshCollector = try AlertCollector(endpoint: fresh.publish)
        try send(fresh.ingest, sensor: "restart/a", spike())
        #expect(TestNetwork.waitUntil(seconds: 10) { fresh.metric("vigil_samples_processed_total") == 3 })
        usleep(300_000)
        freshCollector.stop()
        #expect(freshCollector.alerts.isEmpty)
        #expect(fresh.stop() == 0)
    }

    /// The shipped surprise detector: 600 calm samples (past its warm-up of 150 and the arming of
    /// its ranges), SIGTERM, restart, then one huge sample raises at once, with its evidence.
    @Test("with the shipped detectors, a restart keeps the surprise detector warm: a spike raises at once")
    func surpriseSpikeAfterRestart() throws {
        let state = TestNetwork.temporaryDirectory("vigild-restart-surprise")
        let calm = (0..<600).map { i in (ts: Self.start + Int64(i) * 1_000_000_000, value: 10 + sin(Double(i) / 5) * 0.5) }
        let spike = [(ts: Self.start + 600 * 1_000_000_000, value: 100.0)]
        do {
            let first = try VigildProcess(state: state, detectors: "")
            try first.start()
            try send(first.ingest, sensor: "restart/s", calm)
            #expect(TestNetwork.waitUntil(seconds: 10) { first.metric("vigil_samples_processed_total") == 600 })
            #expect(first.stop() == 0)
        }
        let second = try VigildProcess(state: state, detectors: "")
        try second.start()
        #expect(second.logText.contains("restored detector state"), "\(second.logText)")
        let collector = try AlertCollector(endpoint: second.publish)
        try send(second.ingest, sensor: "restart/s", spike)
        #expect(TestNetwork.waitUntil(seconds: 10) { collector.alerts.count >= 1 })
        collector.stop()
        let raised = try #require(collector.alerts.first)
        #expect(raised.detector == .surprise && raised.event == .raised && raised.ts == spike[0].ts)
        #expect(raised.context["channel"] == .string("range"), "\(raised.context)")
        #expect(second.stop() == 0)
    }

    @Test("a corrupt snapshot does not stop start-up: it is moved aside with a warning and a fresh one is written on stop")
    func corruptSnapshot() throws {
        let state = TestNetwork.temporaryDirectory("vigild-corrupt")
        let path = state + "/detectors.snapshot"
        try Data("VGLSNAP\0garbage that is not a snapshot".utf8).write(to: URL(fileURLWithPath: path))
        let daemon = try VigildProcess(state: state)
        try daemon.start()
        #expect(daemon.logText.contains("warning"), "\(daemon.logText)")
        #expect(daemon.logText.contains("cannot restore detector state"), "\(daemon.logText)")
        #expect(FileManager.default.fileExists(atPath: path + ".bad"))
        #expect(!FileManager.default.fileExists(atPath: path))
        try send(daemon.ingest, sensor: "corrupt/a", warmUp())
        #expect(TestNetwork.waitUntil(seconds: 10) { daemon.metric("vigil_samples_processed_total") == 100 })
        #expect(daemon.stop() == 0)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(Array(bytes.prefix(8)) == Array("VGLSNAP\0".utf8), "a good snapshot replaces it on stop")
    }
}
