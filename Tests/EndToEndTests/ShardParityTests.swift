// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilConfig
import VigilCore
import VigilDetectors
import VigilPipeline
import VigilReplay
import VigilTestKit

/// `vigil eval` runs the daemon's code for assets too: the evaluator and a pipeline worker hold
/// their sensors and assets in the same `DetectorShard`, so the same wide recording gives the
/// same asset alerts, score for score, with the evidence naming the same member.
@Suite("Assets: eval and the daemon's worker agree")
struct ShardParityTests {
    @Test("a wide recording through Evaluator and through a Pipeline worker raises the same asset alerts")
    func sameAssetAlerts() throws {
        let faults: [LatentFactorPlant.Fault] = [
            .init(.correlationBreak, rounds: 900..<1100, sensor: 3),
            .init(.step, rounds: 1300..<1500, sensor: 5, magnitude: 2),
        ]
        let (values, _) = LatentFactorPlant(sensors: 8, rounds: 1600, faults: faults, seed: 5).generate()
        var text = "timestamp," + (0..<8).map { "s\($0)" }.joined(separator: ",") + "\n"
        for (t, row) in values.enumerated() {
            text += "\(1_732_500_000 + t * 60)," + row.map { String($0) }.joined(separator: ",") + "\n"
        }
        let fixture = try WideCSVReader().read(bytes: Array(text.utf8), name: "plant/rig.csv")
        // The shipped grouping makes the file one asset; a short PCA baseline so it alerts here.
        let c = try VigilConfiguration.parse(yaml: """
            detectors:
              surprise: {enabled: false}
              pca: {warmup: 400, update_every: 100}
            """, file: "parity.yaml")
        let evaluated = Evaluator(configuration: c).run(fixture).alerts.map(\.event).filter { $0.detector == .pca }
        #expect(evaluated.contains { $0.event == .raised }, "the monitor alerts on this recording")

        let p = Pipeline(configuration: PipelineConfiguration(workers: 1, ringCapacity: 1 << 16,
                                                              minimumAssetMembers: c.grouping.minimumMembers),
                         registry: SensorRegistry(limit: 100), drops: DropCounters(),
                         settings: { c.detectorSettings(forSensor: $0) }, assetOf: { c.asset(ofSensor: $0) },
                         pcaSettings: { c.pcaSettings(forAsset: $0) })
        let ids = fixture.sensors.map { p.registry.intern($0)! }
        p.start()
        var samples: [Sample] = []
        for row in 0..<fixture.rowCount {
            for k in ids.indices { samples.append(Sample(sensor: ids[k], timestamp: fixture.timestamps[row], value: fixture.values[k][row])) }
        }
        p.submit(samples)
        p.finishIngest()
        p.join()
        var published: [AlertEvent] = []
        p.drainAlerts(maximum: 100_000) { published.append($0) }
        let live = published.filter { $0.detector == .pca }
        func key(_ e: AlertEvent) -> String {
            var first = -1
            if case .pca(let ev) = e.evidence { first = Int(ev.first.position) }
            return "\(e.event) \(e.severity) \(e.timestamp) \(e.raisedAt) \(e.score) member \(first)"
        }
        #expect(live.map(key) == evaluated.map(key))
    }
}
