// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// The detectors and alert policies that apply to one sensor (resolved from the config).
public struct DetectorSettings: Sendable, Equatable {
    /// Z-score settings and its alert policy; nil when the z-score detector is off.
    public var zscore: ZScoreDetector.Configuration?
    public var zscoreAlerts: AlertPolicy

    public init(zscore: ZScoreDetector.Configuration? = .init(),
                zscoreAlerts: AlertPolicy = AlertPolicy(threshold: 5, criticalThreshold: 8)) {
        self.zscore = zscore
        self.zscoreAlerts = zscoreAlerts
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
        zscore = settings.zscore.map { ZScoreDetector(configuration: $0) }
        zscoreState = AlertStateMachine(policy: settings.zscoreAlerts, detector: .zscore)
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
