// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilDetectors

/// While a sensor is out of control nothing it learned may adapt: every detector scores a sample
/// with `learn: false` exactly as it would with `learn: true`, and its state does not move.
@Suite("No learning into a fault")
struct NoLearningIntoFaultTests {
    static func noise(_ count: Int, seed: UInt64 = 11) -> [Double] {
        var rng = Xoshiro256StarStar(seed: seed)
        var out: [Double] = []
        for i in 0..<count {
            let wave = 0.3 * sin(Double(i) / 9)
            out.append(20 + 0.5 * rng.nextGaussian() + wave)
        }
        return out
    }

    static func bytes(_ write: (inout SnapshotWriter) -> Void) -> [UInt8] {
        var w = SnapshotWriter()
        write(&w)
        return w.bytes
    }

    /// Warms `detector` on noise, then checks that `learn: false` on outliers scores like a
    /// learning update from the same state and leaves the state byte for byte as it was.
    static func check<D: StreamingDetector>(_ detector: D, warm: Int, state: (D) -> [UInt8]) {
        var d = detector
        for (i, v) in noise(warm).enumerated() { _ = d.update(timestamp: Int64(i), value: v, learn: true) }
        let before = state(d)
        for (k, outlier) in [45.0, -3, 1e6, 20.1].enumerated() {
            var learning = d
            let expected = learning.update(timestamp: Int64(warm + k), value: outlier, learn: true)
            let frozen = d.update(timestamp: Int64(warm + k), value: outlier, learn: false)
            #expect(frozen == expected, "scored like a learning update")
            #expect(expected != nil, "warm")
            #expect(state(d) == before, "state unchanged by a frozen update")
            #expect(state(learning) != before, "a learning update does change it (the check can fail)")
        }
    }

    @Test("rolling, EWMA and robust z-score")
    func zscores() {
        let z = ZScoreSettings(window: 64, warmup: 16)
        Self.check(ZScoreDetector(configuration: z), warm: 200) { d in Self.bytes { d.write(to: &$0) } }
        Self.check(EWMAZScoreDetector(configuration: z), warm: 200) { d in Self.bytes { d.write(to: &$0) } }
        Self.check(RobustZScoreDetector(configuration: z), warm: 200) { d in Self.bytes { d.write(to: &$0) } }
    }

    @Test("spectral residual scores the frozen window followed by the sample")
    func spectralResidual() {
        Self.check(SpectralResidualDetector(configuration: .init(window: 27)), warm: 100) { d in Self.bytes { d.write(to: &$0) } }
    }

    @Test("isolation forest on shingles: training window and drift statistics frozen")
    func isolationForest() {
        let c = IsolationForestConfiguration(trees: 20, sampleSize: 32, trainingWindow: 64, retrainEvery: 32, shingle: 4)
        Self.check(StreamingIsolationForest(configuration: c, synchronousTraining: true), warm: 300) { d in Self.bytes { d.write(to: &$0) } }
    }

    /// The surprise detector: a frozen step leaves every learned model byte for byte as it was
    /// (`writeLearned`) while its clock and short means move on, as the research's freeze does;
    /// its score equals a learning step's except where a learning step would re-fit a tail.
    @Test("surprise detector: learned models unchanged by frozen steps, on noise and on a seasonal signal")
    func surprise() {
        func learned(_ d: SurpriseDetector) -> [UInt8] { Self.bytes { d.writeLearned(to: &$0) } }
        for seasonal in [false, true] {
            var d = SurpriseDetector()
            let warm = seasonal ? 3_000 : 600
            for (i, v) in Self.noise(warm).enumerated() {
                let x = seasonal ? v + 4 * sin(2 * Double.pi * Double(i) / 96) : v
                _ = d.update(timestamp: Int64(i), value: x, learn: true)
            }
            let before = learned(d)
            var frozenSteps = 0
            for (k, outlier) in [45.0, -3, 1e6, 20.1, 20, 19.9, 20.2, 20, 20, 20, 20, 20].enumerated() {
                var learning = d
                _ = learning.update(timestamp: Int64(warm + k), value: outlier, learn: true)
                let frozen = d.update(timestamp: Int64(warm + k), value: outlier, learn: false)
                #expect(frozen != nil, "warm")
                frozenSteps += 1
                #expect(learned(d) == before, "learned state unchanged by a frozen update")
                #expect(learned(learning) != before, "a learning update does change it (the check can fail)")
            }
            #expect(frozenSteps == 12)
        }
    }

    @Test("a calibrator keeps its distribution but follows the recent scores")
    func calibrator() {
        var c = ScoreCalibrator(configuration: .init(history: 100, shortWindow: 5, warmup: 20))
        for x in Self.noise(300) { _ = c.calibrate(abs(x - 20), learn: true) }
        let before = Self.bytes { c.write(to: &$0) }
        var learning = c
        let p1 = c.calibrate(30, learn: false)
        #expect(p1 == learning.calibrate(30, learn: true))
        #expect((p1 ?? 0) > 0.999)
        // The short average moved (a second high score is even more anomalous), the moments did not.
        let p2 = c.calibrate(30, learn: false)
        #expect((p2 ?? 0) >= (p1 ?? 1))
        var restored = ScoreCalibrator(configuration: .init(history: 100, shortWindow: 5, warmup: 20))
        var r = SnapshotReader(before)
        try? restored.restore(from: &r)
        #expect(restored.count == c.count, "warm-up count unchanged")
    }

    /// Chains on a level shift of 10 deviations lasting 1500 samples: they raise at once, stay
    /// raised for the whole shift although every baseline would have adapted to it within a
    /// window, and clear once the sensor is back. The calibrated z-score (the former default), and
    /// the surprise detector with `relearn_after: 0` (the shipped 300 releases a hold that lasts:
    /// see `surpriseRelearns`).
    @Test("a sustained fault stays raised for as long as it lasts, then clears", arguments: ["calibrated z-score", "surprise"])
    func sustainedFault(_ chainName: String) {
        var values = Self.noise(6000, seed: 3)
        for i in 3000..<4500 { values[i] += 5 }
        var settings = DetectorSettings(zscore: DetectorSettings.defaultZScore, combine: DetectorSettings.defaultCombine, surprise: nil)
        if chainName == "surprise" {
            settings = DetectorSettings()
            settings.surprise!.alerts.relearnAfter = 0
        }
        var chain = SensorDetectors(sensor: 1, settings: settings)
        var events: [AlertEvent] = []
        var raisedRows = 0
        for (i, v) in values.enumerated() {
            chain.process(Sample(sensor: 1, timestamp: Int64(i), value: v), emit: { events.append($0) })
            if (3000..<4500).contains(i), chain.isRaised { raisedRows += 1 }
        }
        // Escalations share raisedAt; the surprise detector's few raises on the noise before the
        // shift are not what this test is about.
        let raises = events.filter { $0.event == .raised && $0.timestamp == $0.raisedAt && $0.timestamp >= 3000 }
        let clears = events.filter { $0.event == .cleared && $0.timestamp >= 3000 }
        #expect(raises.count == 1)
        #expect((3000..<3010).contains(Int(raises.first?.timestamp ?? -1)), "raised at the start of the shift")
        #expect(raisedRows >= 1490, "held during the whole shift (\(raisedRows) of 1500 rows)")
        #expect(clears.count == 1)
        #expect((4500..<4600).contains(Int(clears.first?.timestamp ?? -1)), "cleared once back")
    }

    /// The shipped surprise chain on the same shift: held for `relearn_after` (300) samples, then
    /// released as a new regime; the return to the old level 1200 samples later is a change again.
    @Test("the shipped surprise chain holds a sustained fault for relearn_after samples, then re-learns")
    func surpriseRelearns() {
        var values = Self.noise(6000, seed: 3)
        for i in 3000..<4500 { values[i] += 5 }
        var chain = SensorDetectors(sensor: 1, settings: DetectorSettings())
        var events: [AlertEvent] = []
        for (i, v) in values.enumerated() { chain.process(Sample(sensor: 1, timestamp: Int64(i), value: v), emit: { events.append($0) }) }
        let raises = events.filter { $0.event == .raised && $0.timestamp == $0.raisedAt && $0.timestamp >= 3000 }
        #expect((3000..<3002).contains(Int(raises.first?.timestamp ?? -1)), "raised at the start of the shift")
        let first = events.first { $0.event == .cleared && $0.timestamp >= 3000 }
        #expect(first?.clearReason == .relearned)
        #expect(first.map { $0.timestamp - $0.raisedAt } == 300)
        #expect(raises.contains { (4500..<4510).contains(Int($0.timestamp)) }, "the way back is a change too")
    }

    @Test("slow normal drift does not alarm (calibrated z-score)")
    func slowDrift() {
        var values = Self.noise(20_000, seed: 5)
        for i in values.indices { values[i] += 10 * Double(i) / Double(values.count) }  // 20 deviations over the run
        let settings = DetectorSettings(zscore: DetectorSettings.defaultZScore, combine: DetectorSettings.defaultCombine, surprise: nil)
        var chain = SensorDetectors(sensor: 1, settings: settings)
        var events: [AlertEvent] = []
        for (i, v) in values.enumerated() { chain.process(Sample(sensor: 1, timestamp: Int64(i), value: v), emit: { events.append($0) }) }
        #expect(events.isEmpty)
    }

    /// The surprise detector's range channel reports new extremes, so a drift that keeps making
    /// them is not silent: about one raise per 800 samples here (20 deviations in 20 000 samples,
    /// 5 raises without the drift); the research measured 21 raises in 40 000 samples for a drift
    /// of 10 deviations, against 8 on the same noise without drift.
    @Test("slow normal drift raises rarely (surprise)")
    func slowDriftSurprise() {
        var values = Self.noise(20_000, seed: 5)
        for i in values.indices { values[i] += 10 * Double(i) / Double(values.count) }
        var chain = SensorDetectors(sensor: 1, settings: DetectorSettings())
        var raises = 0
        for (i, v) in values.enumerated() {
            chain.process(Sample(sensor: 1, timestamp: Int64(i), value: v), emit: { if $0.event == .raised { raises += 1 } })
        }
        #expect(raises <= 30, "\(raises) raises in 20 000 samples")
    }
}
