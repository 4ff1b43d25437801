// SPDX-License-Identifier: GPL-3.0-or-later

/// `objective: point_f1`: point-wise F1 over a fold's rows, counts pooled (a row is predicted
/// anomalous while an alert of its asset is raised; see `PointMetrics`). Flagging nothing
/// scores 0.
///
/// Threading: an immutable value.
public struct PointF1Objective: TuningObjective {
    /// The objective.
    public init() {}

    /// `point_f1`.
    public var name: String { "point_f1" }

    /// Confusion counts of the run's alerting rows against the labels.
    public func measure(_ run: FixtureRun) -> PointMetrics {
        PointMetrics(predicted: run.alerting, labels: run.fixture.pointLabels)
    }

    /// Pooled F1; nil without labelled-anomalous rows.
    public func score(_ files: [PointMetrics]) -> Double? {
        let t = files.reduce(PointMetrics(), +)
        guard t.truePositives + t.falseNegatives > 0 else { return nil }
        return t.f1 ?? 0
    }

    /// `P 0.500 R 0.400`.
    public func summary(_ files: [PointMetrics]) -> String {
        let t = files.reduce(PointMetrics(), +)
        return "P \(EvaluationReport.fixed(t.precision, 3)) R \(EvaluationReport.fixed(t.recall, 3))"
    }
}
