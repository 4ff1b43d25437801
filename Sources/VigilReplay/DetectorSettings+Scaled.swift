// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import VigilDetectors

extension DetectorSettings {
    /// The same settings with every alert threshold made stricter (`factor` > 1) or looser
    /// (`factor` < 1): what `vigil eval --sweep` varies. Raw-score thresholds are multiplied by
    /// `factor`; thresholds on the combined probability, which live just below 1, have their tail
    /// raised to the power `factor` (1 − 1e-7 at factor 2 becomes 1 − 1e-14; at 0.5, 1 − 3.2e-4),
    /// capped at 1 − 1e-15. Detector parameters are unchanged.
    public func scalingThresholds(by factor: Double) -> DetectorSettings {
        precondition(factor > 0)
        func scale(_ p: AlertPolicy) -> AlertPolicy {
            var q = p
            q.threshold *= factor
            q.criticalThreshold *= factor
            return q
        }
        var s = self
        s.surprise?.alerts = scale(surprise?.alerts ?? AlertPolicy(threshold: 1, criticalThreshold: 1))
        s.zscore?.alerts = scale(zscore?.alerts ?? AlertPolicy(threshold: 1, criticalThreshold: 1))
        s.spectralResidual?.alerts = scale(spectralResidual?.alerts ?? AlertPolicy(threshold: 1, criticalThreshold: 1))
        s.isolationForest?.alerts = scale(isolationForest?.alerts ?? AlertPolicy(threshold: 1, criticalThreshold: 1))
        func scaleProbability(_ p: AlertPolicy) -> AlertPolicy {
            var q = p
            func tail(_ t: Double) -> Double { 1 - max(pow(max(1 - t, 0), factor), 1e-15) }
            q.threshold = tail(p.threshold)
            q.criticalThreshold = max(tail(p.criticalThreshold), q.threshold)
            return q
        }
        s.combine?.alerts = scaleProbability(combine?.alerts ?? AlertPolicy(threshold: 1, criticalThreshold: 1))
        return s
    }
}
