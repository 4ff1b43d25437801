// SPDX-License-Identifier: GPL-3.0-or-later

/// `objective: event_f1`: event-wise F1 over a fold's files, counts pooled (see `EventMetrics`:
/// a labelled window is found when an alarm is raised inside it; an alarm raised outside every
/// window is false). No alarm at all scores 0.
///
/// Threading: an immutable value.
public struct EventF1Objective: TuningObjective {
    /// The objective.
    public init() {}

    /// `event_f1`.
    public var name: String { "event_f1" }

    /// Windows against the run's alarm times.
    public func measure(_ run: FixtureRun) -> EventMetrics {
        EventMetrics(windows: run.fixture.windows, alarms: run.alarms.map(\.raisedAt))
    }

    /// Pooled F1; nil without labelled windows.
    public func score(_ files: [EventMetrics]) -> Double? {
        let total = files.reduce(EventMetrics(), +)
        guard total.windows > 0 else { return nil }
        return total.f1 ?? 0
    }

    /// `P 0.500 R 0.400 (4/10 windows, 8 alarms)`.
    public func summary(_ files: [EventMetrics]) -> String {
        let t = files.reduce(EventMetrics(), +)
        return "P \(EvaluationReport.fixed(t.precision, 3)) R \(EvaluationReport.fixed(t.recall, 3)) "
            + "(\(t.found)/\(t.windows) windows, \(t.alarms) alarm\(t.alarms == 1 ? "" : "s"))"
    }
}
