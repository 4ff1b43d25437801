// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// Exponentially weighted z-score detector (`ZScoreMode.ewma`): how many exponentially weighted
/// standard deviations a sample lies from the exponentially weighted mean of the sensor's past.
/// The sample is scored against the baseline *before* it joins it.
///
/// The baseline is updated with West's incremental form (Finch 2009, "Incremental calculation of
/// weighted mean and variance"): `δ = x − μ; μ += α·δ; σ² = (1 − α)(σ² + α·δ²)`. It works on
/// deviations only, so a large offset (1e9 plus small noise) loses no precision, and it equals the
/// weighted mean and variance with weights `α(1 − α)^k` (the first sample carrying the remaining
/// weight `(1 − α)^(n−1)`). O(1) state and time per sample.
///
/// Score: `|z|`. Evidence: `.zscore(mean: μ, deviation: σ, z:)`.
///
/// Threading: a plain value owned by one worker thread; `update` neither allocates nor locks.
public struct EWMAZScoreDetector: StreamingDetector {
    /// Its settings: `alpha` in (0, 1), the weight of the newest sample (the baseline remembers
    /// about `2/α − 1` samples), `warmup` (≥ 2) and `minDeviation` (the deviation is also at least
    /// `1e-13 × |mean|`, below which differences are rounding); `window` is not used.
    public typealias Configuration = ZScoreSettings

    /// `.zscore` (one of its modes, `ZScoreMode.ewma`).
    public var kind: DetectorKind { .zscore }
    /// The settings this detector was built from.
    public let configuration: Configuration
    /// The exponentially weighted mean of the samples so far.
    public private(set) var mean = 0.0
    /// The exponentially weighted (population) variance of the samples so far.
    public private(set) var variance = 0.0
    /// Finite samples seen.
    public private(set) var count = 0

    /// A detector with an empty baseline.
    public init(configuration: Configuration = .init()) {
        precondition(configuration.alpha > 0 && configuration.alpha < 1, "alpha must be in (0, 1)")
        precondition(configuration.warmup >= 2, "warmup must be at least 2")
        self.configuration = configuration
    }

    /// Scores `value` against the baseline, then (when `learn`) folds it in. Non-finite values are
    /// ignored (nil).
    public mutating func update(timestamp: Int64, value: Double, learn: Bool) -> DetectorOutput? {
        guard value.isFinite else { return nil }
        var output: DetectorOutput?
        if count >= configuration.warmup {
            let deviation = max(variance.squareRoot(), configuration.minDeviation, abs(mean) * 1e-13)
            let z = (value - mean) / deviation
            output = DetectorOutput(score: abs(z), evidence: .zscore(mean: mean, deviation: deviation, z: z))
        }
        guard learn else { return output }
        count += 1
        if count == 1 {
            mean = value
            variance = 0
        } else {
            let alpha = configuration.alpha
            let delta = value - mean
            let increment = alpha * delta
            mean += increment
            variance = (1 - alpha) * (variance + delta * increment)
        }
        return output
    }

    // MARK: Snapshot

    /// Writes the exact state for `restore(from:)`.
    public func write(to w: inout SnapshotWriter) {
        w.write(count)
        w.write(mean)
        w.write(variance)
    }

    /// Restores what `write(to:)` wrote from a detector of the same configuration: the detector
    /// then continues bit for bit like the original. Throws `SnapshotError` (state unchanged).
    public mutating func restore(from r: inout SnapshotReader) throws(SnapshotError) {
        let count = try r.readInt("ewma count", in: 0...SnapshotReader.maxCounter)
        let mean = try r.readFinite("ewma mean")
        let variance = try r.readFinite("ewma variance")
        guard variance >= 0 else { throw r.corrupt("ewma variance \(variance) is negative") }
        self.count = count
        self.mean = mean
        self.variance = variance
    }
}

