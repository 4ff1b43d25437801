// SPDX-License-Identifier: GPL-3.0-or-later
import VigilConfig
import VigilCore
import VigilPipeline

extension DaemonOptions {
    /// The runtime options of a validated configuration (the config graph builds the runtime graph).
    public init(configuration c: VigilConfiguration) {
        var assetOf: (@Sendable (String) -> String?)? = nil
        if !c.assets.isEmpty || c.grouping.rule != .none {
            assetOf = { @Sendable name in c.asset(ofSensor: name) }
        }
        self.init(
            ingestEndpoints: c.ingest.endpoints,
            subscriptions: c.ingest.subscribe.map {
                Subscription(endpoint: $0.endpoint, bind: $0.mode == .bind, topics: $0.topics, serverKey: $0.serverKey)
            },
            maxMessageBytes: c.ingest.maxMessageBytes,
            receiveHighWaterMark: Int32(clamping: c.ingest.receiveHighWaterMark),
            drainTimeout: c.ingest.drainTimeout,
            publishEndpoint: c.publish.endpoint,
            sendHighWaterMark: Int32(clamping: c.publish.sendHighWaterMark),
            historyEndpoint: c.history.endpoint,
            historyMaxReply: c.history.maxReply,
            historyMaxRequestBytes: c.history.maxRequestBytes,
            metricsListen: c.metrics.listen?.description,
            stateDirectory: c.state.directory,
            journalRetention: c.state.journalRetention,
            checkpointInterval: c.state.checkpointInterval,
            pipeline: PipelineConfiguration(workers: c.pipeline.workers.resolved(activeProcessors: WorkerCount.onlineProcessors),
                                            ringCapacity: c.pipeline.ringCapacity,
                                            overflow: c.pipeline.overflow,
                                            minimumAssetMembers: c.grouping.minimumMembers,
                                            memberAlerts: c.grouping.memberAlerts),
            maxSensors: c.limits.maxSensors,
            timestampPolicy: TimestampPolicy(reorderWindow: nanoseconds(c.ingest.reorderWindow),
                                             maxFuture: nanoseconds(c.ingest.maxFuture),
                                             maxPast: nanoseconds(c.ingest.maxPast)),
            sensorIdleTimeout: nanoseconds(c.limits.sensorIdleTimeout),
            settings: { c.detectorSettings(forSensor: $0) },
            assetOf: assetOf,
            pcaSettings: { c.pcaSettings(forAsset: $0) },
            curve: c.security.curve.map {
                Curve(secretKey: $0.secretKey, authorizedKeys: $0.authorizedKeys, authorizedKeysFile: $0.authorizedKeysFile)
            },
            relations: c.relations.isEmpty ? nil : { @Sendable asset in c.relations(forAsset: asset) })
        nats = c.nats
        mqtt = c.ingest.mqtt
    }
}

/// Whole nanoseconds of a configured duration (at most 100 years, so it fits).
private func nanoseconds(_ d: Duration) -> Int64 {
    let (seconds, attoseconds) = d.components
    return seconds * Timestamp.nanosecondsPerSecond + attoseconds / 1_000_000_000
}
