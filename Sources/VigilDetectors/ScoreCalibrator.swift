// SPDX-License-Identifier: GPL-3.0-or-later
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import VigilCore

/// Turns one detector's raw scores on one sensor into an anomaly probability in [0, 1] that means
/// the same for every detector and sensor, after Numenta's *anomaly likelihood* (Ahmad, Lavin,
/// Purdy & Agha, "Unsupervised real-time anomaly detection for streaming data", Neurocomputing
/// 2017; `nupic/algorithms/anomaly_likelihood.py`).
///
/// Method, per raw score `r`:
/// 1. the short-term average `m` of the last `shortWindow` raw scores is formed;
/// 2. `m` is compared with a Gaussian fitted to the recent short-term averages (their mean μ and
///    standard deviation σ, exponentially weighted with a span of `history` averages: α =
///    2 / (history + 1), and α = 1/n for the first n so that early estimates are plain means),
///    *before* `m` joins them. Exponential weighting keeps the state at a few words instead of
///    `history` doubles (16 KB per sensor and detector at the default), with the same detection
///    quality on the NAB corpus;
/// 3. the probability is `1 − Q(z) = Φ(z)` with `z = (m − μ) / σ`, `Q` the Gaussian tail
///    probability, computed as `erfc(−z/√2)/2` so that it reaches 1 without cancellation.
///
/// Like Numenta, the distribution is fitted to the *averaged* scores, not to the raw ones: the
/// quantity compared must be the one the distribution describes, which makes the probability
/// close to uniform on [0, 1] while a detector's scores are stationary (whatever their scale, which
/// cancels out of `z`), and close to 1 when the recent scores are far above their history.
/// Unlike Numenta, whose tail probability folds averages below the mean onto the upper tail (so its
/// likelihood never drops below 0.5), the output is one-sided: unusually low scores give low
/// probabilities. σ has a floor of `1e-9 + 1e-9·|μ|` so that a detector that has
/// only ever produced one value (e.g. 0) yields 1 on the first different higher value.
///
/// Returns nil until `warmup` scores have been seen (and at least two averages are in the history).
///
/// Threading: a plain value, one per sensor × detector, owned by the sensor's worker thread.
/// `calibrate` neither allocates nor locks.
public struct ScoreCalibrator: Sendable {
    /// The settings this calibrator was built from.
    public let configuration: CalibrationConfiguration
    private var recent: [Double]
    private var recentNext = 0
    private var recentCount = 0
    private var recentSum = 0.0
    private var sinceResum = 0
    private var averageMean = 0.0
    private var averageVariance = 0.0
    private var averageCount = 0
    /// Raw scores seen.
    public private(set) var count = 0

    /// A calibrator with no history.
    public init(configuration: CalibrationConfiguration = .init()) {
        precondition(configuration.history >= 2, "history must hold at least two scores")
        precondition(configuration.shortWindow >= 1, "shortWindow must be at least 1")
        precondition(configuration.warmup >= 2, "warmup must be at least 2")
        self.configuration = configuration
        recent = Array(repeating: 0, count: configuration.shortWindow)
    }

    /// The Gaussian lower-tail probability Φ(z) = 1 − Q(z).
    @inline(__always)
    public static func gaussianCDF(_ z: Double) -> Double {
        0.5 * erfc(-z * 0.7071067811865476)
    }

    /// Feeds one raw score and returns its anomaly probability, or nil while warming up.
    /// The short-term average always takes the score (it is the detector's recent output, not a
    /// baseline); the distribution of averages and the warm-up count move only when `learn` is
    /// true, so a sensor out of control keeps being compared with its in-control history.
    /// Non-finite scores are ignored (nil).
    public mutating func calibrate(_ raw: Double, learn: Bool = true) -> Double? {
        guard raw.isFinite else { return nil }
        if learn { count += 1 }
        // Short-term average of the last `shortWindow` raw scores (running sum, re-summed every
        // so often so rounding cannot accumulate).
        let w = configuration.shortWindow
        if recentCount < w {
            recentCount += 1
        } else {
            recentSum -= recent[recentNext]
        }
        recent[recentNext] = raw
        recentSum += raw
        recentNext += 1
        if recentNext == w { recentNext = 0 }
        sinceResum += 1
        if sinceResum >= 64 * w {
            sinceResum = 0
            recentSum = 0
            for k in 0..<recentCount { recentSum += recent[k] }
        }
        let average = recentSum / Double(recentCount)

        var probability: Double?
        if count > configuration.warmup && averageCount >= 2 {
            let mean = averageMean
            let deviation = max(averageVariance.squareRoot(), 1e-9 + 1e-9 * abs(mean))
            probability = Self.gaussianCDF((average - mean) / deviation)
        }
        guard learn else { return probability }
        averageCount += 1
        let alpha = max(1 / Double(averageCount), 2 / Double(configuration.history + 1))
        let delta = average - averageMean
        averageMean += alpha * delta
        averageVariance = (1 - alpha) * (averageVariance + alpha * delta * delta)
        return probability
    }

    // MARK: Snapshot

    /// Writes the exact state (recent scores, running sum, weighted moments of the averages) for
    /// `restore(from:)`.
    public func write(to w: inout SnapshotWriter) {
        w.write(count)
        w.write(recentNext)
        w.write(recentCount)
        w.write(recentSum)
        w.write(sinceResum)
        w.write(recent)
        w.write(averageCount)
        w.write(averageMean)
        w.write(averageVariance)
    }

    /// Restores what `write(to:)` wrote from a calibrator of the same configuration: it then
    /// continues bit for bit like the original. Throws `SnapshotError` (state unchanged).
    public mutating func restore(from r: inout SnapshotReader) throws(SnapshotError) {
        let w = configuration.shortWindow
        let count = try r.readInt("calibrator count", in: 0...SnapshotReader.maxCounter)
        let recentNext = try r.readInt("calibrator next", in: 0...(w - 1))
        let recentCount = try r.readInt("calibrator recent count", in: 0...w)
        let recentSum = try r.readDouble("calibrator recent sum")
        let sinceResum = try r.readInt("calibrator resum counter", in: 0...(64 * w))
        let recent = try r.readDoubles("calibrator recent scores", count: w)
        let averageCount = try r.readInt("calibrator average count", in: 0...SnapshotReader.maxCounter)
        let averageMean = try r.readFinite("calibrator average mean")
        let averageVariance = try r.readFinite("calibrator average variance")
        guard averageVariance >= 0 else { throw r.corrupt("negative variance \(averageVariance)") }
        self.count = count
        self.recentNext = recentNext
        self.recentCount = recentCount
        self.recentSum = recentSum
        self.sinceResum = sinceResum
        self.recent = recent
        self.averageCount = averageCount
        self.averageMean = averageMean
        self.averageVariance = averageVariance
    }
}

