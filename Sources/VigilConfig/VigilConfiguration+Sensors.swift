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

    /// The name of the first asset with a glob matching `sensor`, or nil.
    public func asset(ofSensor sensor: String) -> String? {
        assets.first { $0.contains(sensor: sensor) }?.name
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
                         surprise: surprise.section(alerts: alerts))
    }
}
