// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import VigilCore

/// The per-row scores of a run as CSV (`vigil eval --scores-out`): `timestamp` exactly as in the
/// input, one `<sensor>:<detector>` column per score the detectors reported, `score` (the
/// asset's per-row score, see `FixtureRun.score`) and `alert` (1 while any alert of the asset is
/// raised). Empty cells where there is no score. Numbers in Swift's shortest round-trip form.
public enum ScoresCSV {
    /// The CSV text of `run`.
    public static func text(_ run: FixtureRun) -> String {
        let f = run.fixture
        let sensors = f.sensors
        var s = "timestamp"
        for c in run.scoreColumns { s += "," + quoted(sensors[c.sensor] + ":" + c.detector.rawValue) }
        s += ",score,alert\n"
        s.reserveCapacity(f.rowCount * (24 + 20 * (run.scoreColumns.count + 1)))
        for row in 0..<f.rowCount {
            s += quoted(f.timestampText(row: row))
            for c in run.scoreColumns {
                s += ","
                let v = c.values[row]
                if !v.isNaN { s += v.description }
            }
            s += ","
            if !run.score[row].isNaN { s += run.score[row].description }
            s += run.alerting[row] ? ",1\n" : ",0\n"
        }
        return s
    }

    static func quoted(_ cell: String) -> String {
        guard cell.contains(where: { $0 == "," || $0 == "\"" || $0 == ";" }) else { return cell }
        return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}


