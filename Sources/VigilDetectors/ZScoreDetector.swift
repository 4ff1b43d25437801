// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// Z-score detector: how many standard deviations a sample lies from the baseline of the
/// sensor's recent values. The sample is scored against the window *before* it joins it.
///
/// Score: `|z|`. Evidence: baseline mean, deviation and the signed `z`.
public struct ZScoreDetector: StreamingDetector {
    /// Its settings: `window` (≥ 2; 8 bytes a value of per-sensor state), `warmup` (≥ 2, ≤ window)
    /// and `minDeviation`; `mode` and `alpha` are for the other variants.
    public typealias Configuration = ZScoreSettings

    public var kind: DetectorKind { .zscore }
    public let configuration: Configuration
    private var stats: RollingStatistics
    private var seen = 0

    public init(configuration: Configuration = .init()) {
        precondition(configuration.window >= 2 && configuration.warmup >= 2)
        self.configuration = configuration
        stats = RollingStatistics(window: configuration.window)
    }

    /// Scores `value` against the window, then (when `learn`) slides it in.
    public mutating func update(timestamp: Int64, value: Double, learn: Bool) -> DetectorOutput? {
        var output: DetectorOutput?
        if seen >= configuration.warmup {
            let mean = stats.mean
            let deviation = max(stats.standardDeviation, configuration.minDeviation, abs(mean) * 1e-12)
            let z = (value - mean) / deviation
            output = DetectorOutput(score: abs(z), evidence: .zscore(mean: mean, deviation: deviation, z: z))
        }
        if learn {
            stats.add(value)
            seen += 1
        }
        return output
    }

    // MARK: Snapshot

    /// Writes the exact state for `restore(from:)`.
    public func write(to w: inout SnapshotWriter) {
        w.write(seen)
        stats.write(to: &w)
    }

    /// Restores what `write(to:)` wrote from a detector of the same configuration: the detector
    /// then continues bit for bit like the original. Throws `SnapshotError` (state unchanged).
    public mutating func restore(from r: inout SnapshotReader) throws(SnapshotError) {
        let seen = try r.readInt("z-score samples seen", in: 0...SnapshotReader.maxCounter)
        var stats = self.stats
        try stats.restore(from: &r)
        self.seen = seen
        self.stats = stats
    }
}

