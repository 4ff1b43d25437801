// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// What the detectors made of one fixture: every score they reported, every alert transition,
/// and per row the asset's score and whether an alert was raised.
public struct FixtureRun: Sendable {
    /// The scores one detector reported for one sensor, per row (NaN where it reported nothing:
    /// warm-up, no sample on the row, or a hop).
    public struct ScoreColumn: Sendable {
        /// Index of the sensor in `fixture.columns`.
        public var sensor: Int
        /// The detector (or `.combined`).
        public var detector: DetectorKind
        /// The alert threshold applied to these scores, when this detector alerts on its own.
        public var threshold: Double?
        /// One score per row.
        public var values: [Double]
    }

    /// An alert transition and the row whose sample caused it.
    public struct Alert: Sendable, Equatable {
        /// Row of the sample that caused the transition.
        public var row: Int
        /// Index of the sensor in `fixture.columns`.
        public var sensor: Int
        /// The transition as the daemon's workers emit it.
        public var event: AlertEvent
    }

    /// The fixture that was run.
    public var fixture: Fixture
    /// Score columns ordered by sensor, then detector in `DetectorKind.allCases` order.
    public var scoreColumns: [ScoreColumn]
    /// Per row, the asset's score: for each sensor its `.combined` score when reported, else the
    /// highest of its detectors' scores; then the highest over sensors. NaN when none.
    public var score: [Double]
    /// Per row, whether any alert of the asset is raised once the row has been processed.
    public var alerting: [Bool]
    /// Every transition, in the order emitted.
    public var alerts: [Alert]

    /// Alarms: distinct raised alerts (an escalation to critical has the raise's id and is not
    /// counted again), as `(row, sensor, detector, raisedAt)`.
    public var alarms: [(row: Int, sensor: Int, detector: DetectorKind, raisedAt: Int64)] {
        var seen = Set<AlarmKey>()
        var out: [(row: Int, sensor: Int, detector: DetectorKind, raisedAt: Int64)] = []
        for a in alerts where a.event.event == .raised {
            if seen.insert(AlarmKey(sensor: a.sensor, detector: a.event.detector, raisedAt: a.event.raisedAt)).inserted {
                out.append((a.row, a.sensor, a.event.detector, a.event.raisedAt))
            }
        }
        return out
    }

    /// Per-sensor score: `.combined` when reported on the row, else the highest detector score.
    public func sensorScore(_ sensor: Int) -> [Double] {
        let columns = scoreColumns.filter { $0.sensor == sensor }
        var out = [Double](repeating: .nan, count: fixture.rowCount)
        if let combined = columns.first(where: { $0.detector == .combined }) {
            out = combined.values
        }
        for c in columns where c.detector != .combined {
            for row in out.indices where !c.values[row].isNaN {
                let combinedHere = columns.contains { $0.detector == .combined && !$0.values[row].isNaN }
                if !combinedHere, out[row].isNaN || c.values[row] > out[row] { out[row] = c.values[row] }
            }
        }
        return out
    }

    /// The metrics of this run against the fixture's ground truth (label-based figures stay
    /// nil/zero for an unlabelled fixture; alarms are still counted).
    public func metrics() -> Metrics {
        var m = Metrics()
        if let first = fixture.timestamps.min(), let last = fixture.timestamps.max() {
            m.days = Double(last - first) / 86_400e9
        }
        let alarmTimes = alarms.map(\.raisedAt)
        if fixture.isLabelled {
            m.point = PointMetrics(predicted: alerting, labels: fixture.pointLabels)
            m.time = TimeMetrics(timestamps: fixture.timestamps, alerting: alerting, labels: fixture.pointLabels)
            m.rocAUC = Metrics.rocAUC(scores: score, labels: fixture.pointLabels)
            m.prAUC = Metrics.averagePrecision(scores: score, labels: fixture.pointLabels)
            m.event = EventMetrics(windows: fixture.windows, alarms: alarmTimes)
        } else {
            m.isLabelled = false
            m.event.alarms = alarmTimes.count
        }
        return m
    }
}

struct AlarmKey: Hashable {
    var sensor: Int
    var detector: DetectorKind
    var raisedAt: Int64
}
