// SPDX-License-Identifier: GPL-3.0-or-later
import VigilConfig
import VigilDetectors

extension Evaluator {
    /// An evaluator with `configuration`'s detector settings, assets and relations, resolved per
    /// sensor exactly as `vigild` resolves them.
    public init(configuration: VigilConfiguration) {
        var assetOf: (@Sendable (String) -> String?)? = nil
        if !configuration.assets.isEmpty || configuration.grouping.rule != .none {
            assetOf = { @Sendable name in configuration.asset(ofSensor: name) }
        }
        var relations: (@Sendable (String) -> [RelationDefinition])? = nil
        if !configuration.relations.isEmpty {
            relations = { @Sendable asset in configuration.relations(forAsset: asset) }
        }
        self.init(settings: { configuration.detectorSettings(forSensor: $0) }, assetOf: assetOf,
                  pcaSettings: { configuration.pcaSettings(forAsset: $0) },
                  minimumAssetMembers: configuration.grouping.minimumMembers,
                  memberAlerts: configuration.grouping.memberAlerts, relations: relations)
    }
}
