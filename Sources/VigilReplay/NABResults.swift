// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import VigilCore
import VigilDetectors

/// NAB's results format (`vigil eval --nab-results DIR`), so NAB's own scorer can rank Vigil:
/// `DIR/vigil/<folder>/vigil_<file>.csv` with columns `timestamp,value,anomaly_score,label`,
/// one row per row of the input (NAB pairs scores and data rows by position).
///
/// **`anomaly_score` is what Vigil would alert on**, so that NAB's threshold 0.5 reproduces the
/// deployed alerts exactly and NAB's optimised threshold can only do as well or better:
///
/// - on a row where an alarm of the sensor is raised (a new alert; an escalation to critical of
///   a raised alert is not a new one): 0.5 + 0.5 · strength, where strength ∈ [0, 1) grows with
///   how far the raising score exceeded its threshold: 1 − t/s for a detector's raw score s and
///   threshold t, and 1 − n(t)/n(s) in "nines", n(p) = −log10(1 − p), for the combined
///   probability (`.combined`), whose thresholds sit just below 1;
/// - on a row while an alert of the sensor is held: 0 (NAB counts every point at or above its
///   threshold outside a window as a false positive, so an alert's later rows must not count);
/// - on any other row: 0.49 · min(r, 1), r = s/t (or n(s)/n(t)), the highest over the detectors
///   that alert on their own: the detector's score scaled so that its alert threshold maps just
///   below 0.5; 0 while the detectors warm up or the row has no sample.
///
/// The mapping is `anomalyScore(raising:held:scores:)`; `series(_:sensor:)` applies it to a run.
/// `label` is 1 inside a labelled window. Timestamps are written as in the input, values in
/// Swift's shortest round-trip form (empty when the row has no sample for the sensor).
public enum NABResults {
    /// The detector name NAB files Vigil's results under.
    public static let detectorName = "vigil"
    /// The threshold at which `anomaly_score` reproduces the deployed alerts.
    public static let alertThreshold = 0.5
    /// What a detector's alert threshold maps to on a row without an alarm.
    static let quietCeiling = 0.49

    /// Path of the results file of one series, relative to the results directory:
    /// `vigil/<folders of the fixture's name>/vigil_<file>`, so a directory of NAB data
    /// (`realKnownCause/nyc_taxi.csv`) gives NAB's layout (`vigil/realKnownCause/vigil_nyc_taxi.csv`).
    /// A name without folder is filed under the folder the file was read from (`data` when
    /// none). For a multi-sensor file the column is appended to the file name (`vigil_pump7.flow.csv`).
    public static func relativePath(_ fixture: Fixture, sensor: Int) -> String {
        var parts = fixture.name.split(separator: "/").map(String.init)
        var file = parts.popLast() ?? fixture.name
        if parts.isEmpty {
            let folder = fixture.path.split(separator: "/").dropLast().last.map(String.init)
            parts = [folder.flatMap { $0 == "." || $0 == ".." ? nil : $0 } ?? "data"]
        }
        if fixture.columns.count > 1 {
            file = Fixture.stem(of: file) + "." + fixture.columns[sensor] + ".csv"
        }
        return ([detectorName] + parts + [detectorName + "_" + file]).joined(separator: "/")
    }

    /// One alerting detector's score on a row, with the threshold it raises at.
    public struct DetectorScore: Sendable, Equatable {
        /// The detector (`.combined` scores are probabilities).
        public var detector: DetectorKind
        /// Its score.
        public var score: Double
        /// Its alert threshold (> 0).
        public var threshold: Double

        /// A score of `detector` against `threshold`.
        public init(detector: DetectorKind, score: Double, threshold: Double) {
            self.detector = detector
            self.score = score
            self.threshold = threshold
        }
    }

    /// The `anomaly_score` of one row of one sensor (see the type's comment): `raising` are the
    /// alarms raised on the row (their scores and thresholds), `held` whether an alert of the
    /// sensor is still raised after the row, `scores` the row's scores of the detectors that
    /// alert on their own. This is the only place the mapping is defined.
    public static func anomalyScore(raising: some Sequence<DetectorScore>, held: Bool,
                                    scores: some Sequence<DetectorScore>) -> Double {
        /// How far `s` is relative to its threshold: 1 at the threshold.
        func ratio(_ s: DetectorScore) -> Double {
            guard s.threshold > 0, !s.score.isNaN else { return 0 }
            if s.detector == .combined {
                func nines(_ p: Double) -> Double { -log10(max(1 - p, 0x1p-54)) }
                let t = nines(s.threshold)
                return t > 0 ? nines(s.score) / t : (s.score >= s.threshold ? 1 : 0)
            }
            return s.score / s.threshold
        }
        var strength = -1.0
        for a in raising {
            let r = ratio(a)
            strength = max(strength, r > 1 ? 1 - 1 / r : 0)
        }
        if strength >= 0 {
            return alertThreshold + 0.5 * min(strength, 1 - 0x1p-52)   // < 1
        }
        if held { return 0 }
        var level = 0.0
        for s in scores { level = max(level, min(ratio(s), 1)) }
        return quietCeiling * level
    }

    /// The `anomaly_score` of every row of one sensor of a run, and the deployed detections
    /// (1 on a row where an alarm of the sensor is raised, 0 elsewhere).
    public static func series(_ run: FixtureRun, sensor: Int) -> (anomalyScores: [Double], deployed: [Double]) {
        let f = run.fixture
        let columns = run.scoreColumns.filter { $0.sensor == sensor && $0.threshold != nil }
        let alerts = run.alerts.filter { $0.sensor == sensor }
        var anomaly = [Double](repeating: 0, count: f.rowCount)
        var deployed = [Double](repeating: 0, count: f.rowCount)
        var held = Set<AlarmKey>()
        var next = 0
        var raising: [DetectorScore] = []
        var scores: [DetectorScore] = []
        for row in 0..<f.rowCount {
            raising.removeAll(keepingCapacity: true)
            while next < alerts.count, alerts[next].row == row {
                let e = alerts[next].event
                let key = AlarmKey(sensor: sensor, detector: e.detector, raisedAt: e.raisedAt)
                if e.event == .cleared {
                    held.remove(key)
                } else if held.insert(key).inserted {
                    raising.append(DetectorScore(detector: e.detector, score: e.score, threshold: e.threshold))
                }
                next += 1
            }
            scores.removeAll(keepingCapacity: true)
            for c in columns where !c.values[row].isNaN {
                scores.append(DetectorScore(detector: c.detector, score: c.values[row], threshold: c.threshold!))
            }
            anomaly[row] = anomalyScore(raising: raising, held: !held.isEmpty, scores: scores)
            if !raising.isEmpty { deployed[row] = 1 }
        }
        return (anomaly, deployed)
    }

    /// The results CSV of one sensor of a run.
    public static func text(_ run: FixtureRun, sensor: Int) -> String {
        let f = run.fixture
        let scores = series(run, sensor: sensor).anomalyScores
        var s = "timestamp,value,anomaly_score,label\n"
        s.reserveCapacity(f.rowCount * 48)
        for row in 0..<f.rowCount {
            let v = f.values[sensor][row]
            s += ScoresCSV.quoted(f.timestampText(row: row)) + "," + (v.isNaN ? "" : v.description) + ","
                + scores[row].description + (f.pointLabels[row] ? ",1\n" : ",0\n")
        }
        return s
    }
}
