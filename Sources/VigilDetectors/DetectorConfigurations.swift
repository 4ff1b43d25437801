// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

// Plain configuration values of every detector, shared by the detectors (which build from
// them), the config loader (which fills them from YAML) and the evaluation tools.
// Defaults are the ones Vigil ships in Configs/vigil.yaml.

/// Settings of the surprise detector (`SurpriseDetector`): the keys a plant may need to change.
/// Its internal constants are `SurpriseDetector`'s and `SeasonalProfile`'s, each with its reason.
public struct SurpriseConfiguration: Sendable, Equatable, Codable {
    /// Samples of warm-up (≥ 10): the level baseline is their running mean, the tail models learn
    /// from their second half, and the ranges arm after them. Again after every re-learning.
    public var warmup: Int
    /// The horizon of what the detector remembers, in samples (≥ 100): the tail models forget
    /// with factor 1 − 1/horizon (the seasonal one per block of 4), and the recent range relaxes
    /// by 1/horizon per sample. 8640 is 30 days of 5-minute samples or a day of 10-second ones.
    public var horizon: Int
    /// The change channel: sample-to-sample jumps against their typical size.
    public var change: Bool
    /// The level channels: the level above or below a slow baseline.
    public var level: Bool
    /// The range channel: values beyond every in-control value seen.
    public var range: Bool
    /// The recent range channel: values far beyond the recent in-control values.
    public var recentRange: Bool
    /// The seasonal channel: the sensor's own cycle, found by autocorrelation.
    public var seasonal: Bool

    public init(warmup: Int = 150, horizon: Int = 8640, change: Bool = true, level: Bool = true, range: Bool = true,
                recentRange: Bool = true, seasonal: Bool = true) {
        self.warmup = warmup
        self.horizon = horizon
        self.change = change
        self.level = level
        self.range = range
        self.recentRange = recentRange
        self.seasonal = seasonal
    }

    /// Whether any channel is on.
    public var hasChannel: Bool { change || level || range || recentRange || seasonal }
}

/// Which baseline the z-score detector keeps.
public enum ZScoreMode: String, Sendable, Equatable, Codable, CaseIterable {
    /// Mean and standard deviation over a rolling window (`ZScoreDetector`).
    case rolling
    /// Exponentially weighted mean and variance with smoothing factor `alpha`.
    case ewma
    /// Median and MAD (scaled by 1.4826) over the rolling window.
    case robust
}

/// Settings of the z-score family (`ZScoreMode` picks the baseline).
public struct ZScoreSettings: Sendable, Equatable, Codable {
    public var mode: ZScoreMode
    /// Rolling window for `rolling` and `robust`.
    public var window: Int
    /// Samples before the first score.
    public var warmup: Int
    /// Smoothing factor for `ewma` (0 < alpha < 1).
    public var alpha: Double
    /// Smallest deviation divided by.
    public var minDeviation: Double

    public init(mode: ZScoreMode = .rolling, window: Int = 256, warmup: Int = 64, alpha: Double = 0.01,
                minDeviation: Double = 1e-9) {
        self.mode = mode
        self.window = window
        self.warmup = warmup
        self.alpha = alpha
        self.minDeviation = minDeviation
    }
}

/// Settings of the spectral residual detector (Ren et al., KDD 2019), latest-point streaming.
public struct SpectralResidualConfiguration: Sendable, Equatable, Codable {
    /// Values in the sliding window that is transformed (≥ 8).
    public var window: Int
    /// Width of the trailing average of the log amplitude spectrum (q in the paper).
    public var magWindow: Int
    /// Width of the trailing average of the saliency the score is taken against (z).
    public var scoreWindow: Int
    /// Estimated points appended before the transform (κ, the reference uses 5).
    public var estimatedPoints: Int
    /// Points used to estimate the appended value's gradient (m, the reference uses 5).
    public var lookAhead: Int
    /// Score every `hop`-th sample only (1 = every sample); for very high rates.
    public var hop: Int

    /// The default window, 59, makes the transform 64 points long (with the 5 estimated points):
    /// a power of two, which FFTW transforms fastest and without allocating.
    public init(window: Int = 59, magWindow: Int = 3, scoreWindow: Int = 21, estimatedPoints: Int = 5,
                lookAhead: Int = 5, hop: Int = 1) {
        self.window = window
        self.magWindow = magWindow
        self.scoreWindow = scoreWindow
        self.estimatedPoints = estimatedPoints
        self.lookAhead = lookAhead
        self.hop = hop
    }
}

/// What an isolation forest sees of a sensor (or an asset).
public enum IsolationFeatures: String, Sendable, Equatable, Codable, CaseIterable {
    /// The sensor's last `shingle` values.
    case shingle
    /// Spectral features of the sensor's window (RMS, band energies, dominant frequency, centroid).
    case spectral
    /// The latest values of every sensor of the asset (multivariate; needs an asset group).
    case asset
}

/// Settings of the streaming isolation forest (Liu, Ting & Zhou; streaming as in iForestASD).
public struct IsolationForestConfiguration: Sendable, Equatable, Codable {
    /// Trees in the forest.
    public var trees: Int
    /// Samples per tree, ψ.
    public var sampleSize: Int
    /// Feature vectors kept in the sliding training window.
    public var trainingWindow: Int
    /// Retrain after this many new vectors.
    public var retrainEvery: Int
    /// Retrain early when the window's anomaly rate drifts from the last training's by more than this.
    public var driftThreshold: Double
    /// Use random hyperplane splits (extended isolation forest) instead of axis-parallel ones.
    public var extended: Bool
    /// What the feature vector is.
    public var features: IsolationFeatures
    /// Shingle length d for `.shingle`.
    public var shingle: Int
    /// Seed of the forest's random numbers (trees are deterministic given the data and the seed).
    public var seed: UInt64

    public init(trees: Int = 100, sampleSize: Int = 256, trainingWindow: Int = 2048, retrainEvery: Int = 1024,
                driftThreshold: Double = 0.1, extended: Bool = false, features: IsolationFeatures = .shingle,
                shingle: Int = 8, seed: UInt64 = 0x5EED) {
        self.trees = trees
        self.sampleSize = sampleSize
        self.trainingWindow = trainingWindow
        self.retrainEvery = retrainEvery
        self.driftThreshold = driftThreshold
        self.extended = extended
        self.features = features
        self.shingle = shingle
        self.seed = seed
    }
}

/// How raw scores become comparable anomaly probabilities in [0, 1].
public struct CalibrationConfiguration: Sendable, Equatable, Codable {
    /// Recent raw scores kept per sensor and detector to estimate their distribution.
    public var history: Int
    /// Short average of raw scores compared against that distribution (Numenta's anomaly likelihood).
    public var shortWindow: Int
    /// Scores needed before a probability is produced.
    public var warmup: Int

    public init(history: Int = 2000, shortWindow: Int = 10, warmup: Int = 200) {
        self.history = history
        self.shortWindow = shortWindow
        self.warmup = warmup
    }
}

/// How several detectors' calibrated scores make one per sensor.
public enum CombineRule: String, Sendable, Equatable, Codable, CaseIterable {
    /// The highest calibrated score.
    case max
    /// The weighted mean of calibrated scores.
    case weighted
}

/// How many principal components a PCA monitor keeps.
public enum PCAComponents: Sendable, Equatable, Codable {
    /// The number that minimizes the variance of the reconstruction error (Qin & Dunia, 2000):
    /// the residual space then holds what the variables do not share, which is where sensor
    /// faults show. Independent of the noise level, unlike a variance fraction.
    case auto
    /// Exactly this many (at most the vector's dimension − 1).
    case count(Int)
    /// The fewest whose cumulative explained variance reaches this fraction, in (0, 1).
    case variance(Double)
}

/// Where a PCA monitor's control limits come from.
public enum PCALimitMethod: String, Sendable, Equatable, Codable, CaseIterable {
    /// Quantiles of the statistics the baseline's own rounds get from models fitted without them
    /// (contiguous-block cross-validation): right for autocorrelated and non-normal data.
    case empirical
    /// T² from the F distribution, Q from Jackson–Mudholkar (Box's approximation when smoothed):
    /// right for independent, normal rounds.
    case theoretical
}

/// Settings of the PCA monitor of an asset (`PCAMonitor`): multivariate statistical process
/// monitoring with Hotelling's T² and the squared prediction error Q.
public struct PCAConfiguration: Sendable, Equatable, Codable {
    /// Components kept.
    public var components: PCAComponents
    /// Lagged copies of the vector appended to it (dynamic PCA); 0 = static PCA.
    public var lags: Int
    /// Rounds learned as the baseline of normal operation before monitoring starts (also the most
    /// rounds a named baseline period keeps).
    public var warmup: Int
    /// A named baseline period `[start, end)` in nanoseconds since the epoch (nil: the first
    /// `warmup` rounds).
    public var baselineStart: Int64?
    public var baselineEnd: Int64?
    /// Where the control limits come from.
    public var limits: PCALimitMethod
    /// False-alarm probability of each limit per round, in (0, 0.5).
    public var alpha: Double
    /// Factor (>= 1) on T²'s limit: T² counts as out of control only beyond this multiple of its
    /// `alpha` limit, Q at its limit. T² measures how far the asset moved along the directions it
    /// varied in during the baseline: the plant's slow modes (load, throughput, ambient,
    /// setpoints), whose range a baseline of hours sees only in part. Q measures a break of the
    /// correlation the baseline showed, which is what faults do and moves of the operating point
    /// do not; it is estimated well from a short baseline.
    public var t2Factor: Double
    /// Weight of the newest round in the exponentially weighted T² and Q the limits apply to, in
    /// (0, 1]; 1 = no smoothing.
    public var smoothing: Double
    /// Forgetting factor of the in-control adaptation of the mean and covariance, in (0, 1]; 1 =
    /// the model never adapts after its baseline.
    public var forgetting: Double
    /// In-control rounds between two refreshes of the model from the adapted mean and covariance.
    public var updateEvery: Int
    /// Consecutive raised rounds after which the monitor accepts the state as a new operating
    /// point and learns a new baseline (0 = never).
    public var relearnAfter: Int

    public init(components: PCAComponents = .auto, lags: Int = 2, warmup: Int = 1000,
                baselineStart: Int64? = nil, baselineEnd: Int64? = nil, limits: PCALimitMethod = .empirical,
                alpha: Double = 0.01, t2Factor: Double = 3, smoothing: Double = 0.4, forgetting: Double = 0.999,
                updateEvery: Int = 1000, relearnAfter: Int = 0) {
        self.components = components
        self.lags = lags
        self.warmup = warmup
        self.baselineStart = baselineStart
        self.baselineEnd = baselineEnd
        self.limits = limits
        self.alpha = alpha
        self.t2Factor = t2Factor
        self.smoothing = smoothing
        self.forgetting = forgetting
        self.updateEvery = updateEvery
        self.relearnAfter = relearnAfter
    }
}
