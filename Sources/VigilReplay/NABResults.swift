// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// NAB's results format (`vigil eval --nab-results DIR`), so NAB's own scorer can rank Vigil:
/// `DIR/<detector>/<category>/<detector>_<file>.csv` with columns
/// `timestamp,value,anomaly_score,label`.
///
/// `anomaly_score` is in [0, 1]: for each detector alerting on its own, `score / (2 × its
/// threshold)` capped at 1 (so 0.5 is exactly the alert threshold), the highest over the
/// sensor's detectors; a `.combined` score (already a probability) is taken as it is. 0 while
/// the detectors warm up. `label` is 1 inside a labelled window. Timestamps are written as in
/// the input, values in Swift's shortest round-trip form. Rows without a sample are left out.
public enum NABResults {
    /// The detector name NAB files Vigil's results under.
    public static let detectorName = "vigil"

    /// Path of the results file of one series, relative to the results directory. `category`
    /// is the fixture's folder (`realKnownCause`); for a multi-sensor file the column is appended
    /// to the file name (`vigil_pump7.flow.csv`).
    public static func relativePath(_ fixture: Fixture, sensor: Int) -> String {
        let parts = fixture.name.split(separator: "/").map(String.init)
        var category = parts.dropLast().last ?? ""
        if category.isEmpty {
            category = fixture.path.split(separator: "/").dropLast().last.map(String.init) ?? "data"
        }
        var file = parts.last ?? fixture.name
        if fixture.columns.count > 1 {
            file = Fixture.stem(of: file) + "." + fixture.columns[sensor] + ".csv"
        }
        return "\(detectorName)/\(category)/\(detectorName)_\(file)"
    }

    /// The results CSV of one sensor of a run.
    public static func text(_ run: FixtureRun, sensor: Int) -> String {
        let f = run.fixture
        let columns = run.scoreColumns.filter { $0.sensor == sensor }
        var s = "timestamp,value,anomaly_score,label\n"
        for row in 0..<f.rowCount {
            let v = f.values[sensor][row]
            if v.isNaN { continue }
            var score = 0.0
            if let c = columns.first(where: { $0.detector == .combined }), !c.values[row].isNaN {
                score = min(max(c.values[row], 0), 1)
            } else {
                for c in columns where c.detector != .combined {
                    let x = c.values[row]
                    guard !x.isNaN, let t = c.threshold, t > 0 else { continue }
                    score = max(score, min(x / (2 * t), 1))
                }
            }
            s += f.timestampText(row: row) + "," + v.description + "," + score.description + (f.pointLabels[row] ? ",1\n" : ",0\n")
        }
        return s
    }
}
