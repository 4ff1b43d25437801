// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilDetectors

@Suite("Sensor detector chain")
struct SensorDetectorsTests {
    /// Calm noisy signal, then a burst of large values at `spikeAt`.
    func series(count: Int, spikeAt: Int) -> [Double] {
        var rng = Xoshiro256StarStar(seed: 7)
        return (0..<count).map { i in
            let base = 10 + sin(Double(i) / 7) + (rng.nextUnit() - 0.5) * 0.2
            return (spikeAt..<(spikeAt + 5)).contains(i) ? base + 25 : base
        }
    }

    func run(_ settings: DetectorSettings, _ values: [Double]) -> (alerts: [AlertEvent], kinds: Set<DetectorKind>) {
        var d = SensorDetectors(sensor: 3, settings: settings, synchronousTraining: true)
        var alerts: [AlertEvent] = []
        var kinds = Set<DetectorKind>()
        for (i, v) in values.enumerated() {
            d.process(Sample(sensor: 3, timestamp: Int64(i), value: v), scores: { kind, _ in kinds.insert(kind) }, emit: { alerts.append($0) })
        }
        return (alerts, kinds)
    }

    @Test("the shipped defaults alert with the surprise detector on its own, with its evidence")
    func defaults() throws {
        let (alerts, kinds) = run(DetectorSettings(), series(count: 1200, spikeAt: 1000))
        #expect(kinds == [.surprise])
        let raised = alerts.filter { $0.event == .raised }
        let first = try #require(raised.first)
        #expect(first.detector == .surprise)
        #expect((1000..<1002).contains(Int(first.timestamp)), "raised at the burst's start")
        #expect(first.score >= 4 && first.threshold == 4)
        guard case .surprise(let e) = first.evidence else {
            Issue.record("expected surprise evidence")
            return
        }
        #expect(e.surprise == first.score)
        let record = AlertRecord(seq: 1, event: first, sensorName: "s")
        #expect(record.context["channel"] == .string(e.channel.rawValue))
        #expect(alerts.filter { $0.timestamp < 1000 }.isEmpty, "no false alarm on the calm part")
    }

    @Test("the calibrated z-score combination (the former default), configured explicitly, alerts with the z-score evidence")
    func calibratedZScore() {
        let settings = DetectorSettings(zscore: DetectorSettings.defaultZScore, combine: DetectorSettings.defaultCombine, surprise: nil)
        let (alerts, kinds) = run(settings, series(count: 1200, spikeAt: 1000))
        #expect(kinds == [.zscore, .combined])
        let raised = alerts.filter { $0.event == .raised }
        #expect(raised.count >= 1)
        #expect(raised.first?.detector == .combined)
        #expect((1000..<1010).contains(Int(raised.first?.timestamp ?? -1)), "raised within the burst")
        #expect(raised.first?.score ?? 0 >= 0.9999999)
        if case .zscore(_, _, let z) = raised.first?.evidence { #expect(z > 5) } else { Issue.record("expected z-score evidence") }
        let record = AlertRecord(seq: 1, event: raised.first!, sensorName: "s")
        #expect(record.context["strongest"] == .string("zscore"))
        #expect(alerts.filter { $0.timestamp < 1000 }.isEmpty, "no false alarm on the calm part")
    }

    @Test("each z-score mode runs its own detector", arguments: [ZScoreMode.rolling, .ewma, .robust])
    func modes(mode: ZScoreMode) {
        let settings = DetectorSettings(zscore: .init(ZScoreSettings(mode: mode, window: 64, warmup: 32, alpha: 0.05),
                                                      alerts: AlertPolicy(threshold: 4, criticalThreshold: 12, raiseAfter: 2)),
                                        combine: nil, surprise: nil)
        let (alerts, kinds) = run(settings, series(count: 600, spikeAt: 500))
        #expect(kinds == [.zscore])
        #expect(alerts.first?.detector == .zscore)
        #expect(alerts.first.map { (500..<505).contains(Int($0.timestamp)) } == true, "\(mode)")
    }

    @Test("spectral residual and isolation forest feed the combination; each reports its score")
    func allDetectors() {
        var forest = IsolationForestConfiguration(trees: 50, sampleSize: 128, trainingWindow: 256, retrainEvery: 256)
        forest.seed = 11
        for features in [IsolationFeatures.shingle, .spectral] {
            forest.features = features
            let settings = DetectorSettings(
                zscore: .init(ZScoreSettings(), alerts: AlertPolicy(threshold: 5, criticalThreshold: 8)),
                spectralResidual: .init(SpectralResidualConfiguration(), alerts: AlertPolicy(threshold: 0.5, criticalThreshold: 0.8)),
                isolationForest: .init(forest, alerts: AlertPolicy(threshold: 0.65, criticalThreshold: 0.75)),
                calibration: CalibrationConfiguration(history: 500, shortWindow: 5, warmup: 100),
                combine: DetectorSettings.defaultCombine, surprise: nil)
            let (alerts, kinds) = run(settings, series(count: 1500, spikeAt: 1300))
            #expect(kinds == [.zscore, .spectralResidual, .isolationForest, .combined], "\(features)")
            #expect(alerts.contains { $0.event == .raised && (1300..<1320).contains(Int($0.timestamp)) }, "\(features)")
        }
    }

    @Test("without combine, each detector alerts on its own raw score and peaks on the burst")
    func separate() {
        let settings = DetectorSettings(
            zscore: .init(ZScoreSettings(), alerts: AlertPolicy(threshold: 5, criticalThreshold: 8)),
            spectralResidual: .init(SpectralResidualConfiguration(), alerts: AlertPolicy(threshold: 0.3, criticalThreshold: 0.8, raiseAfter: 1)),
            combine: nil, surprise: nil)
        var d = SensorDetectors(sensor: 3, settings: settings)
        var peak: [DetectorKind: (score: Double, at: Int)] = [:]
        var alerts: [AlertEvent] = []
        for (i, v) in series(count: 800, spikeAt: 700).enumerated() {
            d.process(Sample(sensor: 3, timestamp: Int64(i), value: v), scores: { kind, score in
                if score > (peak[kind]?.score ?? -1) { peak[kind] = (score, i) }
            }, emit: { alerts.append($0) })
        }
        #expect(Set(peak.keys) == [.zscore, .spectralResidual], "raw scores, no combination")
        #expect(peak[.zscore].map { (700..<705).contains($0.at) } == true)
        #expect(peak[.spectralResidual].map { (700..<705).contains($0.at) } == true, "\(String(describing: peak[.spectralResidual]))")
        #expect(alerts.contains { $0.detector == .zscore && $0.event == .raised })
        #expect(!alerts.contains { $0.detector == .combined })
    }
}
