// SPDX-License-Identifier: GPL-3.0-or-later
import VigilDetectors

/// Cross-validation folds of whole files: every file is in exactly one fold, so settings tuned
/// on the other folds are scored on recordings they never saw.
///
/// Files with labelled anomalies are dealt round-robin first, in a seeded random order, then the
/// files without, so every fold has an anomaly to find as long as there are at least as many
/// such files as folds (the caller checks). Fold sizes differ by at most one.
///
/// Threading: an immutable value.
public struct FoldAssignment: Sendable, Equatable {
    /// For each fold, the indices of its files, ascending.
    public let folds: [[Int]]

    /// `count` folds of the files whose anomaly flags are `hasAnomalies` (one per file, file
    /// index = position), shuffled with `seed`. Needs 1 ≤ `count` ≤ the number of files.
    public init(hasAnomalies: [Bool], count: Int, seed: UInt64) {
        precondition(count >= 1 && count <= hasAnomalies.count)
        var rng = Xoshiro256StarStar(seed: seed)
        var positive = hasAnomalies.indices.filter { hasAnomalies[$0] }
        var negative = hasAnomalies.indices.filter { !hasAnomalies[$0] }
        BayesianOptimizer.shuffle(&positive, &rng)
        BayesianOptimizer.shuffle(&negative, &rng)
        var folds = [[Int]](repeating: [], count: count)
        for (i, file) in (positive + negative).enumerated() { folds[i % count].append(file) }
        self.folds = folds.map { $0.sorted() }
    }

    /// The fold holding `file`.
    public func fold(of file: Int) -> Int {
        folds.firstIndex { $0.contains(file) }!
    }

    /// The files of every fold but `fold`, ascending: what its settings are tuned on.
    public func training(excluding fold: Int) -> [Int] {
        folds.indices.filter { $0 != fold }.flatMap { folds[$0] }.sorted()
    }
}
