// SPDX-License-Identifier: GPL-3.0-or-later
import VigilDetectors

extension DetectorSettings {
    /// The same settings with every alert threshold (and critical threshold) multiplied by
    /// `factor`: what `vigil eval --sweep` varies. Detector parameters are unchanged.
    public func scalingThresholds(by factor: Double) -> DetectorSettings {
        precondition(factor > 0)
        func scale(_ p: AlertPolicy) -> AlertPolicy {
            var q = p
            q.threshold *= factor
            q.criticalThreshold *= factor
            return q
        }
        var s = self
        s.zscore?.alerts = scale(zscore?.alerts ?? AlertPolicy(threshold: 1, criticalThreshold: 1))
        s.spectralResidual?.alerts = scale(spectralResidual?.alerts ?? AlertPolicy(threshold: 1, criticalThreshold: 1))
        s.isolationForest?.alerts = scale(isolationForest?.alerts ?? AlertPolicy(threshold: 1, criticalThreshold: 1))
        s.combine?.alerts = scale(combine?.alerts ?? AlertPolicy(threshold: 1, criticalThreshold: 1))
        return s
    }
}
