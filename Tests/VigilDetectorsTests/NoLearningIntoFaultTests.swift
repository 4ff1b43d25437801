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

    /// The shipped chain on a level shift of 10 deviations lasting 1500 samples: it raises at once,
    /// stays raised for the whole shift although every baseline would have adapted to it within a
    /// window, and clears once the sensor is back.
    @Test("a sustained fault stays raised for as long as it lasts, then clears")
    func sustainedFault() {
        var values = Self.noise(6000, seed: 3)
        for i in 3000..<4500 { values[i] += 5 }
        var chain = SensorDetectors(sensor: 1, settings: DetectorSettings())
        var events: [AlertEvent] = []
        var raisedRows = 0
        for (i, v) in values.enumerated() {
            chain.process(Sample(sensor: 1, timestamp: Int64(i), value: v), emit: { events.append($0) })
            if (3000..<4500).contains(i), chain.isRaised { raisedRows += 1 }
        }
        let raises = events.filter { $0.event == .raised && $0.timestamp == $0.raisedAt }  // escalations share raisedAt
        let clears = events.filter { $0.event == .cleared }
        #expect(raises.count == 1)
        #expect((3000..<3010).contains(Int(raises.first?.timestamp ?? -1)), "raised at the start of the shift")
        #expect(raisedRows >= 1490, "held during the whole shift (\(raisedRows) of 1500 rows)")
        #expect(clears.count == 1)
        #expect((4500..<4600).contains(Int(clears.first?.timestamp ?? -1)), "cleared once back")
    }

    @Test("slow normal drift does not alarm")
    func slowDrift() {
        var values = Self.noise(20_000, seed: 5)
        for i in values.indices { values[i] += 10 * Double(i) / Double(values.count) }  // 20 deviations over the run
        var chain = SensorDetectors(sensor: 1, settings: DetectorSettings())
        var events: [AlertEvent] = []
        for (i, v) in values.enumerated() { chain.process(Sample(sensor: 1, timestamp: Int64(i), value: v), emit: { events.append($0) }) }
        #expect(events.isEmpty)
    }
}
