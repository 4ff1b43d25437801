// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
@testable import VigilDetectors

/// Gaussian values, from a fixed seed.
private func zscoreVariantNoise(_ count: Int, seed: UInt64, mean: Double = 0, sd: Double = 1) -> [Double] {
    var rng = Xoshiro256StarStar(seed: seed)
    return (0..<count).map { _ in mean + sd * rng.nextGaussian() }
}

/// Median with the same even-count formula as the detector.
private func zscoreVariantMedian(_ values: [Double]) -> Double {
    let a = values.sorted()
    let h = a.count / 2
    return a.count % 2 == 1 ? a[h] : a[h - 1] + (a[h] - a[h - 1]) / 2
}

private func zscoreVariantEvidence(_ out: DetectorOutput?) -> (mean: Double, deviation: Double, z: Double)? {
    guard let out, case let .zscore(mean, deviation, z) = out.evidence else { return nil }
    return (mean, deviation, z)
}

@Suite("EWMAZScoreDetector")
struct EWMAZScoreDetectorTests {
    /// The recursion against the explicit weighted mean and variance, weights `α(1 − α)^k` and
    /// `(1 − α)^(n−1)` on the first sample.
    @Test("matches the explicit exponentially weighted mean and variance", arguments: [0.01, 0.1, 0.5])
    func matchesNaive(alpha: Double) {
        let values = zscoreVariantNoise(400, seed: 1, mean: 3, sd: 2)
        var detector = EWMAZScoreDetector(configuration: .init(warmup: 10, alpha: alpha))
        #expect(detector.kind == .zscore)
        for n in 1...values.count {
            let x = values[n - 1]
            let before = (detector.mean, detector.variance)
            let out = detector.update(timestamp: Int64(n), value: x)
            // Naive baseline over values[0..<n].
            var weights = [Double](repeating: 0, count: n)
            for k in 0..<n { weights[k] = k == 0 ? pow(1 - alpha, Double(n - 1)) : alpha * pow(1 - alpha, Double(n - 1 - k)) }
            var mean = 0.0
            for k in 0..<n { mean += weights[k] * values[k] }
            var variance = 0.0
            for k in 0..<n { variance += weights[k] * (values[k] - mean) * (values[k] - mean) }
            #expect(abs(detector.mean - mean) < 1e-9 * max(1, abs(mean)))
            #expect(abs(detector.variance - variance) < 1e-9 * max(1, variance))
            if n - 1 >= 10 {
                let e = zscoreVariantEvidence(out)
                #expect(e != nil)
                if let e {
                    #expect(e.mean == before.0 && e.deviation == before.1.squareRoot())
                    #expect(abs(e.z - (x - before.0) / before.1.squareRoot()) < 1e-12)
                    #expect(out?.score == abs(e.z))
                }
            } else {
                #expect(out == nil)
            }
        }
    }

    @Test("a large offset costs no precision")
    func largeOffset() throws {
        let noise = zscoreVariantNoise(5000, seed: 2, sd: 1e-3)
        var offset = EWMAZScoreDetector(configuration: .init(warmup: 50, alpha: 0.02))
        var centred = EWMAZScoreDetector(configuration: .init(warmup: 50, alpha: 0.02))
        for (i, e) in noise.enumerated() {
            _ = offset.update(timestamp: Int64(i), value: 1e9 + e)
            _ = centred.update(timestamp: Int64(i), value: e)
        }
        #expect(abs(offset.variance.squareRoot() / centred.variance.squareRoot() - 1) < 1e-4)
        let probe = try #require(zscoreVariantEvidence(offset.update(timestamp: 5000, value: 1e9 + 0.01)))
        let reference = try #require(zscoreVariantEvidence(centred.update(timestamp: 5000, value: 0.01)))
        #expect(abs(probe.z / reference.z - 1) < 1e-3)
        #expect(probe.z > 5)
    }

    @Test("non-finite samples are ignored")
    func nonFinite() {
        var detector = EWMAZScoreDetector(configuration: .init(warmup: 2, alpha: 0.1))
        for i in 0..<5 { _ = detector.update(timestamp: Int64(i), value: Double(i % 2)) }
        let state = (detector.mean, detector.variance, detector.count)
        #expect(detector.update(timestamp: 9, value: .nan) == nil)
        #expect(detector.update(timestamp: 9, value: .infinity) == nil)
        #expect(detector.mean == state.0 && detector.variance == state.1 && detector.count == state.2)
    }
}

@Suite("RobustZScoreDetector")
struct RobustZScoreDetectorTests {
    /// Against a sort of the window at every step, for odd and even windows, with many ties
    /// (values rounded to a coarse grid) and through the warm-up.
    @Test("matches a naive median and MAD of the window", arguments: [(31, 0.5), (32, 0.5), (64, 0.0), (5, 1.0)])
    func matchesNaive(window: Int, grid: Double) {
        var values = zscoreVariantNoise(1500, seed: UInt64(window), mean: 10, sd: 3)
        if grid > 0 { values = values.map { ($0 / grid).rounded() * grid } }
        let warmup = min(window, 8)
        var detector = RobustZScoreDetector(configuration: .init(window: window, warmup: warmup))
        var history: [Double] = []
        for (i, x) in values.enumerated() {
            let baseline = Array(history.suffix(window))
            let out = detector.update(timestamp: Int64(i), value: x)
            history.append(x)
            if baseline.count >= warmup {
                let m = zscoreVariantMedian(baseline)
                let mad = zscoreVariantMedian(baseline.map { abs($0 - m) })
                let deviation = max(1.4826 * mad, 1e-9, abs(m) * 1e-13)
                let e = zscoreVariantEvidence(out)
                #expect(e != nil)
                if let e {
                    #expect(abs(e.mean - m) <= 1e-12 * abs(m))
                    #expect(abs(e.deviation - deviation) <= 1e-12 * deviation)
                    #expect(abs(e.z - (x - m) / deviation) <= 1e-9 * max(1, abs(e.z)))
                }
            } else {
                #expect(out == nil)
            }
            let now = Array(history.suffix(window))
            #expect(detector.count == now.count)
            #expect(abs(detector.median - zscoreVariantMedian(now)) <= 1e-12 * 10)
        }
    }

    @Test("a single outlier in the baseline moves neither the median nor the MAD")
    func ignoresOutlier() throws {
        let values = zscoreVariantNoise(200, seed: 3)
        var robust = RobustZScoreDetector(configuration: .init(window: 64, warmup: 32))
        var clean = RobustZScoreDetector(configuration: .init(window: 64, warmup: 32))
        var rolling = ZScoreDetector(configuration: .init(window: 64, warmup: 32))
        for (i, x) in values.enumerated() {
            let polluted = i == 180 ? 1e6 : x
            _ = robust.update(timestamp: Int64(i), value: polluted)
            _ = rolling.update(timestamp: Int64(i), value: polluted)
            _ = clean.update(timestamp: Int64(i), value: x)
        }
        let probe = 2.5
        let r = try #require(zscoreVariantEvidence(robust.update(timestamp: 200, value: probe)))
        let c = try #require(zscoreVariantEvidence(clean.update(timestamp: 200, value: probe)))
        let z = try #require(zscoreVariantEvidence(rolling.update(timestamp: 200, value: probe)))
        // One order statistic of shift at most: a few percent of a standard deviation.
        #expect(abs(r.mean - c.mean) < 0.1)
        #expect(abs(r.deviation / c.deviation - 1) < 0.1)
        #expect(abs(r.z - c.z) < 0.3 && r.z > 1.5)
        // The mean/standard-deviation baseline is wrecked by the same outlier.
        #expect(z.deviation > 1e4 && abs(z.z) < 0.5)
    }

    @Test("a large offset costs no precision")
    func largeOffset() throws {
        let noise = zscoreVariantNoise(3000, seed: 4, sd: 1e-3)
        var offset = RobustZScoreDetector(configuration: .init(window: 255, warmup: 64))
        var centred = RobustZScoreDetector(configuration: .init(window: 255, warmup: 64))
        for (i, e) in noise.enumerated() {
            _ = offset.update(timestamp: Int64(i), value: 1e9 + e)
            _ = centred.update(timestamp: Int64(i), value: e)
        }
        #expect(abs((offset.median - 1e9) - centred.median) < 1e-6)
        #expect(abs(offset.medianAbsoluteDeviation / centred.medianAbsoluteDeviation - 1) < 1e-4)
        let probe = try #require(zscoreVariantEvidence(offset.update(timestamp: 3000, value: 1e9 + 0.01)))
        let reference = try #require(zscoreVariantEvidence(centred.update(timestamp: 3000, value: 0.01)))
        #expect(abs(probe.z / reference.z - 1) < 1e-3)
    }

    @Test("a constant window falls back to the deviation floor")
    func constantWindow() throws {
        var detector = RobustZScoreDetector(configuration: .init(window: 16, warmup: 8, minDeviation: 0.5))
        for i in 0..<20 { _ = detector.update(timestamp: Int64(i), value: 3) }
        let e = try #require(zscoreVariantEvidence(detector.update(timestamp: 20, value: 4)))
        #expect(e.mean == 3 && e.deviation == 0.5 && e.z == 2)
        #expect(detector.update(timestamp: 21, value: .nan) == nil)
    }
}
