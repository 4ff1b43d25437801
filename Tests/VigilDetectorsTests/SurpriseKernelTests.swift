// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
@testable import VigilDetectors

/// The surprise detector's fast paths against their plain definitions, bit for bit.
@Suite("Surprise detector kernels")
struct SurpriseKernelTests {
    @Test("the flat probability's surprise is libm's −log10 of it, and the shortcut equals the formula")
    func flatSurprise() {
        let p = TailLikelihood.flatProbability
        #expect(TailLikelihood.flatSurprise.bitPattern == (-log10(max(p, 1e-300))).bitPattern)
        for q in [p, 0.5, 1e-4, Double.leastNormalMagnitude / 0x1p40, 0, 1, p.nextUp, p.nextDown] {
            #expect(TailLikelihood.surprise(q).bitPattern == (-log10(max(q, 1e-300))).bitPattern)
        }
    }

    /// The period search's autocorrelation as it was written first: one lag at a time over the
    /// pairs of blocks present.
    static func reference(_ blocks: [Double], mu: Double, v0: Double, lags: Int) -> [Double] {
        let n = blocks.count
        var r = [Double](repeating: 0, count: lags + 2)
        for lag in 1...lags where lag < n {
            var c = 0.0, k = 0.0
            for j in lag..<n {
                let x = blocks[j], y = blocks[j - lag]
                if !x.isNaN && !y.isNaN {
                    c += (x - mu) * (y - mu)
                    k += 1
                }
            }
            r[lag] = k > 0 ? c / k / v0 : 0
        }
        return r
    }

    @Test("eight lags per pass give the one-lag-at-a-time autocorrelation bit for bit, with and without missing blocks",
          arguments: [(256, 0.0), (256, 0.05), (256, 0.5), (64, 0.0), (100, 0.2), (255, 0.01)])
    func autocorrelation(n: Int, missing: Double) {
        var rng = Xoshiro256StarStar(seed: UInt64(n) &* 31 &+ UInt64(missing * 1000))
        var blocks = (0..<n).map { i in 20 + 3 * sin(Double(i) / 7) + rng.nextGaussian() }
        for i in 0..<n where rng.nextUnit() < missing { blocks[i] = .nan }
        let valid = blocks.filter { !$0.isNaN }
        let mu = valid.reduce(0, +) / Double(valid.count)
        let v0 = valid.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(valid.count)
        let lags = min(n / 2 + 1, n - 1)
        let pass = SeasonalProfile.lagsPerPass
        let reversed = UnsafeMutablePointer<Double>.allocate(capacity: n + pass)
        let present = UnsafeMutablePointer<Double>.allocate(capacity: n + pass)
        let r = UnsafeMutablePointer<Double>.allocate(capacity: lags + 2)
        defer { reversed.deallocate(); present.deallocate(); r.deallocate() }
        for i in 0..<(n + pass) {
            let x = i < n ? blocks[n - 1 - i] : .nan
            reversed[i] = x.isNaN ? 0 : x - mu
            present[i] = x.isNaN ? 0 : 1
        }
        r.initialize(repeating: 0, count: lags + 2)
        SeasonalProfile.autocorrelation(reversed, present: valid.count == n ? nil : present, count: n, lags: lags,
                                        variance: v0, into: r)
        let expected = Self.reference(blocks, mu: mu, v0: v0, lags: lags)
        for lag in 1...lags {
            #expect(r[lag].bitPattern == expected[lag].bitPattern, "lag \(lag): \(r[lag]) vs \(expected[lag])")
        }
    }
}
