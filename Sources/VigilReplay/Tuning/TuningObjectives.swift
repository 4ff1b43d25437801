// SPDX-License-Identifier: GPL-3.0-or-later
import VigilConfig

/// The objectives a tuning space can name, and the ones this build has. Threading: pure functions.
public enum TuningObjectives {
    /// The objective `space` names; a problem at its `objective` key when this build does not
    /// have it. (The NAB scores wait for VigilReplay's `NABScorer`; each will be one case here.)
    public static func objective(for space: TuningSpace) throws(ConfigError) -> any TuningObjective {
        switch space.objective {
        case .eventF1:
            return EventF1Objective()
        case .pointF1:
            return PointF1Objective()
        case .detectionAtFalseAlarmRate:
            return DetectionAtFalseAlarmRateObjective(maxFalseAlarmRate: space.maxFalseAlarmRate)
        case .nabStandard, .nabLowFP, .nabLowFN:
            throw ConfigError(problems: [space.problem(.invalidValue, at: "objective",
                "\(space.objective.rawValue) is not available in this build (NAB scoring is not part of it yet); "
                    + "use \(available.map(\.rawValue).joined(separator: ", "))")])
        }
    }

    /// The objectives this build can score.
    public static let available: [TuningSpace.Objective] = [.eventF1, .pointF1, .detectionAtFalseAlarmRate]
}
