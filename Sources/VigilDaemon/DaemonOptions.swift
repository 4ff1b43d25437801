// SPDX-License-Identifier: GPL-3.0-or-later
import VigilConfig
import VigilCore
import VigilDetectors
import VigilPipeline
#if canImport(Glibc)
import Glibc
#endif

/// Everything `Daemon` needs to run, built from a validated `VigilConfiguration`
/// (see `DaemonOptions+Configuration.swift`) or directly by tests.
public struct DaemonOptions: Sendable {
    /// A SUB socket consuming an existing plant publisher.
    public struct Subscription: Sendable, Equatable {
        public var endpoint: String
        /// Bind instead of connect.
        public var bind: Bool
        /// Topic prefixes to subscribe to ("" = everything).
        public var topics: [String]
        /// The publisher's CURVE public key, for a connecting subscription with `curve` set: the
        /// socket is then a CURVE client with the daemon's key pair. Required in that case.
        public var serverKey: CurveKey?

        public init(endpoint: String, bind: Bool = false, topics: [String] = [""], serverKey: CurveKey? = nil) {
            self.endpoint = endpoint
            self.bind = bind
            self.topics = topics
            self.serverKey = serverKey
        }
    }

    /// CURVE security (`security.curve`): every bound socket is a CURVE server with
    /// `secretKey`, and only `authorizedKeys` get in (SIGHUP replaces them, see
    /// `Daemon.replaceAuthorizedKeys`).
    public struct Curve: Sendable, Equatable {
        /// The daemon's secret key.
        public var secretKey: CurveSecretKey
        /// The client public keys admitted.
        public var authorizedKeys: [CurveKey]
        /// Where `authorizedKeys` came from, for log lines.
        public var authorizedKeysFile: String

        /// CURVE with the daemon's `secretKey`, admitting `authorizedKeys`.
        public init(secretKey: CurveSecretKey, authorizedKeys: [CurveKey], authorizedKeysFile: String = "authorized keys") {
            self.secretKey = secretKey
            self.authorizedKeys = authorizedKeys
            self.authorizedKeysFile = authorizedKeysFile
        }
    }

    /// NATS JetStream partitions, alert stream, leases and checkpoints (config `nats`).
    public var nats: VigilConfiguration.NATS?
    /// MQTT brokers (config `ingest.mqtt`).
    public var mqtt: [VigilConfiguration.MQTT] = []
    /// Bound PULL endpoints.
    public var ingestEndpoints: [String]
    public var subscriptions: [Subscription]
    public var maxMessageBytes: Int
    public var receiveHighWaterMark: Int32
    /// On stop, how long ingest keeps reading what senders already queued (`ingest.drain_timeout`);
    /// it stops earlier once every socket has been quiet for `drainQuietPeriod`. `.zero` closes
    /// the sockets at once.
    public var drainTimeout: Duration
    /// How long every ingest socket must have had nothing to read for the drain to end early.
    public var drainQuietPeriod: Duration
    public var publishEndpoint: String
    public var sendHighWaterMark: Int32
    public var historyEndpoint: String
    public var historyMaxReply: Int
    /// Largest history request accepted, in bytes (`history.max_request_bytes`): a larger frame
    /// makes libzmq disconnect the peer (`ZMQ_MAXMSGSIZE`), larger multi-frame messages are refused.
    public var historyMaxRequestBytes: Int
    /// `host:port` of the metrics and health HTTP listener; nil disables it.
    public var metricsListen: String?
    /// Directory of the alert journal.
    public var stateDirectory: String
    /// Alerts journaled longer ago than this are deleted (`state.journal_retention`); `.zero`
    /// keeps every alert.
    public var journalRetention: Duration
    /// How often retention runs (the first pass runs at start).
    public var journalRetentionInterval: Duration
    /// How often detector state is checkpointed while running (`state.checkpoint_interval`);
    /// `.zero` checkpoints only at shutdown.
    public var checkpointInterval: Duration
    /// How long a stage thread's heartbeat may stand still before the thread counts as stalled
    /// (the watchdog ping is withheld, `/healthz` answers 503); nil: half the systemd watchdog
    /// interval, at least 3 s, or 10 s without a watchdog.
    public var stallLimit: Duration?
    public var pipeline: PipelineConfiguration
    public var maxSensors: Int
    /// Reorder window and clock bounds for sample timestamps (`ingest.reorder_window`,
    /// `ingest.max_future`, `ingest.max_past`).
    public var timestampPolicy: TimestampPolicy
    /// Nanoseconds without an accepted sample after which a sensor is evicted
    /// (`limits.sensor_idle_timeout`); 0 never evicts.
    public var sensorIdleTimeout: Int64
    /// Per-sensor detector settings.
    public var settings: SettingsResolver
    /// The asset of a sensor (config `assets`), nil when sensors are not grouped.
    public var assetOf: (@Sendable (String) -> String?)?
    /// The PCA monitor of an asset, by its name (config `pca`).
    public var pcaSettings: PCASettingsResolver?
    /// CURVE authentication of every socket the daemon binds; nil: none.
    public var curve: Curve?
    /// The relations of an asset, by its name (config `relations`); nil: none.
    public var relations: RelationResolver?

    public init(ingestEndpoints: [String] = ["tcp://127.0.0.1:7001"], subscriptions: [Subscription] = [],
                maxMessageBytes: Int = 16 << 20, receiveHighWaterMark: Int32 = 10_000,
                drainTimeout: Duration = .seconds(5), drainQuietPeriod: Duration = .milliseconds(250),
                publishEndpoint: String = "tcp://127.0.0.1:7002", sendHighWaterMark: Int32 = 100_000,
                historyEndpoint: String = "tcp://127.0.0.1:7003", historyMaxReply: Int = 10_000,
                historyMaxRequestBytes: Int = 4096,
                metricsListen: String? = "127.0.0.1:9464", stateDirectory: String = "state",
                journalRetention: Duration = .seconds(30 * 86_400), journalRetentionInterval: Duration = .seconds(3600),
                checkpointInterval: Duration = .seconds(60), stallLimit: Duration? = nil,
                pipeline: PipelineConfiguration = .init(), maxSensors: Int = 100_000,
                timestampPolicy: TimestampPolicy = .standard,
                sensorIdleTimeout: Int64 = 7 * 86_400 * Timestamp.nanosecondsPerSecond,
                settings: @escaping SettingsResolver = { _ in DetectorSettings() },
                assetOf: (@Sendable (String) -> String?)? = nil,
                pcaSettings: PCASettingsResolver? = nil, curve: Curve? = nil, relations: RelationResolver? = nil) {
        self.relations = relations
        self.assetOf = assetOf
        self.pcaSettings = pcaSettings
        self.curve = curve
        self.ingestEndpoints = ingestEndpoints
        self.subscriptions = subscriptions
        self.maxMessageBytes = maxMessageBytes
        self.receiveHighWaterMark = receiveHighWaterMark
        self.drainTimeout = drainTimeout
        self.drainQuietPeriod = drainQuietPeriod
        self.publishEndpoint = publishEndpoint
        self.sendHighWaterMark = sendHighWaterMark
        self.historyEndpoint = historyEndpoint
        self.historyMaxReply = historyMaxReply
        self.historyMaxRequestBytes = historyMaxRequestBytes
        self.journalRetention = journalRetention
        self.journalRetentionInterval = journalRetentionInterval
        self.checkpointInterval = checkpointInterval
        self.stallLimit = stallLimit
        self.metricsListen = metricsListen
        self.stateDirectory = stateDirectory
        self.pipeline = pipeline
        self.maxSensors = maxSensors
        self.timestampPolicy = timestampPolicy
        self.sensorIdleTimeout = sensorIdleTimeout
        self.settings = settings
    }

    /// Every endpoint the daemon binds (bound PULL and SUB sockets, PUB, ROUTER), in that
    /// order: the CURVE servers when `curve` is set, and the `endpoint` labels of
    /// `vigil_auth_failures_total`.
    public var boundEndpoints: [String] {
        ingestEndpoints + subscriptions.filter(\.bind).map(\.endpoint) + [publishEndpoint, historyEndpoint]
    }

    /// Path of the alert journal inside the state directory.
    public var journalPath: String { stateDirectory + "/journal.sqlite" }
}
