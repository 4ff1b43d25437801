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
/// Threading: a detector value is owned by one worker thread (the one its sensor is sharded to).
/// `update` must not allocate or lock: it runs on the hot path.
public protocol StreamingDetector: Sendable {
    /// Which detector this is (names its alerts).
    var kind: DetectorKind { get }
    /// Feeds one sample. Returns nil while warming up (or on samples a hop skips).
    mutating func update(timestamp: Int64, value: Double) -> DetectorOutput?
}
