// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilDetectors

@Suite("Asset detector")
struct AssetDetectorTests {
    /// Two sensors that move together (b ≈ a) until `breakAt`, then b ≈ 1 − a: each stays within
    /// its usual range [0, 1], only the relation breaks.
    func rounds(_ count: Int, breakAt: Int) -> [(Double, Double)] {
        var state: UInt64 = 99
        func unit() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
        return (0..<count).map { i in
            let a = unit()
            let noise = (unit() - 0.5) * 0.02
            return (a, i < breakAt ? a + noise : 1 - a + noise)
        }
    }

    func run(extended: Bool) -> (alerts: [AlertEvent], scores: [Double]) {
        var configuration = IsolationForestConfiguration(trees: 100, sampleSize: 256, trainingWindow: 1024, retrainEvery: 1024,
                                                         extended: extended, features: .asset, seed: 5)
        configuration.driftThreshold = 0.5
        let section = DetectorSection(configuration, alerts: AlertPolicy(threshold: 0.6, criticalThreshold: 0.7, raiseAfter: 3, clearAfter: 10))
        var asset = AssetDetector(asset: 9, settings: section, dimension: 2, synchronousTraining: true)
        var alerts: [AlertEvent] = []
        var scores: [Double] = []
        for (i, (a, b)) in rounds(1300, breakAt: 1200).enumerated() {
            // Members report in either order; a vector is scored once both have.
            let ts = Int64(i)
            if i % 2 == 0 {
                asset.update(position: 0, timestamp: ts, value: a, score: { _, _ in Issue.record("scored before the round completed") }, emit: { alerts.append($0) })
                asset.update(position: 1, timestamp: ts, value: b, score: { scores.append($1) }, emit: { alerts.append($0) })
            } else {
                asset.update(position: 1, timestamp: ts, value: b, score: { _, _ in Issue.record("scored before the round completed") }, emit: { alerts.append($0) })
                asset.update(position: 0, timestamp: ts, value: a, score: { scores.append($1) }, emit: { alerts.append($0) })
            }
        }
        return (alerts, scores)
    }

    @Test("a broken correlation between sensors in range raises an alert for the asset")
    func correlationBreak() {
        let (alerts, scores) = run(extended: true)
        #expect(scores.count == 1300 - 1024, "one score per complete round once the first forest exists")
        let raised = alerts.filter { $0.event == .raised }
        #expect(!raised.isEmpty)
        #expect(raised.allSatisfy { $0.timestamp >= 1200 }, "no alarm while the relation holds")
        #expect(raised.first?.sensor == 9, "the alert names the asset")
        #expect(raised.first?.detector == .isolationForest)
        if case .isolationForest(let pathLength, let feature, let count) = raised.first?.evidence {
            #expect(pathLength > 0)
            #expect(count == 2 && (0..<2).contains(feature))
        } else {
            Issue.record("expected isolation forest evidence")
        }
        let before = scores.prefix(1200 - 1024).reduce(0, +) / Double(1200 - 1024)
        let after = scores.suffix(100).reduce(0, +) / 100
        #expect(after > before + 0.1, "break scores \(after) vs \(before)")
    }

    @Test("a new member grows the vector and restarts the forest")
    func growth() {
        let section = DetectorSection(IsolationForestConfiguration(trainingWindow: 64, retrainEvery: 32, features: .asset),
                                      alerts: AlertPolicy(threshold: 0.9, criticalThreshold: 0.95))
        var asset = AssetDetector(asset: 1, settings: section, dimension: 1, synchronousTraining: true)
        asset.update(position: 0, timestamp: 0, value: 1, score: { _, _ in }, emit: { _ in })
        asset.update(position: 2, timestamp: 1, value: 1, score: { _, _ in }, emit: { _ in })
        #expect(asset.dimension == 3)
    }

    @Test("an asset that grows wider than the PCA monitor takes drops its monitor instead of feeding it rounds of another width")
    func growsPastThePCAWidth() throws {
        var asset = AssetDetector(asset: 3, settings: .init(pca: DetectorSection(PCAConfiguration(), alerts: AlertPolicy(threshold: 1, criticalThreshold: 3))),
                                  dimension: 2, synchronousTraining: true)
        #expect(asset.pcaMonitor != nil)
        // 300 members (a gateway naming 300 sensors under one parent): wider than any lag count fits.
        for round in 0..<3 {
            for position in 0..<300 {
                asset.update(position: position, timestamp: Int64(round), value: Double(position % 7), score: { _, _ in }, emit: { _ in })
            }
        }
        #expect(asset.dimension == 300)
        #expect(asset.pcaMonitor == nil)
        var w = SnapshotWriter()
        asset.write(to: &w)
        var r = SnapshotReader(w.bytes)
        let restored = try AssetDetector(asset: 3, settings: asset.settings, synchronousTraining: true, restoringFrom: &r)
        #expect(restored.dimension == 300 && restored.pcaMonitor == nil)
    }
}
