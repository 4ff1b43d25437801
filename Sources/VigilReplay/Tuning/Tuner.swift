// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import VigilConfig
import VigilDetectors

/// `vigil eval --tune`: searches the detector settings of a tuning space on labelled recordings
/// with Bayesian optimisation, cross-validated by file.
///
/// The labelled files are dealt into `space.folds` folds of whole files (`FoldAssignment`).
/// For each fold, one search (`BayesianOptimizer`, `space.budget` evaluations) maximises the
/// mean over the *other* folds of the objective's per-fold score; the best settings it found
/// are then scored on the held-out fold, which no evaluation of that search touched. The mean
/// of those held-out scores estimates how settings tuned this way do on recordings they were
/// not tuned on; the base configuration is scored on the same folds for comparison. A final
/// search over all folds gives the settings to use.
///
/// Each search starts from the base configuration's own values when they lie in the space.
/// A candidate is the base configuration with the values overlaid (`TuningSpace.candidate`),
/// run through the daemon's detector code (`Evaluator`) over the files in parallel; each file's
/// run is reduced to the objective's figures on its worker thread and dropped. Figures are cached
/// per settings and file, so settings that two searches both try run once per file; nothing is
/// written to disk. All randomness comes from `seed`: the same inputs give the same report,
/// whatever the scheduling.
///
/// Threading: a value; `run` blocks the calling thread, evaluates files on `concurrency` threads
/// and calls `progress` from them.
public struct Tuner: Sendable {
    /// `--seed` when none is given.
    public static let defaultSeed: UInt64 = 1

    /// What to search and how.
    public var space: TuningSpace
    /// The configuration candidates are overlaid on, and the baseline.
    public var base: VigilConfiguration
    /// Seed of the fold assignment and of every search.
    public var seed: UInt64
    /// Files evaluated at once.
    public var concurrency: Int

    /// A tuner; `concurrency` defaults to the number of active processors.
    public init(space: TuningSpace, base: VigilConfiguration, seed: UInt64 = Tuner.defaultSeed,
                concurrency: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.space = space
        self.base = base
        self.seed = seed
        self.concurrency = max(1, concurrency)
    }

    /// Tunes on `fixtures` with the space's objective. Throws a `ConfigError` positioned in the
    /// space file (an objective this build does not have, more folds than files with labelled
    /// anomalies) or a `TuningError` (no labelled file).
    public func run(_ fixtures: [Fixture], progress: @escaping @Sendable (Int) -> Void = { _ in }) throws -> TuningReport {
        try run(fixtures, objective: TuningObjectives.objective(for: space), progress: progress)
    }

    /// Tunes on `fixtures` maximising `objective`.
    public func run<O: TuningObjective>(_ fixtures: [Fixture], objective: O,
                                        progress: @escaping @Sendable (Int) -> Void = { _ in }) throws -> TuningReport {
        let files = fixtures.filter(\.isLabelled)
        let skipped = fixtures.filter { !$0.isLabelled }.map(\.name)
        guard !files.isEmpty else {
            throw TuningError(.noLabelledFiles, "none of the \(fixtures.count) file\(fixtures.count == 1 ? " has" : "s have") labels "
                + "(NAB-style files take theirs from --labels; wide files need an anomaly column)")
        }
        let withAnomalies = files.map { !$0.windows.isEmpty }
        let anomalous = withAnomalies.filter { $0 }.count
        guard anomalous >= space.folds else {
            throw ConfigError(problems: [space.problem(.outOfRange, at: "folds",
                "\(space.folds) folds need at least \(space.folds) files with labelled anomalies, got \(anomalous)"
                    + (space.isWritten("folds") ? "" : " (\(space.folds) is the default; set folds)"))])
        }
        let assignment = FoldAssignment(hasAnomalies: withAnomalies, count: space.folds,
                                        seed: Xoshiro256StarStar.derivedSeed(seed, stream: 0))
        var session = Session(tuner: self, objective: objective, files: files, progress: progress)
        let basePoint = space.point(of: base)
        let baseline = session.baseline()
        if let basePoint, Self.sameResults(space.candidate(at: basePoint, over: base).configuration, base) {
            session.remember(basePoint, baseline)
        }
        func foldScores(_ measures: [Int: O.Measure], _ folds: [Int]) -> [Double?] {
            folds.map { f in objective.score(assignment.folds[f].map { measures[$0]! }) }
        }
        let baseFoldScores = foldScores(Dictionary(uniqueKeysWithValues: zip(files.indices, baseline)), Array(assignment.folds.indices))

        var folds: [TuningReport.Fold] = []
        for f in assignment.folds.indices {
            let training = assignment.folds.indices.filter { $0 != f }
            let best = session.search(f, folds: training, assignment: assignment, start: basePoint)
            let heldOut = session.measures(best.trial.point, assignment.folds[f], search: f, purpose: .heldOut)
            folds.append(TuningReport.Fold(
                files: assignment.folds[f], chosen: space.candidate(at: best.trial.point, over: base),
                trainingScore: -best.trial.value, heldOutScore: objective.score(heldOut),
                baseScore: baseFoldScores[f], heldOutSummary: objective.summary(heldOut),
                baseSummary: objective.summary(assignment.folds[f].map { baseline[$0] }), trials: best.trials))
        }
        let final = session.search(assignment.folds.count, folds: Array(assignment.folds.indices), assignment: assignment,
                                   start: basePoint)
        let allFiles = Array(files.indices)
        let finalMeasures = session.measures(final.trial.point, allFiles, search: assignment.folds.count, purpose: .final)
        var notes: [String] = []
        if !skipped.isEmpty {
            notes.append("\(skipped.count) unlabelled file\(skipped.count == 1 ? "" : "s") left out: \(skipped.joined(separator: ", "))")
        }
        for (keyPath, reason) in space.ineffectiveParameters(over: base) {
            notes.append("\(keyPath): \(reason)")
        }
        if basePoint == nil {
            notes.append("the base configuration's values lie outside the space, so the searches did not start from them")
        }
        return TuningReport(
            space: space, seed: seed, files: files.map(\.name), folds: folds, final: space.candidate(at: final.trial.point, over: base),
            finalScore: -final.trial.value, finalSummary: objective.summary(finalMeasures),
            baseScore: Metrics.mean(baseFoldScores.compactMap { $0 }), baseSummary: objective.summary(baseline),
            finalTrials: final.trials, evaluations: session.log, fileRuns: session.fileRuns, notes: notes)
    }

    /// Whether `a` runs every sensor exactly as `b` does: equal, or equal runtime settings of
    /// `detectors` with no `sensors` or `assets` entries (a section's `raise_after: 3` and one
    /// inheriting 3 from `alerts` only differ once an entry changes `alerts`).
    static func sameResults(_ a: VigilConfiguration, _ b: VigilConfiguration) -> Bool {
        if a == b { return true }
        return a.sensors.isEmpty && a.assets.isEmpty && b.sensors.isEmpty && b.assets.isEmpty
            && a.detectors.settings == b.detectors.settings
    }

    /// The mutable state of one `run`: the evaluation cache and log. Used on the tuning thread only.
    private struct Session<O: TuningObjective> {
        let tuner: Tuner
        let objective: O
        let files: [Fixture]
        let progress: @Sendable (Int) -> Void
        /// Figures per snapped point and file index.
        var cache: [[Double]: [Int: O.Measure]] = [:]
        var log: [TuningReport.Evaluation] = []
        var fileRuns = 0

        init(tuner: Tuner, objective: O, files: [Fixture], progress: @escaping @Sendable (Int) -> Void) {
            self.tuner = tuner
            self.objective = objective
            self.files = files
            self.progress = progress
        }

        /// The figures of `configuration` on the files at `indices`, evaluated in parallel.
        mutating func evaluate(_ configuration: VigilConfiguration, _ indices: [Int]) -> [O.Measure] {
            let runner = EvaluationRunner(evaluator: Evaluator(configuration: configuration), concurrency: tuner.concurrency)
            let objective = self.objective
            fileRuns += indices.count
            return runner.map(indices.map { files[$0] }, progress: progress) { objective.measure($0) }
        }

        /// The base configuration on every file.
        mutating func baseline() -> [O.Measure] {
            log.append(.init(search: nil, purpose: .baseline, files: Array(files.indices)))
            return evaluate(tuner.base, Array(files.indices))
        }

        /// Records figures already known for `point` (the base configuration's own values).
        mutating func remember(_ point: [Double], _ measures: [O.Measure]) {
            cache[point] = Dictionary(uniqueKeysWithValues: zip(files.indices, measures))
        }

        /// The figures of the settings at `point` on the files at `indices` (from the cache where known).
        mutating func measures(_ point: [Double], _ indices: [Int], search: Int, purpose: TuningReport.Evaluation.Purpose) -> [O.Measure] {
            log.append(.init(search: search, purpose: purpose, files: indices))
            var known = cache[point, default: [:]]
            let missing = indices.filter { known[$0] == nil }
            if !missing.isEmpty {
                let configuration = tuner.space.candidate(at: point, over: tuner.base).configuration
                for (i, m) in zip(missing, evaluate(configuration, missing)) { known[i] = m }
                cache[point] = known
            }
            return indices.map { known[$0]! }
        }

        /// One search maximising the mean score of `folds`; its best trial (the earliest of equals).
        mutating func search(_ id: Int, folds: [Int], assignment: FoldAssignment, start: [Double]?)
            -> (trial: BayesianOptimizer.Trial, trials: [BayesianOptimizer.Trial]) {
            let indices = folds.flatMap { assignment.folds[$0] }.sorted()
            let space = tuner.space
            let optimizer = BayesianOptimizer(
                dimensions: space.parameters.map { p in p.choiceCount.map { .categorical(count: $0) } ?? .continuous },
                budget: space.budget, seed: Xoshiro256StarStar.derivedSeed(tuner.seed, stream: UInt64(id) + 1))
            let trials = optimizer.minimize(startingAt: start.map { [$0] } ?? [], snap: space.snapped) { point in
                let m = Dictionary(uniqueKeysWithValues: zip(indices, measures(point, indices, search: id, purpose: .search)))
                let scores = folds.compactMap { f in objective.score(assignment.folds[f].map { m[$0]! }) }
                return -(Metrics.mean(scores) ?? 0)
            }
            return (BayesianOptimizer.best(trials)!, trials)
        }
    }
}
