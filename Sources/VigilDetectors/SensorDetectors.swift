// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// One detector's settings together with the alert policy applied to its scores.
public struct DetectorSection<Configuration: Sendable & Equatable>: Sendable, Equatable {
    public var configuration: Configuration
    public var alerts: AlertPolicy

    public init(_ configuration: Configuration, alerts: AlertPolicy) {
        self.configuration = configuration
        self.alerts = alerts
    }
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

/// How the calibrated scores of a sensor's detectors are combined into one alert stream.
public struct CombineSettings: Sendable, Equatable, Codable {
    public var rule: CombineRule
    /// Weights per detector for `.weighted` (missing detectors weigh 1).
    public var weights: [DetectorKind: Double]

    public init(rule: CombineRule = .max, weights: [DetectorKind: Double] = [:]) {
        self.rule = rule
        self.weights = weights
    }
}

/// The detectors and alert policies that apply to one sensor, resolved from the config
/// (defaults, then every matching per-sensor override in order). A nil section is off.
public struct DetectorSettings: Sendable, Equatable {
    public var zscore: DetectorSection<ZScoreSettings>?
    public var spectralResidual: DetectorSection<SpectralResidualConfiguration>?
    public var isolationForest: DetectorSection<IsolationForestConfiguration>?
    /// Raw score → probability; used by `combine` and by detectors whose policy is on
    /// calibrated scores.
    public var calibration: CalibrationConfiguration
    /// When set, alerts come from the combined calibrated score (detector `combined`) with this
    /// section's policy; otherwise each enabled detector alerts on its own.
    public var combine: DetectorSection<CombineSettings>?

    public init(zscore: DetectorSection<ZScoreSettings>? = .init(ZScoreSettings(), alerts: AlertPolicy(threshold: 5, criticalThreshold: 8)),
                spectralResidual: DetectorSection<SpectralResidualConfiguration>? = nil,
                isolationForest: DetectorSection<IsolationForestConfiguration>? = nil,
                calibration: CalibrationConfiguration = .init(),
                combine: DetectorSection<CombineSettings>? = nil) {
        self.zscore = zscore
        self.spectralResidual = spectralResidual
        self.isolationForest = isolationForest
        self.calibration = calibration
        self.combine = combine
    }
}

/// Every detector of one sensor with its alert state: the exact per-sample code path that both
/// `vigild`'s workers and `vigil eval` run.
///
/// Threading: owned by one worker thread. `process` allocates nothing.
public struct SensorDetectors: Sendable {
    public let sensor: UInt32
    public let settings: DetectorSettings
    private var zscore: ZScoreDetector?
    private var zscoreState: AlertStateMachine

    public init(sensor: UInt32, settings: DetectorSettings) {
        self.sensor = sensor
        self.settings = settings
        zscore = settings.zscore.map {
            ZScoreDetector(configuration: .init(window: $0.configuration.window, warmup: $0.configuration.warmup,
                                                minDeviation: $0.configuration.minDeviation))
        }
        zscoreState = AlertStateMachine(policy: settings.zscore?.alerts ?? AlertPolicy(threshold: .infinity, criticalThreshold: .infinity),
                                        detector: .zscore)
    }

    /// Scores one sample and reports any alert transition to `emit`.
    @inline(__always)
    public mutating func process(_ sample: Sample, emit: (AlertEvent) -> Void) {
        process(sample, scores: { _, _ in }, emit: emit)
    }

    /// Scores one sample, reports each detector's score for this sample to `scores` (detector,
    /// score; nothing while a detector warms up) and any alert transition to `emit`.
    /// The evaluation tools use `scores`; the daemon passes a no-op.
    @inline(__always)
    public mutating func process(_ sample: Sample, scores: (DetectorKind, Double) -> Void, emit: (AlertEvent) -> Void) {
        // Mutate in place (`zscore!.update`): copying the detector out would copy its window.
        if zscore != nil, let out = zscore!.update(timestamp: sample.timestamp, value: sample.value) {
            scores(.zscore, out.score)
            if let e = zscoreState.step(sensor: sensor, timestamp: sample.timestamp, value: sample.value, output: out) {
                emit(e)
            }
        }
    }

    /// Whether any of this sensor's alerts is currently raised.
    public var isRaised: Bool { zscoreState.isRaised }
}
