// SPDX-License-Identifier: GPL-3.0-or-later
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

        public init(endpoint: String, bind: Bool = false, topics: [String] = [""]) {
            self.endpoint = endpoint
            self.bind = bind
            self.topics = topics
        }
    }

    /// Bound PULL endpoints.
    public var ingestEndpoints: [String]
    public var subscriptions: [Subscription]
    public var maxMessageBytes: Int
    public var receiveHighWaterMark: Int32
    public var publishEndpoint: String
    public var sendHighWaterMark: Int32
    public var historyEndpoint: String
    public var historyMaxReply: Int
    /// `host:port` of the metrics and health HTTP listener; nil disables it.
    public var metricsListen: String?
    /// Directory of the alert journal.
    public var stateDirectory: String
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

    public init(ingestEndpoints: [String] = ["tcp://127.0.0.1:7001"], subscriptions: [Subscription] = [],
                maxMessageBytes: Int = 16 << 20, receiveHighWaterMark: Int32 = 10_000,
                publishEndpoint: String = "tcp://127.0.0.1:7002", sendHighWaterMark: Int32 = 100_000,
                historyEndpoint: String = "tcp://127.0.0.1:7003", historyMaxReply: Int = 10_000,
                metricsListen: String? = "127.0.0.1:9464", stateDirectory: String = "state",
                pipeline: PipelineConfiguration = .init(), maxSensors: Int = 100_000,
                timestampPolicy: TimestampPolicy = .standard,
                sensorIdleTimeout: Int64 = 7 * 86_400 * Timestamp.nanosecondsPerSecond,
                settings: @escaping SettingsResolver = { _ in DetectorSettings() },
                assetOf: (@Sendable (String) -> String?)? = nil) {
        self.assetOf = assetOf
        self.ingestEndpoints = ingestEndpoints
        self.subscriptions = subscriptions
        self.maxMessageBytes = maxMessageBytes
        self.receiveHighWaterMark = receiveHighWaterMark
        self.publishEndpoint = publishEndpoint
        self.sendHighWaterMark = sendHighWaterMark
        self.historyEndpoint = historyEndpoint
        self.historyMaxReply = historyMaxReply
        self.metricsListen = metricsListen
        self.stateDirectory = stateDirectory
        self.pipeline = pipeline
        self.maxSensors = maxSensors
        self.timestampPolicy = timestampPolicy
        self.sensorIdleTimeout = sensorIdleTimeout
        self.settings = settings
    }

    /// Path of the alert journal inside the state directory.
    public var journalPath: String { stateDirectory + "/journal.sqlite" }
}

/// Wall-clock and monotonic time in nanoseconds.
enum Clock {
    @inline(__always)
    static func wallNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    @inline(__always)
    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
