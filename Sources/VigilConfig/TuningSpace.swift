// SPDX-License-Identifier: GPL-3.0-or-later

/// A tuning space (`vigil eval --tune SPACE.yaml`): which detector keys to search over which
/// values, how many settings to try, how to cross-validate and what to maximise.
///
/// ```yaml
/// budget: 60            # evaluations per search
/// folds: 5              # cross-validation folds of whole files
/// objective: event_f1   # point_f1, detection_at_fa, nab_standard, nab_low_fp, nab_low_fn
/// max_false_alarm_rate: 0.05   # detection_at_fa only
/// parameters:
///   detectors.zscore.threshold: {min: 3, max: 10, scale: log}
///   detectors.zscore.window: {min: 32, max: 1024, scale: log, integer: true}
///   detectors.zscore.mode: {values: [rolling, ewma, robust]}
/// ```
///
/// `load(path:)` and `parse(yaml:file:)` check the file like a configuration
/// (`file:line:column: key.path: message`, every problem at once): unknown keys and keys that
/// are not tunable are refused with a suggestion, and every bound and value is checked against
/// the range of the configuration key it is for (the same tables the config loader reads).
/// A candidate is a coordinate per parameter; `candidate(at:over:)` overlays its values on a
/// base configuration the way the loader applies a `detectors` section.
///
/// Threading: an immutable value.
public struct TuningSpace: Sendable {
    /// What a search maximises (`objective`).
    public enum Objective: String, Sendable, Equatable, CaseIterable {
        /// Event-wise F1: labelled windows found against alarms raised outside them.
        case eventF1 = "event_f1"
        /// Point-wise F1 over rows.
        case pointF1 = "point_f1"
        /// The share of labelled-anomalous rows flagged, subject to the share of normal rows
        /// flagged being at most `max_false_alarm_rate`.
        case detectionAtFalseAlarmRate = "detection_at_fa"
        /// NAB score, standard profile.
        case nabStandard = "nab_standard"
        /// NAB score, reward-low-false-positives profile.
        case nabLowFP = "nab_low_fp"
        /// NAB score, reward-low-false-negatives profile.
        case nabLowFN = "nab_low_fn"
    }

    /// The file as given to `load(path:)` or `parse(yaml:file:)`.
    public var file: String
    /// Settings evaluated per search (`budget`, default 60).
    public var budget: Int
    /// Cross-validation folds of whole files (`folds`, default 5).
    public var folds: Int
    /// What is maximised (`objective`, default `event_f1`).
    public var objective: Objective
    /// The false-alarm rate `detection_at_fa` allows (`max_false_alarm_rate`, default 0.05).
    public var maxFalseAlarmRate: Double
    /// The keys searched, in file order (`parameters`).
    public var parameters: [TuningParameter]
    /// Where top-level keys were written, by key path.
    var locations: [String: SourceLocation]

    /// A space with the defaults for what is not given.
    init(file: String, budget: Int = 60, folds: Int = 5, objective: Objective = .eventF1,
         maxFalseAlarmRate: Double = 0.05, parameters: [TuningParameter] = []) {
        self.file = file
        self.budget = budget
        self.folds = folds
        self.objective = objective
        self.maxFalseAlarmRate = maxFalseAlarmRate
        self.parameters = parameters
        self.locations = [:]
    }

    /// A problem with `keyPath` of this file (`folds`, `objective`) found by a later check, at
    /// the position the key was written (no position when it was left to its default).
    public func problem(_ code: ConfigProblem.Code, at keyPath: String, _ message: String) -> ConfigProblem {
        let at = locations[keyPath]
        return ConfigProblem(code: code, file: file, line: at?.line ?? 0, column: at?.column ?? 0, keyPath: keyPath,
                             message: message)
    }

    /// Whether `keyPath` was written in the file (rather than left to its default).
    public func isWritten(_ keyPath: String) -> Bool { locations[keyPath] != nil }

    // MARK: - Points

    /// Each coordinate snapped to the value it stands for (see `TuningParameter.snapped`).
    public func snapped(_ point: [Double]) -> [Double] {
        precondition(point.count == parameters.count)
        return zip(parameters, point).map { $0.snapped($1) }
    }

    /// The point of `base`'s own values (its `detectors` section; a section's unset
    /// `raise_after`, `clear_after` or `clear_ratio` reads from `alerts`), nil when one of them
    /// is outside the space.
    public func point(of base: VigilConfiguration) -> [Double]? {
        var out: [Double] = []
        for p in parameters {
            guard let value = base.detectors.value(p.section, p.key), let c = p.coordinate(of: value) else { return nil }
            out.append(c)
        }
        return out
    }

    /// The settings at `point` (one coordinate per parameter) overlaid on `base`.
    public func candidate(at point: [Double], over base: VigilConfiguration) -> TuningCandidate {
        precondition(point.count == parameters.count)
        var patch = DetectorPatch()
        for (p, c) in zip(parameters, point) {
            patch.entries.append(PatchEntry(section: p.section, key: p.key, value: p.value(at: c),
                                            location: SourceLocation(line: p.line, column: p.column, keyPath: p.keyPath)))
        }
        return TuningCandidate(patch: patch, over: base)
    }

    /// Parameters that cannot change what the evaluation measures over `base`, with the reason:
    /// keys of a detector the base leaves off, alert keys of a detector whose alerts come from
    /// `combine`, the combination's keys when it is off (unless the parameters also turn the
    /// section on or off); and keys an `assets` or `sensors` entry of the base sets again, which
    /// the tuned value does not reach for that entry's sensors.
    public func ineffectiveParameters(over base: VigilConfiguration) -> [(keyPath: String, reason: String)] {
        let d = base.detectors
        let tuned = Set(parameters.map(\.keyPath))
        func enabled(_ s: SectionKey) -> Bool? {
            if tuned.contains("detectors.\(s.rawValue).enabled") { return nil }
            return d.value(s, "enabled") == .bool(true)
        }
        let alertKeys: Set<String> = ["threshold", "critical", "raise_after", "clear_after", "clear_ratio", "relearn_after"]
        var out: [(keyPath: String, reason: String)] = []
        for p in parameters where p.key != "enabled" {
            switch p.section {
            case .surprise, .zscore, .spectralResidual, .isolationForest:
                if enabled(p.section) == false {
                    out.append((p.keyPath, "no effect: detectors.\(p.section.rawValue) is off in the base configuration"))
                } else if alertKeys.contains(p.key), enabled(.combine) == true {
                    out.append((p.keyPath, "no effect: alerts come from detectors.combine, which is on in the base configuration"))
                }
            case .combine, .calibration:
                if enabled(.combine) == false {
                    out.append((p.keyPath, "no effect: detectors.combine is off in the base configuration"))
                }
            case .pca:
                if enabled(.pca) == false {
                    out.append((p.keyPath, "no effect: detectors.pca is off in the base configuration"))
                }
            case .seasonal:
                if enabled(.seasonal) == false {
                    out.append((p.keyPath, "no effect: detectors.seasonal is off in the base configuration"))
                }
            case .alerts:
                break
            }
        }
        // Candidates are overlaid on `detectors`; a later entry that sets the key wins for its sensors.
        let overrides = base.assets.enumerated().map { ("assets[\($0)] (\(quoted($1.name)))", $1.patch) }
            + base.sensors.enumerated().map { ("sensors[\($0)] (match \(quoted($1.match.pattern)))", $1.patch) }
        for p in parameters {
            for (name, patch) in overrides where patch.entries.contains(where: { $0.section == p.section && $0.key == p.key }) {
                out.append((p.keyPath, "no effect on the sensors of \(name), which sets it again"))
            }
        }
        return out
    }
}
