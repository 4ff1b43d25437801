// SPDX-License-Identifier: GPL-3.0-or-later
import VigilConfig

/// The objectives a tuning space can name, and the ones this build has. Threading: pure functions.
public enum TuningObjectives {
    /// The objective `space` names.
    public static func objective(for space: TuningSpace) throws(ConfigError) -> any TuningObjective {
        switch space.objective {
        case .eventF1:
            return EventF1Objective()
        case .pointF1:
            return PointF1Objective()
        case .detectionAtFalseAlarmRate:
            return DetectionAtFalseAlarmRateObjective(maxFalseAlarmRate: space.maxFalseAlarmRate)
        case .nabStandard:
            return NABObjective(profile: .standard)
        case .nabLowFP:
            return NABObjective(profile: .rewardLowFPRate)
        case .nabLowFN:
            return NABObjective(profile: .rewardLowFNRate)
        }
    }
}
