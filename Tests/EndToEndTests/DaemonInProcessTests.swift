// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Logging
import Testing
import VigilCore
import VigilDaemon
import VigilDetectors
import VigilPipeline
import VigilTestKit
import ZeroMQ

/// The daemon wired in-process with real sockets on 127.0.0.1, a real SQLite journal and the
/// real detectors: quick to run, and everything but the process boundary.
@Suite("Daemon in process", .serialized)
struct DaemonInProcessTests {
    static func options(state: String) -> DaemonOptions {
        var o = DaemonOptions()
        o.ingestEndpoints = [TestNetwork.freeEndpoint()]
        o.publishEndpoint = TestNetwork.freeEndpoint()
        o.historyEndpoint = TestNetwork.freeEndpoint()
        o.metricsListen = "127.0.0.1:\(TestNetwork.freePort())"
        o.stateDirectory = state
        o.pipeline = PipelineConfiguration(workers: 2, ringCapacity: 4096)
        o.settings = { _ in
            DetectorSettings(zscore: .init(ZScoreSettings(window: 64, warmup: 32),
                                           alerts: AlertPolicy(threshold: 5, criticalThreshold: 8, raiseAfter: 2, clearAfter: 5)),
                             combine: nil, surprise: nil)
        }
        return o
    }

    /// 200 calm samples then 3 huge ones then calm again: one raise and one clear.
    static func spikeSeries(start: Int64) -> [(ts: Int64, value: Double)] {
        (0..<260).map { i in
            let calm = 10 + sin(Double(i) / 5) * 0.5 + Double(i % 7) * 0.01
            return (start + Int64(i) * 1_000_000_000, (200..<203).contains(i) ? 100 : calm)
        }
    }

    @Test("alerts flow ingest → detectors → PUB and journal; seq survives a restart; history answers")
    func endToEnd() throws {
        let state = TestNetwork.temporaryDirectory()
        let options = Self.options(state: state)
        let logger = Logger(label: "test")
        let context = try ZMQContext()

        var received: [AlertRecord] = []
        do {
            let daemon = try Daemon(options: options, logger: logger)
            try daemon.start()
            let sub = try ZMQSocket(context: context, type: .sub)
            try sub.subscribe("alert/")
            try sub.setReceiveTimeout(5000)
            try sub.connect(options.publishEndpoint)
            let push = try ZMQSocket(context: context, type: .push)
            try push.connect(options.ingestEndpoints[0])
            usleep(200_000)  // let the subscription reach the PUB socket
            // Binary batches for one sensor, JSON samples for another (topic names the sensor).
            try push.send(IngestEncoder.binary(sensor: "plant1/pump7/vibration", samples: Self.spikeSeries(start: 1_700_000_000_000_000_000)))
            for s in Self.spikeSeries(start: 1_700_000_000_000_000_000) {
                try push.send(multipart: [Array("plant1/pump8/temp".utf8), IngestEncoder.json(sensor: nil, ts: s.ts, value: s.value)])
            }
            while received.count < 4, let frames = try sub.receiveMultipart() {
                #expect(frames.count == 2)
                received.append(try JSONDecoder().decode(AlertRecord.self, from: Data(frames[1])))
                #expect(String(decoding: frames[0], as: UTF8.self) == "alert/" + received.last!.sensor)
            }
            push.close()
            sub.close()
            daemon.stop()
        }
        #expect(received.count == 4)
        #expect(received.map(\.seq).sorted() == [1, 2, 3, 4])
        for sensor in ["plant1/pump7/vibration", "plant1/pump8/temp"] {
            let mine = received.filter { $0.sensor == sensor }
            #expect(mine.map(\.event) == [.raised, .cleared], "\(sensor)")
            #expect(mine.first?.detector == .zscore)
            #expect(mine.first?.severity == .critical)
            let expected: Int64 = 1_700_000_000_000_000_000 + 201 * 1_000_000_000
            #expect(mine.first.map { $0.ts - expected } == 0, "raised on the second anomalous sample")
            #expect(mine.first?.id == mine.last?.id, "cleared carries the raise's id")
            #expect(mine.first?.context["mean"]?.number != nil && mine.first?.context["deviation"]?.number != nil)
        }

        // Restart on the same state directory: seq continues and history has the old alerts.
        let again = Self.options(state: state)
        let daemon = try Daemon(options: again, logger: logger)
        try daemon.start()
        defer { daemon.stop() }
        let req = try ZMQSocket(context: context, type: .req)
        try req.setReceiveTimeout(5000)
        try req.connect(again.historyEndpoint)
        try req.send("{\"since_seq\": 2}")
        let reply = try #require(try req.receiveFrame())
        let page = try JSONSerialization.jsonObject(with: Data(reply.bytes)) as! [String: Any]
        let alerts = page["alerts"] as! [[String: Any]]
        #expect(alerts.map { $0["seq"] as! Int } == [3, 4])
        #expect(page["head_seq"] as? Int == 4)
        #expect(page["more"] as? Bool == false)
        try req.send("not json")
        let bad = try #require(try req.receiveFrame())
        #expect(String(decoding: bad.bytes, as: UTF8.self).contains("error"))

        let sub = try ZMQSocket(context: context, type: .sub)
        try sub.subscribe("alert/")
        try sub.setReceiveTimeout(5000)
        try sub.connect(again.publishEndpoint)
        let push = try ZMQSocket(context: context, type: .push)
        try push.connect(again.ingestEndpoints[0])
        usleep(200_000)
        try push.send(IngestEncoder.binary(sensor: "plant2/fan/rpm", samples: Self.spikeSeries(start: 1_750_000_000_000_000_000)))
        let next = try #require(try sub.receiveMultipart())
        let record = try JSONDecoder().decode(AlertRecord.self, from: Data(next[1]))
        #expect(record.seq == 5, "seq rises across restarts")
        push.close()
        sub.close()
        req.close()
    }

    @Test("bad input is counted by reason and loses nothing else; metrics and health answer")
    func badInput() throws {
        let state = TestNetwork.temporaryDirectory()
        let options = Self.options(state: state)
        let daemon = try Daemon(options: options, logger: Logger(label: "test"))
        try daemon.start()
        defer { daemon.stop() }
        let context = try ZMQContext()
        let push = try ZMQSocket(context: context, type: .push)
        defer { push.close() }
        try push.connect(options.ingestEndpoints[0])
        let bad: [[[UInt8]]] = [
            [Array("not json".utf8)],
            [Array(#"{"sensor": 5, "value": 1}"#.utf8)],
            [Array(#"{"value": 1}"#.utf8)],
            [Array(#"{"sensor": "a", "value": NaN}"#.utf8)],
            [Array("VGL1".utf8) + [1, 0]],
            [Array("x".utf8), Array("y".utf8), Array("z".utf8)],
        ]
        for message in bad { try push.send(multipart: message) }
        for i in 0..<100 { try push.send(IngestEncoder.json(sensor: "good/sensor", ts: Int64(i), value: Double(i))) }
        let metricsPort = Int(options.metricsListen!.split(separator: ":").last!)!
        #expect(TestNetwork.waitUntil(seconds: 5) { daemon.samplesProcessed == 100 }, "every good sample is processed")
        let metrics = try #require(TestNetwork.httpGet(port: metricsPort, path: "/metrics"))
        #expect(metrics.status == 200)
        for reason in ["malformed_json", "wrong_type", "missing_sensor", "non_finite_value", "truncated_frame", "too_many_frames"] {
            #expect(metrics.body.contains("vigil_dropped_total{reason=\"\(reason)\"} 1"), "\(reason)")
        }
        #expect(metrics.body.contains("vigil_samples_processed_total 100"))
        #expect(TestNetwork.httpGet(port: metricsPort, path: "/healthz")?.status == 200)
        #expect(TestNetwork.httpGet(port: metricsPort, path: "/readyz")?.status == 200)
        #expect(TestNetwork.httpGet(port: metricsPort, path: "/nope")?.status == 404)
    }

    @Test("SUB ingest consumes an existing plant publisher, with topic filters")
    func subscribeIngest() throws {
        let context = try ZMQContext()
        let plant = try ZMQSocket(context: context, type: .pub)
        try plant.bind("tcp://127.0.0.1:*")
        var options = Self.options(state: TestNetwork.temporaryDirectory())
        options.subscriptions = [.init(endpoint: plant.lastEndpoint, bind: false, topics: ["plant1/"])]
        let daemon = try Daemon(options: options, logger: Logger(label: "test"))
        try daemon.start()
        defer { daemon.stop() }
        // A SUB socket misses what is sent before its subscription arrives: send until it counts.
        var sent = 0
        let got = TestNetwork.waitUntil(seconds: 10) {
            _ = try? plant.send(multipart: [Array("plant2/ignored".utf8), IngestEncoder.json(sensor: nil, ts: 1, value: 1)])
            _ = try? plant.send(multipart: [Array("plant1/pump/temp".utf8), IngestEncoder.json(sensor: nil, ts: Int64(sent), value: 1)])
            sent += 1
            return daemon.samplesProcessed > 0
        }
        #expect(got)
        usleep(100_000)
        #expect(daemon.samplesProcessed <= UInt64(sent), "only the subscribed topic is ingested")
        #expect(daemon.pipeline.registry.allNames.contains("plant1/pump/temp"))
        #expect(!daemon.pipeline.registry.allNames.contains("plant2/ignored"))
        plant.close()
    }

    @Test("a port already in use refuses start-up with a clear error")
    func bindFailure() throws {
        let state = TestNetwork.temporaryDirectory()
        var options = Self.options(state: state)
        let context = try ZMQContext()
        let squatter = try ZMQSocket(context: context, type: .pull)
        try squatter.bind(options.ingestEndpoints[0])
        defer { squatter.close() }
        options.metricsListen = nil
        let daemon = try Daemon(options: options, logger: Logger(label: "test"))
        let error = #expect(throws: Daemon.StartError.self) { try daemon.start() }
        #expect(error?.description.contains("Address already in use") == true, "\(String(describing: error))")
    }
}
