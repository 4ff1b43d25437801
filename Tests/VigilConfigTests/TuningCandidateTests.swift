// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
@testable import VigilConfig
import VigilDetectors

@Suite("Tuning candidates")
struct TuningCandidateTests {
    static let space = """
        parameters:
          detectors.zscore.threshold: {min: 3, max: 10, scale: log}
          detectors.zscore.window: {min: 32, max: 1024, scale: log}
          detectors.zscore.mode: {values: [rolling, ewma, robust]}
          detectors.alerts.raise_after: {min: 1, max: 10}
          detectors.combine.threshold: {min: 0.999, max: 0.99999999, scale: tail}
        """

    @Test("coordinates map to values inside the range, ends included, and snapping is idempotent")
    func coordinates() throws {
        let s = try parseSpace(Self.space)
        let threshold = s.parameters[0], window = s.parameters[1], mode = s.parameters[2], raise = s.parameters[3]
        let combine = s.parameters[4]
        #expect(threshold.text(at: 0) == "3" && threshold.text(at: 1) == "10")
        #expect(window.text(at: 0) == "32" && window.text(at: 1) == "1024")
        #expect(mode.text(at: 0) == "rolling" && mode.text(at: 2) == "robust" && mode.text(at: 7) == "robust")
        #expect(combine.text(at: 0) == "0.999" && combine.text(at: 1) == "0.99999999")
        // The midpoint of a log scale is the geometric mean, rounded to a thousandth of the range.
        #expect(threshold.text(at: 0.5) == "5.477")
        // Tail scale: evenly spaced decades of 1 − t.
        #expect(combine.text(at: 0.5) == "0.99999684")
        // Whole numbers share the coordinate equally: each of 1…10 gets a tenth.
        let counts = (0..<1000).map { raise.text(at: (Double($0) + 0.5) / 1000) }.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
        #expect(counts == Dictionary(uniqueKeysWithValues: (1...10).map { ("\($0)", 100) }))
        for u in stride(from: 0.0, through: 1.0, by: 0.037) {
            for p in s.parameters where p.choiceCount == nil {
                let snapped = p.snapped(u)
                #expect(p.snapped(snapped) == snapped && p.text(at: snapped) == p.text(at: u), "\(p.keyPath) at \(u)")
            }
        }
    }

    @Test("values are overlaid on the base's detectors; the snippet parses back to the same detector settings")
    func snippetRoundTrips() throws {
        let s = try parseSpace(Self.space)
        let base = try VigilConfiguration.parse(yaml: "detectors:\n  spectral_residual: {enabled: true, window: 123}\n", file: "base.yaml")
        let c = s.candidate(at: [0.5, 0.5, 2, 0.15, 0.2], over: base)
        #expect(c.settings.map(\.value) == ["5.477", "181", "robust", "2", "0.9999"])
        let d = c.configuration.detectors
        #expect(d.zscore.threshold == 5.477 && d.zscore.configuration.window == 181 && d.zscore.configuration.mode == .robust)
        #expect(d.alerts.raiseAfter == 2 && d.combine.threshold == 0.9999)
        #expect(d.spectralResidual.enabled && d.spectralResidual.configuration.window == 123, "the base's own keys stay")
        #expect(c.adjusted.isEmpty)

        let snippet = c.snippet(header: ["a header"])
        #expect(snippet.hasPrefix("# a header\ndetectors:\n"))
        #expect(snippet.contains("    threshold: 5.477  # tuned\n"))
        #expect(snippet.contains("  spectral_residual:\n    enabled: true\n    window: 123\n"), "the base's choices are listed")
        let parsed = try VigilConfiguration.parse(yaml: snippet, file: "snippet.yaml")
        #expect(parsed.detectors == c.configuration.detectors)

        // The commented sensors: example is a valid entry giving the tuned values to its sensors.
        let example = snippet.split(separator: "\n").drop { !$0.hasPrefix("#   - match:") }.map { "  " + $0.dropFirst(4) }
        let overridden = try VigilConfiguration.parse(yaml: "sensors:\n" + example.joined(separator: "\n") + "\n", file: "sensors.yaml")
        var expected = VigilConfiguration().detectors
        expected.zscore.threshold = 5.477
        expected.zscore.configuration.window = 181
        expected.zscore.configuration.mode = .robust
        expected.alerts.raiseAfter = 2
        expected.combine.threshold = 0.9999
        #expect(overridden.resolvedDetectors(forSensor: "plant1/pump7/vibration") == expected)
        #expect(overridden.resolvedDetectors(forSensor: "plant1/pump7/flow") == VigilConfiguration().detectors)
    }

    @Test("a value that contradicts an untuned key moves that key, and the snippet says so")
    func adjustments() throws {
        let s = try parseSpace("""
            parameters:
              detectors.zscore.window: {min: 16, max: 1024, scale: log}
              detectors.zscore.threshold: {min: 3, max: 12}
            """)
        let c = s.candidate(at: [0, 1], over: VigilConfiguration())  // window 16 < warmup 64, threshold 12 > critical 8
        #expect(c.settings.map(\.value) == ["16", "12"])
        #expect(c.adjusted == [
            .init(keyPath: "detectors.zscore.critical", value: "12", note: "critical (8) must be ≥ threshold (12)"),
            .init(keyPath: "detectors.zscore.warmup", value: "16", note: "warmup (64) must be ≤ window (16)"),
        ])
        let snippet = c.snippet()
        #expect(snippet.contains("    warmup: 16  # adjusted: warmup (64) must be ≤ window (16)\n"))
        let parsed = try VigilConfiguration.parse(yaml: snippet, file: "snippet.yaml")
        #expect(parsed.detectors == c.configuration.detectors)
        #expect(parsed.detectors.zscore.configuration.warmup == 16 && parsed.detectors.zscore.critical == 12)
    }

    @Test("the base's own values are a point of the space when they lie in it")
    func basePoint() throws {
        let s = try parseSpace(Self.space)
        let base = VigilConfiguration()
        let point = try #require(s.point(of: base))
        #expect(s.candidate(at: point, over: base).configuration == base)
        #expect(s.candidate(at: point, over: base).settings.map(\.value) == ["5", "256", "rolling", "3", "0.9999999"])
        let outside = try VigilConfiguration.parse(yaml: "detectors:\n  zscore: {threshold: 20, critical: 30}\n", file: "b.yaml")
        #expect(s.point(of: outside) == nil)
    }

    @Test("parameters that cannot matter over the base are named")
    func ineffective() throws {
        let s = try parseSpace("""
            parameters:
              detectors.zscore.threshold: {min: 3, max: 10}
              detectors.spectral_residual.window: {min: 32, max: 64}
              detectors.calibration.short_window: {min: 5, max: 20}
            """)
        // The shipped base: only the surprise detector runs.
        #expect(s.ineffectiveParameters(over: VigilConfiguration()).map(\.keyPath) == [
            "detectors.zscore.threshold", "detectors.spectral_residual.window", "detectors.calibration.short_window",
        ])
        // The former default: the calibrated z-score, combined.
        let former = try VigilConfiguration.parse(yaml: "detectors: {zscore: {enabled: true}, combine: {enabled: true}}\n", file: "f.yaml")
        #expect(s.ineffectiveParameters(over: former).map { "\($0.keyPath): \($0.reason)" } == [
            "detectors.zscore.threshold: no effect: alerts come from detectors.combine, which is on in the base configuration",
            "detectors.spectral_residual.window: no effect: detectors.spectral_residual is off in the base configuration",
        ])
        let raw = try VigilConfiguration.parse(yaml: "detectors:\n  zscore: {enabled: true}\n", file: "raw.yaml")
        #expect(s.ineffectiveParameters(over: raw).map(\.keyPath) == ["detectors.spectral_residual.window", "detectors.calibration.short_window"])
        let overridden = try VigilConfiguration.parse(yaml: """
            detectors:
              zscore: {enabled: true}
            sensors:
              - match: "plant1/**"
                zscore: {threshold: 6}
            """, file: "o.yaml")
        #expect(s.ineffectiveParameters(over: overridden).map { "\($0.keyPath): \($0.reason)" } == [
            "detectors.spectral_residual.window: no effect: detectors.spectral_residual is off in the base configuration",
            "detectors.calibration.short_window: no effect: detectors.combine is off in the base configuration",
            "detectors.zscore.threshold: no effect on the sensors of sensors[0] (match \"plant1/**\"), which sets it again",
        ])
    }
}
