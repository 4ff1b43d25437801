// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilConfig
import VigilDetectors

@Suite("Config: detectors.surprise")
struct SurpriseConfigTests {
    @Test func everyKeyIsRead() throws {
        let c = try parse("""
            detectors:
              surprise:
                enabled: true
                threshold: 4.5
                critical: 9
                raise_after: 2
                clear_after: 30
                clear_ratio: 0.9
                relearn_after: 0
                warmup: 200
                horizon: 4320
                change: false
                level: true
                range: false
                recent_range: true
                seasonal: false
            """)
        let s = try #require(c.detectorSettings(forSensor: "x").surprise)
        #expect(s.configuration == SurpriseConfiguration(warmup: 200, horizon: 4320, change: false, level: true, range: false,
                                                         recentRange: true, seasonal: false))
        #expect(s.alerts == AlertPolicy(threshold: 4.5, criticalThreshold: 9, raiseAfter: 2, clearAfter: 30, clearRatio: 0.9,
                                        relearnAfter: 0))
    }

    @Test func offTurnsItOff() throws {
        #expect(try parse("detectors: {surprise: {enabled: false}}").detectorSettings(forSensor: "x").surprise == nil)
    }

    @Test(arguments: [
        ("detectors: {surprise: {threshold: 0}}", "detectors.surprise.threshold", "expected a number > 0, got 0"),
        ("detectors: {surprise: {critical: -7}}", "detectors.surprise.critical", "expected a number > 0, got -7"),
        ("detectors: {surprise: {threshold: .inf}}", "detectors.surprise.threshold", "expected a number > 0, got .inf"),
        ("detectors: {surprise: {raise_after: 0}}", "detectors.surprise.raise_after", "expected an integer ≥ 1, got 0"),
        ("detectors: {surprise: {clear_after: 0}}", "detectors.surprise.clear_after", "expected an integer ≥ 1, got 0"),
        ("detectors: {surprise: {clear_ratio: 1.5}}", "detectors.surprise.clear_ratio", "expected a number in (0, 1], got 1.5"),
        ("detectors: {surprise: {relearn_after: -1}}", "detectors.surprise.relearn_after", "expected an integer ≥ 0, got -1"),
        ("detectors: {surprise: {relearn_after: 2.5}}", "detectors.surprise.relearn_after", "expected an integer ≥ 0, got 2.5"),
        ("detectors: {surprise: {warmup: 5}}", "detectors.surprise.warmup", "expected an integer ≥ 10, got 5"),
        ("detectors: {surprise: {horizon: 50}}", "detectors.surprise.horizon", "expected an integer ≥ 100, got 50"),
        ("detectors: {surprise: {seasonal: sometimes}}", "detectors.surprise.seasonal", #"expected true or false, got "sometimes""#),
        ("detectors: {surprise: {recent_range: 1}}", "detectors.surprise.recent_range", "expected true or false, got 1"),
        ("detectors: {surprise: [4]}", "detectors.surprise", "expected a mapping, got a list"),
    ])
    func wrongTypesAndRanges(_ yaml: String, _ path: String, _ message: String) throws {
        let p = problems(yaml)
        #expect(p.count == 1)
        let problem = try #require(p.first)
        #expect(problem.keyPath == path)
        #expect(problem.message == message)
        #expect(problem.line == 1)
        #expect(problem.file == "test.yaml")
    }

    @Test func unknownKeysSuggestTheClosest() throws {
        let p = problems("""
            detectors:
              surprise:
                relearn: 300
                horizn: 100
            """)
        #expect(p.map(\.keyPath) == ["detectors.surprise.relearn", "detectors.surprise.horizn"])
        #expect(p.map(\.message) == [
            "unknown key (known keys: enabled, threshold, critical, raise_after, clear_after, clear_ratio, relearn_after, warmup, "
                + "horizon, change, level, range, recent_range, seasonal)",
            #"unknown key, did you mean "horizon"?"#,
        ])
        #expect(p.map(\.line) == [3, 4])
        #expect(p.map(\.column) == [5, 5])
    }

    @Test(arguments: [
        ("detectors: {surprise: {critical: 3}}", "detectors.surprise.critical", "critical (3) must be ≥ threshold (4)"),
        ("detectors: {surprise: {threshold: 8}}", "detectors.surprise.threshold", "critical (7) must be ≥ threshold (8)"),
        ("detectors: {surprise: {change: false, level: false, range: false, recent_range: false, seasonal: false}}",
         "detectors.surprise.change", "at least one channel (change, level, range, recent_range, seasonal) must be on"),
    ])
    func inconsistentValues(_ yaml: String, _ path: String, _ message: String) throws {
        let p = problems(yaml)
        #expect(p.count == 1)
        let problem = try #require(p.first)
        #expect(problem.code == .inconsistent)
        #expect(problem.keyPath == path)
        #expect(problem.message == message)
    }

    @Test func overrideBlamedWithItsLine() throws {
        let p = problems("""
            sensors:
              - match: "plant1/**"
                surprise: {threshold: 9}
            """)
        let problem = try #require(p.first)
        #expect(p.count == 1)
        #expect(problem.keyPath == "sensors[0].surprise.threshold")
        #expect(problem.line == 3)
        #expect(problem.message == #"critical (7) must be ≥ threshold (9) for sensors matching "plant1/**""#)
    }

    @Test func weightsNameTheSurpriseDetector() throws {
        let c = try parse("detectors: {combine: {enabled: true, rule: weighted, weights: {surprise: 2}}}")
        #expect(c.renderSummary().contains("weights {surprise: 2"))
        #expect(problems("detectors: {combine: {weights: {surprise: -1}}}").first?.keyPath == "detectors.combine.weights.surprise")
    }

    @Test func fingerprintFollowsTheSection() throws {
        let a = try parse("detectors: {surprise: {horizon: 4320}}").detectorSettings(forSensor: "x")
        let b = try parse("detectors: {surprise: {horizon: 4321}}").detectorSettings(forSensor: "x")
        #expect(a.fingerprint != b.fingerprint)
        #expect(a.fingerprint == (try parse("detectors: {surprise: {horizon: 4320}}").detectorSettings(forSensor: "x").fingerprint))
    }
}
