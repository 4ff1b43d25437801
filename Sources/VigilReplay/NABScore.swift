// SPDX-License-Identifier: GPL-3.0-or-later

/// NAB's score of one detector over a corpus with one threshold and one profile.
///
/// `raw` is the sum over files of NAB's per-file score; `normalised` puts it on NAB's published
/// scale, 100 · (raw − null) / (perfect − null), where null is the raw score with no detection
/// (−fnWeight per scored window) and perfect is tpWeight per window. The counts are NAB's, in
/// rows outside the probationary periods: a row at or above the threshold is a true positive
/// inside a window and a false positive outside; below, a false negative inside and a true
/// negative outside.
///
/// Threading: a value.
public struct NABScore: Sendable, Equatable {
    /// Anomaly scores at or above it are detections.
    public var threshold: Double
    /// NAB's raw score (the sum of its per-file scores).
    public var raw: Double
    /// The raw score on NAB's scale (0 = no detection, 100 = perfect); nil when the corpus has
    /// no window (the scale is undefined).
    public var normalised: Double?
    /// Rows in a window at or above the threshold.
    public var truePositives: Int
    /// Rows outside every window at or above the threshold.
    public var falsePositives: Int
    /// Rows in a window below the threshold.
    public var falseNegatives: Int
    /// Rows outside every window below the threshold.
    public var trueNegatives: Int

    /// A score with the given figures.
    public init(threshold: Double, raw: Double, normalised: Double?, truePositives: Int, falsePositives: Int,
                falseNegatives: Int, trueNegatives: Int) {
        self.threshold = threshold
        self.raw = raw
        self.normalised = normalised
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.falseNegatives = falseNegatives
        self.trueNegatives = trueNegatives
    }
}
