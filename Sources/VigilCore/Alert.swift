// SPDX-License-Identifier: GPL-3.0-or-later

/// The detectors Vigil runs; `rawValue` is the name used on the wire and in configs.
public enum DetectorKind: String, Sendable, CaseIterable, Codable, Hashable {
    /// The surprise detector: channels of tail probabilities (change, level, range, seasonal).
    case surprise
    case zscore
    case spectralResidual = "spectral_residual"
    case isolationForest = "isolation_forest"
    /// The per-sensor combination of several detectors' calibrated scores.
    case combined
    /// The PCA monitor of an asset (Hotelling's T² and the squared prediction error).
    case pca
}

extension DetectorKind {
    /// The per-sensor detectors whose calibrated scores a sensor's combination takes (and whose
    /// weights the config names): not `combined` itself, not the asset-level `pca`.
    public static let combinable: [DetectorKind] = [.surprise, .zscore, .spectralResidual, .isolationForest]
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
    /// PCA monitor of an asset: T² and Q against their limits, and the members that moved.
    case pca(PCAEvidence)
    /// Surprise detector: the channel that fired and by how much (`SurpriseEvidence`).
    case surprise(SurpriseEvidence)
    /// No evidence (used for cleared events).
    case none
    /// A clear made by the daemon, not by a detector: the alert's detector can no longer clear it
    /// (see `AlertCloseReason`). Published with `"reason"` in its context.
    case closed(reason: AlertCloseReason)
}

/// Why the daemon itself cleared an alert, so that no raised alert is left without a clear.
public enum AlertCloseReason: UInt8, Sendable, Equatable, CaseIterable {
    /// At start-up the journal showed the alert raised, and no restored detector can take it over
    /// (the sensor's detector is gone from the settings, its asset detector was not restored, or
    /// the sensor no longer fits in the registry).
    case restart = 1
    /// A configuration reload changed the sensor's settings and its new detector chain has no
    /// alert state of this kind to carry the alert on.
    case settingsChanged = 2

    /// The `reason` published in the alert's context.
    public var name: String {
        switch self {
        case .restart: "restart"
        case .settingsChanged: "settings_changed"
        }
    }
}

extension AlertEvidence {
    /// The detector whose evidence this is (nil for `.none`).
    public var detector: DetectorKind? {
        switch self {
        case .zscore: .zscore
        case .spectralResidual: .spectralResidual
        case .isolationForest: .isolationForest
        case .combined(let strongest, _): strongest
        case .pca: .pca
        case .surprise: .surprise
        case .none, .closed: nil
        }
    }
}

/// Why an alert cleared.
public enum AlertClearReason: UInt8, Sendable, Equatable, CaseIterable {
    /// Its scores stayed below the clear level for `clear_after` samples (or the event is a raise).
    case calm = 0
    /// It was held for `relearn_after` samples: a lasting change is a new regime, so the alert is
    /// released and the detector re-learns its baseline from the samples that follow. Published
    /// with `"reason": "relearned"` in the context.
    case relearned = 1
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
    /// Why a `cleared` event cleared (`.calm` on raises).
    public var clearReason: AlertClearReason
    /// CLOCK_MONOTONIC nanoseconds at which ingest received the sample that caused the
    /// transition (0: unknown, e.g. offline evaluation). Set by the pipeline's worker from the
    /// sample's `arrival` stamp; the publisher turns it into the ingest-to-alert latency.
    public var ingestedAt: UInt64
    /// For the residual of a relation between an asset's sensors (`sensor` is the relation's
    /// `<asset>/<relation>`): the residual and the terms that moved; nil for every other alert.
    /// Published as `relation` in the context, beside the detector's own evidence.
    public var relation: RelationEvidence?

    public init(sensor: UInt32, detector: DetectorKind, event: AlertEventKind, severity: Severity,
                score: Double, threshold: Double, value: Double, timestamp: Int64, raisedAt: Int64,
                evidence: AlertEvidence, clearReason: AlertClearReason = .calm, ingestedAt: UInt64 = 0,
                relation: RelationEvidence? = nil) {
        self.relation = relation
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
        self.clearReason = clearReason
        self.ingestedAt = ingestedAt
    }

    /// The stable alert id of the brief: `<sensor>:<detector>:<raised ts>`.
    public func id(sensorName: String) -> String {
        "\(sensorName):\(detector.rawValue):\(raisedAt)"
    }
}
