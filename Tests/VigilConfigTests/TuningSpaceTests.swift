// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
@testable import VigilConfig

/// The problems of a tuning space text, one `file:line:col: key: message` line each.
func spaceProblems(_ yaml: String) -> [String] {
    do {
        _ = try TuningSpace.parse(yaml: yaml, file: "space.yaml")
        return []
    } catch {
        return error.problems.map(\.description)
    }
}

func parseSpace(_ yaml: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> TuningSpace {
    do {
        return try TuningSpace.parse(yaml: yaml, file: "space.yaml")
    } catch {
        Issue.record("unexpected problems:\n\(error)", sourceLocation: sourceLocation)
        throw error
    }
}

@Suite("Tuning space")
struct TuningSpaceTests {
    @Test("the example of the issue reads with every key")
    func readsTheExample() throws {
        let s = try parseSpace("""
            budget: 60            # evaluations
            folds: 5
            objective: detection_at_fa
            max_false_alarm_rate: 0.05
            parameters:
              detectors.zscore.threshold: {min: 3, max: 10, scale: log}
              detectors.zscore.window: {min: 32, max: 1024, scale: log, integer: true}
              detectors.zscore.mode: {values: [rolling, ewma, robust]}
              detectors.alerts.raise_after: {min: 1, max: 10, integer: true}
              detectors.combine.threshold: {min: 0.999, max: 0.99999999, scale: tail}
              detectors.spectral_residual.enabled: {values: [true, false]}
            """)
        #expect(s.budget == 60 && s.folds == 5 && s.objective == .detectionAtFalseAlarmRate && s.maxFalseAlarmRate == 0.05)
        #expect(s.parameters.map(\.keyPath) == ["detectors.zscore.threshold", "detectors.zscore.window", "detectors.zscore.mode",
                                                "detectors.alerts.raise_after", "detectors.combine.threshold",
                                                "detectors.spectral_residual.enabled"])
        #expect(s.parameters.map(\.domain) == [
            .range(lower: 3, upper: 10, scale: .log, integer: false),
            .range(lower: 32, upper: 1024, scale: .log, integer: true),
            .values(["rolling", "ewma", "robust"]),
            .range(lower: 1, upper: 10, scale: .linear, integer: true),
            .range(lower: 0.999, upper: 0.99999999, scale: .tail, integer: false),
            .values(["true", "false"]),
        ])
    }

    @Test("defaults: budget 60, 5 folds, event_f1, false-alarm rate 0.05; integer keys are whole numbers without saying so")
    func defaults() throws {
        let s = try parseSpace("parameters:\n  detectors.zscore.window: {min: 32, max: 64}\n")
        #expect(s.budget == 60 && s.folds == 5 && s.objective == .eventF1 && s.maxFalseAlarmRate == 0.05)
        #expect(s.parameters[0].domain == .range(lower: 32, upper: 64, scale: .linear, integer: true))
        #expect(!s.isWritten("folds"))
    }

    /// Each mistake, alone in a file, and the exact line it gives.
    @Test(arguments: [
        ("parameters:\n  detectors.zscore.treshold: {min: 3, max: 10}\n",
         "space.yaml:2:3: parameters.detectors.zscore.treshold: unknown key, did you mean \"detectors.zscore.threshold\"?"),
        ("parameters:\n  pipeline.workers: {min: 1, max: 4}\n",
         "space.yaml:2:3: parameters.pipeline.workers: not a tunable key: only detector keys (detectors.<section>.<key>) can be tuned"),
        ("parameters:\n  detectors.isolation_forest.seed: {min: 1, max: 9}\n",
         "space.yaml:2:3: parameters.detectors.isolation_forest.seed: not a tunable key: a random seed is not a setting (tuning it fits the noise of one draw)"),
        ("parameters:\n  detectors.combine.weights: {values: [1]}\n",
         "space.yaml:2:3: parameters.detectors.combine.weights: not a tunable key: weights is a mapping; tune the detectors' own keys instead"),
        ("parameters:\n  detectors.zscore: {min: 1, max: 4}\n",
         "space.yaml:2:3: parameters.detectors.zscore: expected a key of the section, e.g. detectors.zscore.threshold"),
        ("budgte: 10\nparameters:\n  detectors.zscore.window: {min: 32, max: 64}\n",
         "space.yaml:1:1: budgte: unknown key, did you mean \"budget\"?"),
        ("parameters:\n  detectors.zscore.window: {min: 1, max: 64}\n",
         "space.yaml:2:34: parameters.detectors.zscore.window.min: expected an integer ≥ 2, got 1"),
        ("parameters:\n  detectors.zscore.threshold: {min: -1, max: 10}\n",
         "space.yaml:2:37: parameters.detectors.zscore.threshold.min: expected a number > 0, got -1"),
        ("parameters:\n  detectors.alerts.clear_ratio: {min: 0.5, max: 2}\n",
         "space.yaml:2:49: parameters.detectors.alerts.clear_ratio.max: expected a number in (0, 1], got 2"),
        ("parameters:\n  detectors.zscore.window: {min: 40.5, max: 64}\n",
         "space.yaml:2:34: parameters.detectors.zscore.window.min: expected an integer ≥ 2, got 40.5"),
        ("parameters:\n  detectors.zscore.threshold: {min: 10, max: 3}\n",
         "space.yaml:2:37: parameters.detectors.zscore.threshold.min: min (10) must be less than max (3)"),
        ("parameters:\n  detectors.zscore.mode: {values: []}\n",
         "space.yaml:2:35: parameters.detectors.zscore.mode.values: expected at least one value"),
        ("parameters:\n  detectors.zscore.mode: {min: 1, max: 3}\n",
         "space.yaml:2:27: parameters.detectors.zscore.mode.min: not a numeric key (one of rolling, ewma, robust): give values: [rolling, ewma, robust] instead of min and max"),
        ("parameters:\n  detectors.combine.enabled: {min: 0, max: 1}\n",
         "space.yaml:2:31: parameters.detectors.combine.enabled.min: not a numeric key (true or false): give values: [true, false] instead of min and max"),
        ("parameters:\n  detectors.zscore.mode: {values: [rolling, robst]}\n",
         "space.yaml:2:45: parameters.detectors.zscore.mode.values[1]: expected one of rolling, ewma, robust, got \"robst\" (did you mean \"robust\"?)"),
        ("parameters:\n  detectors.zscore.window:\n    values: [64, 128, 64]\n",
         "space.yaml:3:23: parameters.detectors.zscore.window.values[2]: duplicate value 64, also at line 3"),
        ("parameters:\n  detectors.isolation_forest.features: {values: [shingle, asset]}\n",
         "space.yaml:2:59: parameters.detectors.isolation_forest.features.values[1]: features: asset needs the sensors of an asset; set it in an assets entry"),
        ("parameters:\n  detectors.zscore.mode: {values: [ewma], min: 1}\n",
         "space.yaml:2:43: parameters.detectors.zscore.mode.min: give either values or min and max, not both"),
        ("parameters:\n  detectors.zscore.threshold: {min: 3}\n",
         "space.yaml:2:31: parameters.detectors.zscore.threshold.max: a range needs min and max (or give values: […])"),
        ("parameters:\n  detectors.zscore.threshold: 5\n",
         "space.yaml:2:31: parameters.detectors.zscore.threshold: expected {min, max} (with optional scale, integer) or {values: […]}, got 5"),
        ("parameters:\n  detectors.zscore.window: {min: 32, max: 64, integer: false}\n",
         "space.yaml:2:56: parameters.detectors.zscore.window.integer: window takes whole numbers; integer: false is not possible"),
        ("parameters:\n  detectors.zscore.threshold: {min: 3.5, max: 10, integer: true}\n",
         "space.yaml:2:37: parameters.detectors.zscore.threshold.min: integer: true needs whole-number bounds, got 3.5"),
        ("parameters:\n  detectors.combine.threshold: {min: 0.9, max: 1, scale: tail}\n",
         "space.yaml:2:48: parameters.detectors.combine.threshold.max: scale: tail needs max < 1 (it spaces values by their distance to 1), got 1"),
        ("parameters:\n  detectors.zscore.threshold: {min: 3, max: 10, scale: logarithmic}\n",
         "space.yaml:2:56: parameters.detectors.zscore.threshold.scale: expected one of linear, log, tail, got \"logarithmic\""),
        ("budget: 0\nparameters:\n  detectors.zscore.window: {min: 32, max: 64}\n",
         "space.yaml:1:9: budget: expected an integer between 1 and 10000, got 0"),
        ("folds: 1\nparameters:\n  detectors.zscore.window: {min: 32, max: 64}\n",
         "space.yaml:1:8: folds: expected an integer between 2 and 1000, got 1"),
        ("objective: event_f2\nparameters:\n  detectors.zscore.window: {min: 32, max: 64}\n",
         "space.yaml:1:12: objective: expected one of event_f1, point_f1, detection_at_fa, nab_standard, nab_low_fp, nab_low_fn, got \"event_f2\" (did you mean \"event_f1\"?)"),
        ("max_false_alarm_rate: 1.5\nparameters:\n  detectors.zscore.window: {min: 32, max: 64}\n",
         "space.yaml:1:23: max_false_alarm_rate: expected a number in (0, 1), got 1.5"),
        ("budget: 10\n", "space.yaml:1:1: parameters: a tuning space needs parameters, e.g. detectors.zscore.threshold: {min: 3, max: 10}"),
        ("parameters: {}\n", "space.yaml:1:13: parameters: expected at least one parameter"),
    ])
    func problem(_ yaml: String, _ expected: String) {
        #expect(spaceProblems(yaml) == [expected])
    }

    @Test("every problem of a file at once, in file order")
    func allProblemsAtOnce() {
        let p = spaceProblems("""
            budget: -3
            parameters:
              detectors.zscore.window: {min: 64, max: 32}
              detectors.zscore.mood: {values: [ewma]}
            """)
        #expect(p == [
            "space.yaml:1:9: budget: expected an integer between 1 and 10000, got -3",
            "space.yaml:3:34: parameters.detectors.zscore.window.min: min (64) must be less than max (32)",
            "space.yaml:4:3: parameters.detectors.zscore.mood: unknown key, did you mean \"detectors.zscore.mode\"?",
        ])
    }

    @Test("an empty file and a missing file")
    func emptyAndMissing() throws {
        #expect(spaceProblems("") == ["space.yaml: parameters: a tuning space needs parameters, e.g. detectors.zscore.threshold: {min: 3, max: 10}"])
        #expect(throws: ConfigError.self) { try TuningSpace.load(path: "/nonexistent/space.yaml") }
        do {
            _ = try TuningSpace.load(path: "/nonexistent/space.yaml")
        } catch {
            #expect(error.description == "/nonexistent/space.yaml: tuning space file not found")
        }
    }

    @Test("every tunable key is a detector key the config reads; seeds and weights are not tunable")
    func tunableKeys() throws {
        let keys = TuningSpace.tunableKeyPaths
        #expect(keys.contains("detectors.zscore.threshold") && keys.contains("detectors.calibration.short_window"))
        #expect(!keys.contains("detectors.isolation_forest.seed") && !keys.contains("detectors.combine.weights"))
        for key in keys {
            let parts = key.split(separator: ".")
            #expect(DetectorFields.keys(of: SectionKey(rawValue: String(parts[1]))!).contains(String(parts[2])))
        }
    }

    @Test("the example spaces in Configs/eval are valid and fit the three bundled fixtures")
    func shippedExamples() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Configs/eval")
        let spaces = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("tune-") }.sorted()
        #expect(spaces == ["tune-surprise.yaml", "tune-zscore.yaml"])
        // The base each space is meant for: the shipped config, or the former z-score default.
        let bases = ["tune-surprise.yaml": VigilConfiguration(),
                     "tune-zscore.yaml": try VigilConfiguration.load(path: dir.appendingPathComponent("zscore.yaml").path)]
        for name in spaces {
            let s = try TuningSpace.load(path: dir.appendingPathComponent(name).path)
            let base = try #require(bases[name])
            #expect(s.folds <= 3 && !s.parameters.isEmpty, "\(name)")
            #expect(s.point(of: base) != nil, "\(name): the base's values lie in the space, so searches start there")
            #expect(s.ineffectiveParameters(over: base).isEmpty, "\(name): \(s.ineffectiveParameters(over: base))")
        }
    }
}
