// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import VigilDetectors

/// Minimises an expensive function of a few parameters in few evaluations: Bayesian
/// optimisation with a Gaussian-process surrogate and expected improvement, as `vigil eval
/// --tune` uses it to search detector settings.
///
/// A point has one coordinate per dimension: a number in [0, 1] for a continuous dimension,
/// a category index (as a `Double`) for a categorical one. The search
/// 1. evaluates the `startingAt` points (e.g. the base configuration's values), then a Latin
///    hypercube of random points up to `initialTrials`;
/// 2. then, until `budget` evaluations: fits a `GaussianProcess` to every evaluation so far and
///    evaluates the point of highest expected improvement over the best value (EI with a small
///    margin ξ = 0.01 standard deviations), found among 1024 uniform random points and
///    perturbations of the five best points, the best eight of them polished by compass search.
///
/// Every point is passed through `snap` before it is evaluated or modelled (to whole numbers,
/// rounded values), and no snapped point is evaluated twice: when the acquisition's choice was
/// already evaluated, the next best is taken; when the space is exhausted the search ends early.
/// All random draws come from one `Xoshiro256StarStar` seeded with `seed`, and ties break by
/// order, so the same function, budget and seed give the same trials on every run.
///
/// Threading: a value; `minimize` runs on the calling thread and calls `f` there, one point at
/// a time (`f` may itself work in parallel).
public struct BayesianOptimizer: Sendable {
    /// One coordinate of a point.
    public enum Dimension: Sendable, Equatable {
        /// A number in [0, 1].
        case continuous
        /// One of `count` categories, `0..<count`.
        case categorical(count: Int)
    }

    /// One evaluation.
    public struct Trial: Sendable, Equatable {
        /// The (snapped) point evaluated.
        public var point: [Double]
        /// What the function returned there.
        public var value: Double
    }

    /// The coordinates of a point.
    public var dimensions: [Dimension]
    /// Evaluations at most.
    public var budget: Int
    /// Evaluations before the surrogate takes over (starting points included).
    public var initialTrials: Int
    /// Seed of every random draw.
    public var seed: UInt64

    /// An optimiser; `initialTrials` defaults to max(5, 2 × dimensions + 1), at most half
    /// the budget (but at least 2).
    public init(dimensions: [Dimension], budget: Int, seed: UInt64, initialTrials: Int? = nil) {
        precondition(!dimensions.isEmpty && budget >= 1)
        self.dimensions = dimensions
        self.budget = budget
        self.seed = seed
        self.initialTrials = min(initialTrials ?? max(min(max(5, 2 * dimensions.count + 1), budget / 2), 2), budget)
    }

    /// The trial with the lowest value (the earliest on a tie).
    public static func best(_ trials: [Trial]) -> Trial? {
        var best: Trial?
        for t in trials where best == nil || t.value < best!.value { best = t }
        return best
    }

    /// Minimises `f`, returning every trial in evaluation order (at most `budget`). `f` must
    /// return a finite number.
    public func minimize(startingAt starts: [[Double]] = [], snap: ([Double]) -> [Double] = { $0 },
                         _ f: ([Double]) -> Double) -> [Trial] {
        var rng = Xoshiro256StarStar(seed: seed)
        var trials: [Trial] = []
        var seen = Set<[Double]>()
        func clampAndSnap(_ p: [Double]) -> [Double] { snap(clamped(p)) }
        func evaluate(_ p: [Double]) -> Bool {
            let s = clampAndSnap(p)
            guard seen.insert(s).inserted else { return false }
            let v = f(s)
            precondition(v.isFinite, "the objective returned \(v)")
            trials.append(Trial(point: s, value: v))
            return true
        }
        for s in starts where trials.count < budget {
            precondition(s.count == dimensions.count)
            _ = evaluate(s)
        }
        let design = latinHypercube(max(initialTrials - trials.count, 0), &rng)
        for p in design where trials.count < budget {
            if !evaluate(p) { _ = evaluateRandom(&rng, evaluate) }
        }
        var hyperparameters: GaussianProcess.Hyperparameters?
        let categorical = dimensions.map { if case .categorical = $0 { true } else { false } }
        while trials.count < budget {
            let model = GaussianProcess.fitted(points: trials.map(\.point), values: trials.map(\.value),
                                               categorical: categorical, warmStart: hyperparameters)
            hyperparameters = model.hyperparameters
            var proposed = false
            for candidate in proposals(model, trials, clampAndSnap, &rng) where evaluate(candidate) {
                proposed = true
                break
            }
            if !proposed && !evaluateRandom(&rng, evaluate) { break }  // every point tried: the space is exhausted
        }
        return trials
    }

    // MARK: - Design

    private func clamped(_ p: [Double]) -> [Double] {
        zip(p, dimensions).map { x, d in
            switch d {
            case .continuous: min(max(x, 0), 1)
            case .categorical(let n): min(max(x.rounded(), 0), Double(n - 1))
            }
        }
    }

    private func randomPoint(_ rng: inout Xoshiro256StarStar) -> [Double] {
        dimensions.map { d in
            switch d {
            case .continuous: rng.nextUnit()
            case .categorical(let n): Double(rng.nextIndex(below: n))
            }
        }
    }

    /// Tries up to 100 random points until one is new.
    private func evaluateRandom(_ rng: inout Xoshiro256StarStar, _ evaluate: ([Double]) -> Bool) -> Bool {
        for _ in 0..<100 where evaluate(randomPoint(&rng)) { return true }
        return false
    }

    /// `n` points, each continuous coordinate in a different n-th of [0, 1], categories dealt in turn.
    private func latinHypercube(_ n: Int, _ rng: inout Xoshiro256StarStar) -> [[Double]] {
        guard n > 0 else { return [] }
        var columns: [[Double]] = []
        for d in dimensions {
            var strata = Array(0..<n)
            Self.shuffle(&strata, &rng)
            switch d {
            case .continuous: columns.append(strata.map { (Double($0) + rng.nextUnit()) / Double(n) })
            case .categorical(let count): columns.append(strata.map { Double($0 % count) })
            }
        }
        return (0..<n).map { i in columns.map { $0[i] } }
    }

    static func shuffle<T>(_ a: inout [T], _ rng: inout Xoshiro256StarStar) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            a.swapAt(i, rng.nextIndex(below: i + 1))
        }
    }

    // MARK: - Acquisition

    /// Expected improvement below `best` (standardised units) at a prediction, with the
    /// standardised improvement `z` to order points whose EI underflows to zero.
    static func expectedImprovement(mean: Double, deviation: Double, best: Double, margin: Double = 0.01)
        -> (value: Double, z: Double) {
        let improvement = best - mean - margin
        let z = improvement / deviation
        let cdf = 0.5 * erfc(-z / 2.0.squareRoot())
        let pdf = exp(-0.5 * z * z) / (2 * Double.pi).squareRoot()
        return (max(improvement * cdf + deviation * pdf, 0), z)
    }

    /// Candidate points, best expected improvement first.
    private func proposals(_ model: GaussianProcess, _ trials: [Trial], _ snap: ([Double]) -> [Double],
                           _ rng: inout Xoshiro256StarStar) -> [[Double]] {
        let best = model.standardized(Self.best(trials)!.value)
        func acquisition(_ p: [Double]) -> (value: Double, z: Double) {
            let prediction = model.predict(p)
            return Self.expectedImprovement(mean: prediction.mean, deviation: prediction.deviation, best: best)
        }
        var candidates: [[Double]] = []
        for _ in 0..<1024 { candidates.append(randomPoint(&rng)) }
        let ranked = trials.indices.sorted { (trials[$0].value, $0) < (trials[$1].value, $1) }
        let flip = 1 / Double(dimensions.count)
        for i in ranked.prefix(5) {
            for spread in [0.1, 0.02] {
                for _ in 0..<64 {
                    var p = trials[i].point
                    for (j, d) in dimensions.enumerated() {
                        switch d {
                        case .continuous: p[j] += spread * rng.nextGaussian()
                        case .categorical(let n): if n > 1, rng.nextUnit() < flip { p[j] = Double(rng.nextIndex(below: n)) }
                        }
                    }
                    candidates.append(p)
                }
            }
        }
        var points = candidates.map(snap)
        var values: [Double] = [], zs: [Double] = []
        values.reserveCapacity(points.count + 8)
        zs.reserveCapacity(points.count + 8)
        for p in points {
            let a = acquisition(p)
            values.append(a.value)
            zs.append(a.z)
        }
        // Best acquisition first; ties by z, then by draw order.
        func ranking() -> [Int] {
            values.indices.sorted { a, b in
                if values[a] != values[b] { return values[a] > values[b] }
                if zs[a] != zs[b] { return zs[a] > zs[b] }
                return a < b
            }
        }
        var order = ranking()
        // Polish the best few along their continuous coordinates.
        let movable = dimensions.map { if case .continuous = $0 { true } else { false } }
        if movable.contains(true) {
            for k in order.prefix(8) {
                let start = points[k]
                let bounds = start.indices.map { j -> (lower: Double, upper: Double) in movable[j] ? (0, 1) : (start[j], start[j]) }
                let polished = PatternSearch.maximize({ p in
                    let a = acquisition(snap(p))
                    return a.value > 0 ? a.value : -1 / (1 + exp(a.z))  // below every positive EI, rising with z
                }, from: start, bounds: bounds, step: 0.05, minimumStep: 0.002, maxEvaluations: 40)
                let s = snap(polished.vector)
                let a = acquisition(s)
                points.append(s)
                values.append(a.value)
                zs.append(a.z)
            }
            order = ranking()
        }
        return order.prefix(256).map { points[$0] }
    }
}
