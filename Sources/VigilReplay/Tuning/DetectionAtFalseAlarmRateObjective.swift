// SPDX-License-Identifier: GPL-3.0-or-later

/// `objective: detection_at_fa`: the share of labelled-anomalous rows flagged (point-wise
/// recall), subject to the share of normal rows flagged (the false-alarm rate) being at most
/// `maxFalseAlarmRate`, over a fold's rows with counts pooled.
///
/// A feasible candidate scores its detection rate, in [0, 1]; an infeasible one scores
/// −(rate − max) / (1 − max), in [−1, 0): below every feasible candidate, and higher the closer
/// it comes to the constraint, so the search is led back to feasible settings.
///
/// Threading: an immutable value.
public struct DetectionAtFalseAlarmRateObjective: TuningObjective {
    /// The largest acceptable false-alarm rate, in (0, 1).
    public var maxFalseAlarmRate: Double

    /// The objective with the constraint rate ≤ `maxFalseAlarmRate`.
    public init(maxFalseAlarmRate: Double) {
        precondition(maxFalseAlarmRate > 0 && maxFalseAlarmRate < 1)
        self.maxFalseAlarmRate = maxFalseAlarmRate
    }

    /// `detection_at_fa`.
    public var name: String { "detection_at_fa" }

    /// Confusion counts of the run's alerting rows against the labels.
    public func measure(_ run: FixtureRun) -> PointMetrics {
        PointMetrics(predicted: run.alerting, labels: run.fixture.pointLabels)
    }

    /// FP / (FP + TN); nil without normal rows.
    public static func falseAlarmRate(_ t: PointMetrics) -> Double? {
        Metrics.ratio(t.falsePositives, t.falsePositives + t.trueNegatives)
    }

    /// The detection rate when feasible, the penalty otherwise; nil without both classes.
    public func score(_ files: [PointMetrics]) -> Double? {
        let t = files.reduce(PointMetrics(), +)
        guard let detection = t.recall, let rate = Self.falseAlarmRate(t) else { return nil }
        return rate <= maxFalseAlarmRate ? detection : -(rate - maxFalseAlarmRate) / (1 - maxFalseAlarmRate)
    }

    /// `detection 0.650, false-alarm rate 0.031 (≤ 0.05)`.
    public func summary(_ files: [PointMetrics]) -> String {
        let t = files.reduce(PointMetrics(), +)
        let rate = Self.falseAlarmRate(t)
        let limit = "\(maxFalseAlarmRate)"
        let verdict = rate.map { $0 <= maxFalseAlarmRate ? "≤ \(limit)" : "> \(limit): infeasible" } ?? "no normal rows"
        return "detection \(EvaluationReport.fixed(t.recall, 3)), false-alarm rate \(EvaluationReport.fixed(rate, 3)) (\(verdict))"
    }
}
