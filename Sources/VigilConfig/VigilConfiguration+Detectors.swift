// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore
import VigilDetectors

extension VigilConfiguration {
    /// `detectors`: the settings every sensor starts from before its overrides.
    public struct Detectors: Sendable, Equatable {
        /// `detectors.surprise` (on by default: the shipped detector).
        public var surprise: Detector<SurpriseConfiguration>
        /// `detectors.zscore` (off by default).
        public var zscore: Detector<ZScoreSettings>
        /// `detectors.spectral_residual` (off by default).
        public var spectralResidual: Detector<SpectralResidualConfiguration>
        /// `detectors.isolation_forest` (off by default).
        public var isolationForest: Detector<IsolationForestConfiguration>
        /// `detectors.alerts`: the raise/clear policy of any detector section that does not set its own.
        public var alerts: AlertDefaults
        /// `detectors.calibration`: raw score → probability.
        public var calibration: CalibrationConfiguration
        /// `detectors.combine`: one alert stream from the calibrated scores (off by default).
        public var combine: Detector<CombineSettings>
        /// `detectors.pca`: the PCA monitor of every asset (on by default; sensors outside an
        /// asset have none).
        public var pca: Detector<PCAConfiguration>
        /// `detectors.seasonal`: the hour-of-week baseline (off by default).
        public var seasonal: SeasonalBaselineConfiguration

        /// The shipped surprise section: threshold 4 (p = 10⁻⁴), critical 7, its own alert policy
        /// (raise on the first surprising sample, clear after 20 calm ones, calm meaning below
        /// the threshold itself, re-learn after a hold of 300 samples).
        public static let defaultSurprise = Detector<SurpriseConfiguration>(
            enabled: true, SurpriseConfiguration(), threshold: 4, critical: 7, raiseAfter: 1, clearAfter: 20, clearRatio: 1,
            relearnAfter: 300)

        /// The built-in defaults, as listed in the shipped `Configs/vigil.yaml`.
        public init(
            surprise: Detector<SurpriseConfiguration> = Detectors.defaultSurprise,
            zscore: Detector<ZScoreSettings> = .init(enabled: false, ZScoreSettings(), threshold: 5, critical: 8),
            spectralResidual: Detector<SpectralResidualConfiguration> =
                .init(enabled: false, SpectralResidualConfiguration(), threshold: 0.5, critical: 0.8),
            isolationForest: Detector<IsolationForestConfiguration> =
                .init(enabled: false, IsolationForestConfiguration(), threshold: 0.65, critical: 0.75),
            alerts: AlertDefaults = .init(),
            calibration: CalibrationConfiguration = .init(),
            combine: Detector<CombineSettings> =
                .init(enabled: false,
                      CombineSettings(rule: .max, weights: [.surprise: 1, .zscore: 1, .spectralResidual: 1, .isolationForest: 1]),
                      threshold: 0.9999999, critical: 0.99999999),
            pca: Detector<PCAConfiguration> =
                .init(enabled: true, PCAConfiguration(), threshold: 1, critical: 3,
                      raiseAfter: 6, clearAfter: 20, clearRatio: 1),
            seasonal: SeasonalBaselineConfiguration = .init()
        ) {
            self.seasonal = seasonal
            self.surprise = surprise
            self.zscore = zscore
            self.spectralResidual = spectralResidual
            self.isolationForest = isolationForest
            self.alerts = alerts
            self.calibration = calibration
            self.combine = combine
            self.pca = pca
        }
    }

    /// One detector section of the config: whether it runs, its configuration, and its alert
    /// thresholds. `raiseAfter`, `clearAfter` and `clearRatio` are nil when the section leaves
    /// them to `detectors.alerts`.
    public struct Detector<Configuration: Sendable & Equatable>: Sendable, Equatable {
        /// Whether the detector runs (`enabled`).
        public var enabled: Bool
        /// The detector's own settings.
        public var configuration: Configuration
        /// Score at or above which a sample is anomalous (`threshold`).
        public var threshold: Double
        /// Score at or above which an alert is critical (`critical`, ≥ `threshold`).
        public var critical: Double
        /// `raise_after`, or nil for `detectors.alerts.raise_after`.
        public var raiseAfter: Int?
        /// `clear_after`, or nil for `detectors.alerts.clear_after`.
        public var clearAfter: Int?
        /// `clear_ratio`, or nil for `detectors.alerts.clear_ratio`.
        public var clearRatio: Double?
        /// `relearn_after` (0 = never; only the surprise section has the key).
        public var relearnAfter: Int

        /// A section.
        public init(enabled: Bool, _ configuration: Configuration, threshold: Double, critical: Double,
                    raiseAfter: Int? = nil, clearAfter: Int? = nil, clearRatio: Double? = nil, relearnAfter: Int = 0) {
            self.enabled = enabled
            self.configuration = configuration
            self.threshold = threshold
            self.critical = critical
            self.raiseAfter = raiseAfter
            self.clearAfter = clearAfter
            self.clearRatio = clearRatio
            self.relearnAfter = relearnAfter
        }

        /// The alert policy of this section, filling unset fields from `alerts`.
        public func policy(alerts: AlertDefaults) -> AlertPolicy {
            AlertPolicy(threshold: threshold, criticalThreshold: critical,
                        raiseAfter: raiseAfter ?? alerts.raiseAfter, clearAfter: clearAfter ?? alerts.clearAfter,
                        clearRatio: clearRatio ?? alerts.clearRatio, relearnAfter: relearnAfter)
        }

        /// The runtime section, or nil when the detector is disabled.
        public func section(alerts: AlertDefaults) -> DetectorSection<Configuration>? {
            enabled ? DetectorSection(configuration, alerts: policy(alerts: alerts)) : nil
        }
    }

    /// `detectors.alerts`: the `AlertPolicy` fields shared by detector sections that do not set them.
    public struct AlertDefaults: Sendable, Equatable {
        /// Consecutive anomalous samples needed to raise (`raise_after`, ≥ 1).
        public var raiseAfter: Int
        /// Consecutive calm samples needed to clear (`clear_after`, ≥ 1).
        public var clearAfter: Int
        /// Calm means below `threshold × clear_ratio` (`clear_ratio`, in (0, 1]).
        public var clearRatio: Double

        /// The defaults: raise after 3, clear after 10, clear ratio 0.75.
        public init(raiseAfter: Int = 3, clearAfter: Int = 10, clearRatio: Double = 0.75) {
            self.raiseAfter = raiseAfter
            self.clearAfter = clearAfter
            self.clearRatio = clearRatio
        }
    }

    /// One entry of `sensors`: detector keys applied to every sensor whose id matches `match`.
    public struct SensorOverride: Sendable, Equatable {
        /// Which sensors it applies to (`match`).
        public var match: Glob
        /// The detector keys it sets, in file order.
        var patch: DetectorPatch

        init(match: Glob, patch: DetectorPatch) {
            self.match = match
            self.patch = patch
        }

        /// The keys it sets with their values, in file order, e.g. `zscore.threshold: 6`.
        public var changes: [String] { patch.changes }
    }

    /// One entry of `assets`: a named group of sensors monitored together (its `pca` section, and
    /// an isolation forest over the members with `isolation_forest.features: asset`), with
    /// detector keys for its members.
    public struct Asset: Sendable, Equatable {
        /// The asset's name (`name`), unique in the file, e.g. `plant1/pump7`.
        public var name: String
        /// Its members: every sensor matching one of these (`sensors`).
        public var sensors: [Glob]
        /// The detector keys it sets for its members, in file order.
        var patch: DetectorPatch

        /// An asset without detector keys of its own (for tools that derive assets from data,
        /// such as a wide fixture file whose columns are one asset's sensors).
        public init(name: String, sensors: [Glob]) {
            self.init(name: name, sensors: sensors, patch: DetectorPatch())
        }

        init(name: String, sensors: [Glob], patch: DetectorPatch) {
            self.name = name
            self.sensors = sensors
            self.patch = patch
        }

        /// Whether `sensor` belongs to this asset.
        public func contains(sensor: String) -> Bool {
            sensors.contains { $0.matches(sensor) }
        }

        /// The keys it sets with their values, in file order.
        public var changes: [String] { patch.changes }
    }
}
