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

/// An asset's PCA alert from the daemon's socket: published as `alert/<asset>`, its context
/// naming the members that moved.
@Suite("Daemon with a PCA asset", .serialized)
struct DaemonPCATests {
    @Test("a broken relation in an asset is published as alert/<asset> with the contributing sensors named")
    func pcaAlertOnTheWire() throws {
        var o = DaemonInProcessTests.options(state: TestNetwork.temporaryDirectory())
        o.settings = { _ in DetectorSettings(zscore: nil, combine: nil, surprise: nil) }
        o.assetOf = { $0.hasPrefix("plant1/rig/") ? "plant1/rig" : nil }
        let pca = DetectorSection(PCAConfiguration(lags: 1, warmup: 300, alpha: 0.005, smoothing: 0.2),
                                  alerts: AlertPolicy(threshold: 1, criticalThreshold: 3, raiseAfter: 3, clearAfter: 5, clearRatio: 1))
        o.pcaSettings = { $0 == "plant1/rig" ? pca : nil }
        // Six sensors of one plant; sensor 4 replays its past from round 1000 on.
        let (values, _) = LatentFactorPlant(sensors: 6, factors: 2, rounds: 1300,
                                            faults: [.init(.correlationBreak, rounds: 1000..<1300, sensor: 4)], seed: 3).generate()
        let names = (0..<6).map { "plant1/rig/s\($0)" }
        let context = try ZMQContext()
        let daemon = try Daemon(options: o, logger: Logger(label: "test"))
        try daemon.start()
        defer { daemon.stop() }
        let sub = try ZMQSocket(context: context, type: .sub)
        try sub.subscribe("alert/plant1/rig")
        try sub.setReceiveTimeout(10_000)
        try sub.connect(o.publishEndpoint)
        let push = try ZMQSocket(context: context, type: .push)
        try push.connect(o.ingestEndpoints[0])
        usleep(200_000)
        let start: Int64 = 1_732_500_000_000_000_000
        for (t, row) in values.enumerated() {
            let batch = row.enumerated().map { IngestEncoder.json(sensor: names[$0.offset], ts: start + Int64(t) * 1_000_000_000, value: $0.element) }
            try push.send(Array("[".utf8) + Array(batch.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ",").utf8) + Array("]".utf8))
        }
        // The first alert raised in the fault (a short first baseline may raise a false alarm before it).
        var frames: [[UInt8]] = []
        while true {
            let f = try #require(try sub.receiveMultipart())
            let r = try JSONDecoder().decode(AlertRecord.self, from: Data(f[1]))
            if r.event == .raised, r.ts >= start + 1000 * 1_000_000_000 {
                frames = f
                break
            }
        }
        push.close()
        sub.close()
        #expect(String(decoding: frames[0], as: UTF8.self) == "alert/plant1/rig")
        let record = try JSONDecoder().decode(AlertRecord.self, from: Data(frames[1]))
        #expect(record.detector == .pca && record.event == .raised && record.sensor == "plant1/rig")
        #expect(record.ts >= start + 1000 * 1_000_000_000)
        let parts = try #require(record.context["contributions"]?.list)
        #expect(parts.count == 3)
        #expect(parts.first?.object?["sensor"] == .string("plant1/rig/s4"), "\(record.json)")
        #expect(parts.allSatisfy { $0.object?["sensor"]?.string?.hasPrefix("plant1/rig/s") == true })
        #expect((record.context["q"]?.number ?? 0) > (record.context["q_limit"]?.number ?? .infinity))
        let json = String(decoding: frames[1], as: UTF8.self)
        #expect(json.contains(#""contributions":[{"position":4,"#))
    }
}
