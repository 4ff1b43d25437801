// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilCore
import VigilDetectors

/// `grouping.member_alerts` in the shard both the daemon's workers and `vigil eval` run: an
/// asset's members alert on their own only while its PCA monitor learns; once it monitors, a
/// move of the whole asset is the asset's alert, not one per member. Alerts stay whole.
@Suite("Detector shard: member alerts")
struct DetectorShardGateTests {
    /// Three members that move together (b = 2a, c = −a, plus noise); at `spikeAt` member 0
    /// alone spikes for 5 rounds; from `stepAt` all three step together, correlation kept.
    static func rounds(_ count: Int, spikeAt: Int, stepAt: Int) -> [[Double]] {
        var rng = Xoshiro256StarStar(seed: 4)
        var a = 0.0
        return (0..<count).map { t in
            a = 0.9 * a + 0.4 * rng.nextGaussian()
            let level = t >= stepAt ? 12.0 : 0
            var row = [a + level, 2 * (a + level), -(a + level)].map { $0 + 0.05 * rng.nextGaussian() }
            if (spikeAt..<(spikeAt + 5)).contains(t) { row[0] += 20 }
            return row
        }
    }

    static func run(_ memberAlerts: MemberAlerts) -> [AlertEvent] {
        let chain = DetectorSettings(zscore: .init(ZScoreSettings(window: 64, warmup: 32),
                                                   alerts: AlertPolicy(threshold: 6, criticalThreshold: 12, raiseAfter: 1, clearAfter: 3)),
                                     combine: nil, surprise: nil)
        let pca = DetectorSection(PCAConfiguration(lags: 0, warmup: 300),
                                  alerts: AlertPolicy(threshold: 1, criticalThreshold: 3, raiseAfter: 3, clearAfter: 5, clearRatio: 1))
        var shard = DetectorShard(minimumAssetMembers: 2, memberAlerts: memberAlerts, synchronousTraining: true)
        for k in 0..<3 {
            shard.add(SensorDetectors(sensor: UInt32(k), settings: chain),
                      membership: .init(asset: 9, position: k), assetModels: AssetDetector.Settings(pca: pca))
        }
        var alerts: [AlertEvent] = []
        for (t, row) in rounds(400, spikeAt: 60, stepAt: 250).enumerated() {
            for (k, v) in row.enumerated() {
                shard.process(Sample(sensor: UInt32(k), timestamp: Int64(t), value: v), slot: k,
                              memberCount: { _ in 3 }, emit: { alerts.append($0) })
            }
        }
        #expect(shard.assetDetectors[9]?.isMonitoring == true, "the monitor monitors after its first fit (150 rounds)")
        return alerts
    }

    @Test("while_learning: a member alerts alone before the monitor monitors, the asset alone after")
    func whileLearning() {
        let alerts = Self.run(.whileLearning)
        let member = alerts.filter { $0.sensor != 9 }
        // The spike at round 60 (before the first fit) is member 0's own, raised and cleared.
        #expect(member.contains { $0.sensor == 0 && $0.event == .raised && (60..<65).contains($0.timestamp) })
        #expect(member.contains { $0.sensor == 0 && $0.event == .cleared && $0.timestamp >= 60 && $0.timestamp < 100 })
        // The joint step at round 250: no member's own alert, the asset's.
        #expect(!member.contains { $0.timestamp >= 100 }, "\(member.map { ($0.sensor, $0.timestamp) })")
        #expect(alerts.contains { $0.sensor == 9 && $0.detector == .pca && $0.event == .raised && $0.timestamp >= 250 })
        // Whole alerts: every member clear follows a published raise of the same id.
        for c in member where c.event == .cleared {
            #expect(member.contains { $0.event == .raised && $0.sensor == c.sensor && $0.raisedAt == c.raisedAt })
        }
    }

    @Test("always: the members alert on their own as well")
    func always() {
        let alerts = Self.run(.always)
        let stepAlerts = Set(alerts.filter { $0.sensor != 9 && $0.event == .raised && $0.timestamp >= 250 }.map(\.sensor))
        #expect(stepAlerts == [0, 1, 2], "each member's z-score sees the step: \(stepAlerts)")
        #expect(alerts.contains { $0.sensor == 9 && $0.detector == .pca && $0.event == .raised })
    }
}
