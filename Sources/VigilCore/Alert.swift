// SPDX-License-Identifier: GPL-3.0-or-later

/// The detectors Vigil runs; `rawValue` is the name used on the wire and in configs.
public enum DetectorKind: String, Sendable, CaseIterable, Codable, Hashable {
    case zscore
    case spectralResidual = "spectral_residual"
    case isolationForest = "isolation_forest"
    /// The per-sensor combination of several detectors' calibrated scores.
    case combined
}

/// Alert severity, ordered: `warning < critical`.
public enum Severity: String, Sendable, Codable, Comparable, CaseIterable {
    case warning
    case critical

    public static func < (a: Severity, b: Severity) -> Bool { a == .warning && b == .critical }
}

/// Whether an alert starts or ends.
public enum AlertEventKind: String, Sendable, Codable {
    case raised
    case cleared
}

/// Detector evidence carried with an alert: why it fired. Trivially copyable (no heap storage)
/// so that it crosses the worker → publisher ring without allocation.
public enum AlertEvidence: Sendable, Equatable {
    /// Rolling, exponentially weighted or robust z-score: baseline `mean` (or median), `deviation`
    /// (standard deviation or scaled MAD) and the signed `z` of the sample.
    case zscore(mean: Double, deviation: Double, z: Double)
    /// Spectral residual: the saliency at the point, its trailing average and the window's
    /// dominant frequency in cycles per sample.
    case spectralResidual(saliency: Double, baseline: Double, dominantFrequency: Double)
    /// Isolation forest: mean path length of the point and the feature (or sensor position in an
    /// asset) that isolated it most often; `featureCount` is the dimension of the vector.
    case isolationForest(pathLength: Double, feature: Int32, featureCount: Int32)
    /// A combined alert: the detector that contributed the highest calibrated score.
    case combined(strongest: DetectorKind, strongestScore: Double)
    /// No evidence (used for cleared events).
    case none
}

extension AlertEvidence {
    /// The detector whose evidence this is (nil for `.none`).
    public var detector: DetectorKind? {
        switch self {
        case .zscore: .zscore
        case .spectralResidual: .spectralResidual
        case .isolationForest: .isolationForest
        case .combined(let strongest, _): strongest
        case .none: nil
        }
    }
}

/// An alert transition produced by a worker, before it gets its `seq` from the publisher.
public struct AlertEvent: Sendable, Equatable {
    public var sensor: UInt32
    public var detector: DetectorKind
    public var event: AlertEventKind
    public var severity: Severity
    public var score: Double
    public var threshold: Double
    public var value: Double
    /// Timestamp of the sample that caused the transition (nanoseconds since the epoch).
    public var timestamp: Int64
    /// Timestamp of the sample that raised the alert; part of the alert `id`, so a cleared event
    /// carries the same `id` as the raise it ends.
    public var raisedAt: Int64
    public var evidence: AlertEvidence
    /// CLOCK_MONOTONIC nanoseconds at which ingest received the sample that caused the
    /// transition (0: unknown, e.g. offline evaluation). Set by the pipeline's worker from the
    /// sample's `arrival` stamp; the publisher turns it into the ingest-to-alert latency.
    public var ingestedAt: UInt64

    public init(sensor: UInt32, detector: DetectorKind, event: AlertEventKind, severity: Severity,
                score: Double, threshold: Double, value: Double, timestamp: Int64, raisedAt: Int64,
                evidence: AlertEvidence, ingestedAt: UInt64 = 0) {
        self.sensor = sensor
        self.detector = detector
        self.event = event
        self.severity = severity
        self.score = score
        self.threshold = threshold
        self.value = value
        self.timestamp = timestamp
        self.raisedAt = raisedAt
        self.evidence = evidence
        self.ingestedAt = ingestedAt
    }

    /// The stable alert id of the brief: `<sensor>:<detector>:<raised ts>`.
    public func id(sensorName: String) -> String {
        "\(sensorName):\(detector.rawValue):\(raisedAt)"
    }
}
