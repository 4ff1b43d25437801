// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilCore
import VigilDetectors

/// A short baseline: a wide asset is monitored after 3 rounds per variable, its lags fit the
/// baseline, and the baseline grows only with in-control rounds.
@Suite("PCA monitor on short baselines")
struct PCAShortBaselineTests {
    /// Rounds of `m` members driven by 3 shared AR(1) factors plus independent noise; from
    /// `faultFrom` on, member 0 is offset by `step` (its own deviations).
    static func plant(members m: Int, rounds: Int, faultFrom: Int = .max, step: Double = 0, seed: UInt64 = 11) -> [[Double]] {
        var rng = Xoshiro256StarStar(seed: seed)
        let loadings = (0..<3).map { _ in (0..<m).map { _ in rng.nextGaussian() } }
        var f = [0.0, 0.0, 0.0]
        return (0..<rounds).map { t in
            for a in 0..<3 { f[a] = 0.8 * f[a] + 0.6 * rng.nextGaussian() }
            return (0..<m).map { i in
                var v = 10 + 0.3 * rng.nextGaussian()
                for a in 0..<3 { v += loadings[a][i] * f[a] }
                if i == 0, t >= faultFrom { v += step * 0.3 }
                return v
            }
        }
    }

    @Test func lagsFitTheBaseline() {
        let c = PCAConfiguration()  // lags 2, warmup 1000
        #expect(PCAMonitor.lags(for: c, dimension: 24) == 2, "24 × 3 × 10 = 720 ≤ 1000")
        #expect(PCAMonitor.lags(for: c, dimension: 40) == 1, "40 × 2 × 10 = 800 ≤ 1000 < 40 × 3 × 10")
        #expect(PCAMonitor.lags(for: c, dimension: 52) == 0, "a 52-member asset: static PCA")
        #expect(PCAMonitor.lags(for: c, dimension: 200) == 0)
        #expect(PCAMonitor.lags(for: c, dimension: 257) == nil)
        let monitor = PCAMonitor(configuration: c, dimension: 52)
        #expect(monitor.width == 52 && monitor.firstFit == 156, "monitored before row 160")
    }

    @Test func aWideAssetIsMonitoredAfterThreeRoundsPerVariableAndCatchesAStep() {
        let m = 52
        let values = Self.plant(members: m, rounds: 960, faultFrom: 160, step: 20)
        let run = PCATestSupport.run(values, section: PCATestSupport.section())
        let first = run.scores.firstIndex { $0 != nil }
        #expect(first == 156, "scored from the round after the one that completes 3 × 52 baseline rounds")
        #expect(run.share(200..<960) > 0.9, "the step on one member is flagged: \(run.share(200..<960))")
        #expect(run.share(156..<160) == 0)
        // Little of the fault is learned: only rounds it left unflagged join the baseline.
        let unflagged = (160..<960).filter { !run.flagged[$0] }.count
        #expect(run.monitor!.baselineCount <= 160 + unflagged)
    }

    @Test func theBaselineGrowsWithInControlRoundsAndIsRefitted() {
        let m = 20  // lags 2 (20 × 3 × 10 = 600 ≤ 1000): width 60, first fit at 180
        let values = Self.plant(members: m, rounds: 3000)
        let run = PCATestSupport.run(values, section: PCATestSupport.section())
        let monitor = run.monitor!
        #expect(monitor.lags == 2 && monitor.firstFit == 180)
        #expect(monitor.baselineCount == 1000, "grown to warmup from in-control rounds")
        #expect(monitor.baselines == 1, "refits of the growing baseline are not new baselines")
        #expect(run.falseAlarmShare(labels: [Bool](repeating: false, count: 3000), from: 180) < 0.05)
    }
}
