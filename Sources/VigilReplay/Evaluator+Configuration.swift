// SPDX-License-Identifier: GPL-3.0-or-later
import VigilConfig

extension Evaluator {
    /// An evaluator with `configuration`'s detector settings and assets, resolved per sensor
    /// exactly as `vigild` resolves them.
    public init(configuration: VigilConfiguration) {
        var assetOf: (@Sendable (String) -> String?)? = nil
        if !configuration.assets.isEmpty || configuration.grouping.rule != .none {
            assetOf = { @Sendable name in configuration.asset(ofSensor: name) }
        }
        self.init(settings: { configuration.detectorSettings(forSensor: $0) }, assetOf: assetOf,
                  pcaSettings: { configuration.pcaSettings(forAsset: $0) },
                  minimumAssetMembers: configuration.grouping.minimumMembers,
                  memberAlerts: configuration.grouping.memberAlerts)
    }
}
