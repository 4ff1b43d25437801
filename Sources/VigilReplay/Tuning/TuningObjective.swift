// SPDX-License-Identifier: GPL-3.0-or-later

/// What `vigil eval --tune` maximises: a score of a group of files (a cross-validation fold)
/// under one candidate's settings, higher is better.
///
/// An objective is two steps so that a file's run need not be kept: `measure` reduces one
/// file's `FixtureRun` to the figures the objective needs (counts, alarm times, a NAB file
/// score), on the worker thread that ran the file, and `score` combines the figures of a fold's
/// files. Adding an objective is a type conforming to this protocol and one case in
/// `TuningObjectives.objective(for:)`.
///
/// Threading: implementations are immutable values; `measure` is called concurrently from the
/// evaluation's worker threads, `score` and `summary` from the tuning thread.
public protocol TuningObjective: Sendable {
    /// The figures of one file's run that `score` needs.
    associatedtype Measure: Sendable

    /// The objective's name in a tuning space (`event_f1`).
    var name: String { get }

    /// The figures of one labelled file's run.
    func measure(_ run: FixtureRun) -> Measure

    /// The score of a group of files; nil when they have nothing to score (no labelled anomaly),
    /// whatever the settings. Settings that merely detect nothing score 0, not nil.
    func score(_ files: [Measure]) -> Double?

    /// The figures behind a score, for people: `P 0.500 R 0.400 (4/10 windows, 8 alarms)`.
    func summary(_ files: [Measure]) -> String
}
