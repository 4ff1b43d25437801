// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// Combines several detectors' calibrated anomaly probabilities (from `ScoreCalibrator`) for one
/// sensor into one, per `CombineRule`, and names the detector that contributed most.
///
/// - `.max`: the highest probability (weights are ignored).
/// - `.weighted`: `Σ wᵢ·pᵢ / Σ wᵢ` over the detectors that produced a probability for this sample
///   (a detector still warming up is left out and the weights renormalise); detectors of weight 0
///   are left out entirely.
///
/// The strongest detector is the one with the highest probability among those taking part; ties
/// go to the first one added.
///
/// Usage without allocation: `var a = combiner.accumulator(); a.add(.zscore, p1); a.add(.isolationForest, p2);
/// let c = a.result`.
///
/// Threading: an immutable value; share it freely. `accumulator()`, `add` and `result` neither
/// allocate nor lock.
public struct ScoreCombiner: Sendable, Equatable {
    /// One combined probability.
    public struct Combined: Sendable, Equatable {
        /// The combined anomaly probability in [0, 1].
        public var probability: Double
        /// The detector with the highest probability among those combined.
        public var strongest: DetectorKind
        /// That detector's probability.
        public var strongestProbability: Double

        /// A combined probability and its strongest contributor.
        public init(probability: Double, strongest: DetectorKind, strongestProbability: Double) {
            self.probability = probability
            self.strongest = strongest
            self.strongestProbability = strongestProbability
        }

        /// As a detector output of kind `.combined`: the probability and `.combined` evidence.
        public var output: DetectorOutput {
            DetectorOutput(score: probability, evidence: .combined(strongest: strongest, strongestScore: strongestProbability))
        }
    }

    /// Collects the probabilities of one sample. A plain value on the caller's stack.
    public struct Accumulator: Sendable {
        let combiner: ScoreCombiner
        private var weightedSum = 0.0
        private var weightSum = 0.0
        private var best = -1.0
        private var strongest = DetectorKind.combined
        private var any = false

        init(combiner: ScoreCombiner) {
            self.combiner = combiner
        }

        /// Adds `probability` (clamped to [0, 1]; non-finite values are ignored) from `detector`.
        @inline(__always)
        public mutating func add(_ detector: DetectorKind, _ probability: Double) {
            guard probability.isFinite else { return }
            let p = min(max(probability, 0), 1)
            if combiner.rule == .weighted {
                let w = combiner.weight(detector)
                guard w > 0 else { return }
                weightedSum += w * p
                weightSum += w
            }
            any = true
            if p > best {
                best = p
                strongest = detector
            }
        }

        /// The combination of what was added, or nil when nothing was.
        public var result: Combined? {
            guard any else { return nil }
            let probability = combiner.rule == .max ? best : weightedSum / weightSum
            return Combined(probability: probability, strongest: strongest, strongestProbability: best)
        }
    }

    /// How probabilities are combined.
    public let rule: CombineRule
    /// Weight per per-sensor detector (z-score, spectral residual, isolation forest, combined,
    /// surprise); stored inline (no array) so that the per-sample accumulator copies no reference.
    private let weights: (Double, Double, Double, Double, Double)

    /// A combiner; `weights` apply to `.weighted` (missing detectors weigh 1; weights must be
    /// finite and ≥ 0).
    public init(rule: CombineRule = .max, weights: [DetectorKind: Double] = [:]) {
        self.rule = rule
        var w = [Double](repeating: 1, count: 5)
        for (kind, weight) in weights {
            precondition(weight.isFinite && weight >= 0, "detector weights must be finite and non-negative")
            w[Self.slot(kind)] = weight
        }
        self.weights = (w[0], w[1], w[2], w[3], w[4])
    }

    public static func == (a: ScoreCombiner, b: ScoreCombiner) -> Bool {
        a.rule == b.rule && a.weights == b.weights
    }

    /// The weight of `detector` under `.weighted`.
    @inline(__always)
    public func weight(_ detector: DetectorKind) -> Double {
        switch Self.slot(detector) {
        case 0: weights.0
        case 1: weights.1
        case 2: weights.2
        case 3: weights.3
        default: weights.4
        }
    }

    /// A fresh accumulator for one sample.
    @inline(__always)
    public func accumulator() -> Accumulator {
        Accumulator(combiner: self)
    }

    /// Combines `(detector, probability)` pairs. Convenience for tools and tests.
    public func combine(_ probabilities: some Sequence<(DetectorKind, Double)>) -> Combined? {
        var a = accumulator()
        for (kind, p) in probabilities { a.add(kind, p) }
        return a.result
    }

    @inline(__always)
    private static func slot(_ kind: DetectorKind) -> Int {
        switch kind {
        case .zscore: 0
        case .spectralResidual: 1
        case .isolationForest: 2
        // `pca` monitors an asset, never a sensor's chain, so it is never combined.
        case .combined, .pca: 3
        case .surprise: 4
        }
    }
}
