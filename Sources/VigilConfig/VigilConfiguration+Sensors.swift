// SPDX-License-Identifier: GPL-3.0-or-later
import VigilDetectors

extension VigilConfiguration {
    /// The detectors and alert policies of sensor `name`.
    ///
    /// Starts from `detectors`, applies the sections of the sensor's asset (the first `assets`
    /// entry with a matching glob), then every `sensors` entry whose `match` matches, in file
    /// order (a later entry wins). Contradictions that only several entries together produce
    /// (each entry alone is validated at load) are settled: a critical threshold below the
    /// threshold is lifted to it, a warmup or sub-window larger than its window shrinks to it.
    /// A sensor outside every asset never gets `features: asset` (it falls back to `shingle`).
    ///
    /// Called once per new sensor, not per sample. Thread-safe (pure).
    public func detectorSettings(forSensor name: String) -> DetectorSettings {
        resolvedDetectors(forSensor: name).settings
    }

    /// The PCA monitor of asset `name`: `detectors.pca` with the asset entry's keys applied; nil
    /// when disabled. Called once per asset, not per sample. Thread-safe (pure).
    public func pcaSettings(forAsset name: String) -> DetectorSection<PCAConfiguration>? {
        var d = detectors
        if let asset = assets.first(where: { $0.name == name }) { d.apply(asset.patch) }
        d.repair()
        return d.pca.section(alerts: d.alerts)
    }

    /// The asset of `sensor`: the first `assets` entry with a matching glob, else (with
    /// `grouping.rule: parent`) the sensor's parent path (`plant1/pump7/flow` → `plant1/pump7`),
    /// else nil. Whether the asset has enough members to be monitored is the pipeline's
    /// `grouping.min_members` check. Called once per new sensor. Thread-safe (pure).
    public func asset(ofSensor sensor: String) -> String? {
        if let entry = assets.first(where: { $0.contains(sensor: sensor) }) { return entry.name }
        return grouping.rule == .parent ? Self.parentPath(of: sensor) : nil
    }

    /// The path before the last `/` of a sensor id, nil when there is none (or it is empty).
    public static func parentPath(of sensor: String) -> String? {
        guard let slash = sensor.utf8.lastIndex(of: UInt8(ascii: "/")), slash != sensor.utf8.startIndex else { return nil }
        return String(sensor[..<slash])
    }

    /// The config's detector sections after the sensor's asset and overrides are applied.
    public func resolvedDetectors(forSensor name: String) -> Detectors {
        var d = detectors
        let asset = assets.first { $0.contains(sensor: name) }
        if let asset { d.apply(asset.patch) }
        for o in sensors where o.match.matches(name) {
            d.apply(o.patch)
        }
        d.repair()
        if asset == nil, d.isolationForest.configuration.features == .asset {
            d.isolationForest.configuration.features = .shingle
        }
        return d
    }
}

extension VigilConfiguration.Detectors {
    /// The runtime settings: enabled sections with their alert policies; nil for disabled ones.
    public var settings: DetectorSettings {
        DetectorSettings(zscore: zscore.section(alerts: alerts),
                         spectralResidual: spectralResidual.section(alerts: alerts),
                         isolationForest: isolationForest.section(alerts: alerts),
                         calibration: calibration,
                         combine: combine.section(alerts: alerts),
                         surprise: surprise.section(alerts: alerts),
                         seasonal: seasonal.enabled ? seasonal : nil)
    }
}
