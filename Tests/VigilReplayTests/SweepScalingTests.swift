// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilDetectors
import VigilReplay

@Suite("Threshold sweep scaling")
struct SweepScalingTests {
    @Test("raw thresholds scale by the factor; probability thresholds by the power of their tail")
    func scaling() throws {
        let shipped = DetectorSettings().scalingThresholds(by: 2)
        #expect(shipped.surprise?.alerts.threshold == 8 && shipped.surprise?.alerts.criticalThreshold == 14)
        // The calibrated z-score combination (the former default).
        let s = DetectorSettings(zscore: DetectorSettings.defaultZScore, combine: DetectorSettings.defaultCombine)
        let stricter = s.scalingThresholds(by: 2)
        #expect(stricter.zscore?.alerts.threshold == 10)
        let combined = try #require(stricter.combine?.alerts)
        #expect(abs((1 - combined.threshold) - 1e-14) < 1e-15)
        #expect(combined.criticalThreshold >= combined.threshold && combined.criticalThreshold < 1)
        let looser = try #require(s.scalingThresholds(by: 0.5).combine?.alerts)
        #expect(abs((1 - looser.threshold) - 3.1622776601683795e-4) < 1e-9)
        #expect(s.scalingThresholds(by: 1) == s)
    }
}
