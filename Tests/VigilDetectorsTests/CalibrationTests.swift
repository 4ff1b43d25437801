// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilCore
@testable import VigilDetectors

/// Raw scores like a z-score detector's (|N(0, 1)|, half-normal), times `scale`, from a fixed seed.
private func calibrationRawScores(_ count: Int, scale: Double, seed: UInt64 = 7) -> [Double] {
    var rng = Xoshiro256StarStar(seed: seed)
    return (0..<count).map { _ in scale * abs(rng.nextGaussian()) }
}

@Suite("ScoreCalibrator")
struct ScoreCalibratorTests {
    @Test("the Gaussian CDF")
    func gaussianCDF() {
        #expect(ScoreCalibrator.gaussianCDF(0) == 0.5)
        #expect(abs(ScoreCalibrator.gaussianCDF(1.959963984540054) - 0.975) < 1e-12)
        #expect(abs(ScoreCalibrator.gaussianCDF(-1) - 0.15865525393145707) < 1e-12)
        #expect(ScoreCalibrator.gaussianCDF(40) == 1)
        let tiny = ScoreCalibrator.gaussianCDF(-40)
        #expect(tiny >= 0 && tiny < 1e-300)
    }

    @Test("nil during warm-up")
    func warmUp() {
        var calibrator = ScoreCalibrator(configuration: .init(history: 100, shortWindow: 5, warmup: 50))
        let raw = calibrationRawScores(60, scale: 1)
        for (i, r) in raw.enumerated() {
            let p = calibrator.calibrate(r)
            #expect((p == nil) == (i < 50), "score \(i)")
        }
        #expect(calibrator.calibrate(.nan) == nil && calibrator.count == 60)
    }

    /// Two sensors whose raw scores differ by nine orders of magnitude get the same probabilities:
    /// spread over [0, 1] while stationary, near 1 on a real outlier, near 0 when scores drop.
    @Test("scale-free: uniform when stationary, near 1 on an outlier")
    func scaleFree() throws {
        let configuration = CalibrationConfiguration(history: 2000, shortWindow: 10, warmup: 200)
        let n = 20_000
        let spikeAt = 15_000
        let dropAt = 17_000
        var probabilities: [[Double]] = []
        for scale in [1000.0, 1e-6] {
            var raw = calibrationRawScores(n, scale: scale)
            raw[spikeAt] = 10 * scale
            for i in dropAt..<(dropAt + 10) { raw[i] = 0 }
            var calibrator = ScoreCalibrator(configuration: configuration)
            probabilities.append(raw.map { calibrator.calibrate($0) ?? -1 })
        }
        let big = probabilities[0], small = probabilities[1]
        for i in 0..<n { #expect(abs(big[i] - small[i]) < 1e-9, "sample \(i)") }

        // Stationary stretch: deciles roughly even, few high probabilities.
        let stationary = Array(big[200..<spikeAt])
        #expect(stationary.allSatisfy { $0 >= 0 && $0 <= 1 })
        var deciles = [Int](repeating: 0, count: 10)
        for p in stationary { deciles[min(9, Int(p * 10))] += 1 }
        for d in deciles {
            let share = Double(d) / Double(stationary.count)
            #expect(share > 0.05 && share < 0.15, "deciles \(deciles)")
        }
        let mean = stationary.reduce(0, +) / Double(stationary.count)
        #expect(abs(mean - 0.5) < 0.05)
        let high = stationary.filter { $0 > 0.999 }.count
        #expect(Double(high) / Double(stationary.count) < 0.01)

        // A 10× outlier: probability close to 1 at once, for both sensors.
        #expect(big[spikeAt] > 0.9999 && small[spikeAt] > 0.9999)
        // Scores that drop to zero give a probability close to 0.
        #expect(big[dropAt + 9] < 0.001)
    }

    @Test("a detector that only ever said 0 is certain about its first higher score")
    func constantHistory() {
        var calibrator = ScoreCalibrator(configuration: .init(history: 50, shortWindow: 3, warmup: 10))
        for _ in 0..<40 { _ = calibrator.calibrate(0) }
        let steady = calibrator.calibrate(0)
        #expect(steady == 0.5)
        let first = calibrator.calibrate(0.001)
        #expect(first == 1)
    }
}

@Suite("ScoreCombiner")
struct ScoreCombinerTests {
    @Test("max picks the highest probability and names its detector")
    func maxRule() throws {
        let combiner = ScoreCombiner(rule: .max)
        let c = try #require(combiner.combine([(.zscore, 0.2), (.isolationForest, 0.97), (.spectralResidual, 0.5)]))
        #expect(c.probability == 0.97 && c.strongest == .isolationForest && c.strongestProbability == 0.97)
        #expect(c.output == DetectorOutput(score: 0.97, evidence: .combined(strongest: .isolationForest, strongestScore: 0.97)))
        #expect(combiner.combine([(DetectorKind, Double)]()) == nil)
        // Out-of-range and non-finite inputs.
        let d = try #require(combiner.combine([(.zscore, 1.5), (.spectralResidual, .nan), (.isolationForest, -2)]))
        #expect(d.probability == 1 && d.strongest == .zscore)
    }

    @Test("weighted mean over the detectors present, weight 0 left out")
    func weightedRule() throws {
        let combiner = ScoreCombiner(rule: .weighted, weights: [.zscore: 2, .spectralResidual: 0])
        #expect(combiner.weight(.zscore) == 2 && combiner.weight(.isolationForest) == 1)
        var a = combiner.accumulator()
        a.add(.zscore, 0.2)
        a.add(.isolationForest, 0.97)
        a.add(.spectralResidual, 0.99)
        let c = try #require(a.result)
        #expect(abs(c.probability - (2 * 0.2 + 0.97) / 3) < 1e-15)
        #expect(c.strongest == .isolationForest && c.strongestProbability == 0.97)
        // A detector still warming up is simply absent: the weights renormalise.
        let only = try #require(combiner.combine([(.zscore, 0.3)]))
        #expect(only.probability == 0.3 && only.strongest == .zscore)
    }

    /// End to end: raw scores of two detectors on very different scales, calibrated and combined.
    @Test("calibrated detectors combine to the one that sees the outlier")
    func calibratedThenCombined() throws {
        var zCalibrator = ScoreCalibrator()
        var forestCalibrator = ScoreCalibrator()
        let z = calibrationRawScores(3000, scale: 1, seed: 1)
        var forest = calibrationRawScores(3000, scale: 0.01, seed: 2).map { 0.45 + $0 }
        forest[2999] = 0.8
        let combiner = ScoreCombiner(rule: .max)
        var last: ScoreCombiner.Combined?
        for i in 0..<3000 {
            var a = combiner.accumulator()
            if let p = zCalibrator.calibrate(z[i]) { a.add(.zscore, p) }
            if let p = forestCalibrator.calibrate(forest[i]) { a.add(.isolationForest, p) }
            last = a.result
        }
        let c = try #require(last)
        #expect(c.strongest == .isolationForest && c.probability > 0.9999)
    }
}
