// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// What a detector says about one sample: a raw score (larger is more anomalous; its scale is
/// the detector's own) and the evidence behind it.
public struct DetectorOutput: Sendable, Equatable {
    public var score: Double
    public var evidence: AlertEvidence

    public init(score: Double, evidence: AlertEvidence) {
        self.score = score
        self.evidence = evidence
    }
}

/// A per-sensor streaming detector: pure state plus an `update` per sample.
///
/// Learning is separate from scoring: `update(…, learn: false)` scores the sample against the
/// baseline as it is and leaves every window, moment and counter that the detector learns from
/// unchanged, so a sensor whose alert is raised does not learn its fault as the new normal
/// (`SensorDetectors` passes `learn: false` while the sensor is out of control).
///
/// Threading: a detector value is owned by one worker thread (the one its sensor is sharded to).
/// `update` must not allocate or lock: it runs on the hot path.
public protocol StreamingDetector: Sendable {
    /// Which detector this is (names its alerts).
    var kind: DetectorKind { get }
    /// Scores one sample and, when `learn` is true, folds it into the baseline. Returns nil while
    /// warming up (or on samples a hop skips).
    mutating func update(timestamp: Int64, value: Double, learn: Bool) -> DetectorOutput?
}

extension StreamingDetector {
    /// Scores one sample and learns from it (`update(timestamp:value:learn: true)`): for tools
    /// and tests that feed a detector without alert state.
    @inline(__always)
    public mutating func update(timestamp: Int64, value: Double) -> DetectorOutput? {
        update(timestamp: timestamp, value: value, learn: true)
    }
}
