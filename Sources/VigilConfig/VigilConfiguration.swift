// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore
import VigilDetectors

/// The whole configuration of `vigild`, as read from `Configs/vigil.yaml`.
///
/// `VigilConfiguration()` holds the built-in defaults, which are exactly what the shipped
/// `Configs/vigil.yaml` spells out. `load(path:)` and `parse(yaml:file:)` read a file on top of
/// them and report every problem at once (`ConfigError`). Per-sensor detector settings come from
/// `detectorSettings(forSensor:)`.
///
/// Threading: an immutable-once-built value; share it freely. A reload builds a new one.
public struct VigilConfiguration: Sendable, Equatable {
    /// Where samples come from (`ingest`).
    public var ingest: Ingest
    /// Where alerts go (`publish`).
    public var publish: Publish
    /// The journal's query endpoint (`history`).
    public var history: History
    /// The HTTP metrics and health listener (`metrics`).
    public var metrics: Metrics
    /// Where the journal and detector snapshots live (`state`).
    public var state: State
    /// Worker threads and rings (`pipeline`).
    public var pipeline: Pipeline
    /// Resource limits (`limits`).
    public var limits: Limits
    /// Log verbosity (`logging`).
    public var logging: Logging
    /// Authentication of the sockets (`security`); absent: none.
    public var security: Security
    /// Detector defaults for every sensor (`detectors`).
    public var detectors: Detectors
    /// Per-sensor overrides, applied in order on top of the defaults (`sensors`).
    public var sensors: [SensorOverride]
    /// Groups of sensors for multivariate detection (`assets`).
    public var assets: [Asset]
    /// How sensors that no `assets` entry names form assets (`grouping`).
    public var grouping: Grouping
    /// NATS JetStream partitions, alert stream and checkpoints (`nats`); nil: ZeroMQ only.
    public var nats: NATS?
    /// `relations`: relations that must hold between an asset's sensors, each one's residual
    /// monitored as a sensor `<asset>/<relation>` (none by default).
    public var relations: [Relation] = []

    /// The built-in defaults (or any part replaced).
    public init(ingest: Ingest = .init(), publish: Publish = .init(), history: History = .init(),
                metrics: Metrics = .init(), state: State = .init(), pipeline: Pipeline = .init(),
                limits: Limits = .init(), logging: Logging = .init(), security: Security = .init(),
                detectors: Detectors = .init(), sensors: [SensorOverride] = [], assets: [Asset] = [],
                grouping: Grouping = .init(), nats: NATS? = nil) {
        self.nats = nats
        self.ingest = ingest
        self.publish = publish
        self.history = history
        self.metrics = metrics
        self.state = state
        self.pipeline = pipeline
        self.limits = limits
        self.logging = logging
        self.security = security
        self.detectors = detectors
        self.sensors = sensors
        self.assets = assets
        self.grouping = grouping
    }
}

extension VigilConfiguration {
    /// `ingest`: the sockets samples arrive on.
    public struct Ingest: Sendable, Equatable {
        /// Bound PULL sockets (`endpoints`), `tcp://host:port`, `ipc://path` or `inproc://name`.
        public var endpoints: [String]
        /// SUB sockets consuming existing plant publishers (`subscribe`).
        public var subscribe: [Subscription]
        /// Messages larger than this many bytes are dropped as `oversized_message`
        /// (`max_message_bytes`).
        public var maxMessageBytes: Int
        /// `ZMQ_RCVHWM` of every ingest socket, in messages; 0 means no limit (`receive_hwm`).
        public var receiveHighWaterMark: Int
        /// On SIGTERM, how long ingest keeps reading what senders already queued before it closes
        /// its sockets (`drain_timeout`); `.zero` closes them at once.
        public var drainTimeout: Duration
        /// A sample older than its sensor's newest timestamp by more than this is dropped as
        /// `late_sample` (`reorder_window`); `.zero` accepts any order.
        public var reorderWindow: Duration
        /// A timestamp more than this ahead of the daemon's clock is dropped as
        /// `future_timestamp` (`max_future`); `.zero` turns the check off.
        public var maxFuture: Duration
        /// A timestamp more than this behind the daemon's clock is dropped as `past_timestamp`
        /// (`max_past`); `.zero` (the default) turns the check off, as replays send old timestamps.
        public var maxPast: Duration
        /// MQTT brokers to subscribe to (`mqtt`).
        public var mqtt: [MQTT] = []

        /// The defaults: one PULL socket on `tcp://127.0.0.1:7001`, a 5 s drain, a 5 minute reorder
        /// window, at most 1 hour into the future, no limit into the past.
        public init(endpoints: [String] = ["tcp://127.0.0.1:7001"], subscribe: [Subscription] = [],
                    maxMessageBytes: Int = 16_777_216, receiveHighWaterMark: Int = 10_000,
                    drainTimeout: Duration = .seconds(5), reorderWindow: Duration = .seconds(300),
                    maxFuture: Duration = .seconds(3600), maxPast: Duration = .zero) {
            self.endpoints = endpoints
            self.subscribe = subscribe
            self.maxMessageBytes = maxMessageBytes
            self.receiveHighWaterMark = receiveHighWaterMark
            self.drainTimeout = drainTimeout
            self.reorderWindow = reorderWindow
            self.maxFuture = maxFuture
            self.maxPast = maxPast
        }
    }

    /// One SUB socket of `ingest.subscribe`.
    public struct Subscription: Sendable, Equatable {
        /// Whether the socket connects to a plant's publisher or binds for publishers to connect.
        public enum Mode: String, Sendable, Equatable, CaseIterable {
            /// `zmq_connect` to the endpoint (the default).
            case connect
            /// `zmq_bind` the endpoint.
            case bind
        }

        /// The publisher's endpoint (`endpoint`).
        public var endpoint: String
        /// Connect or bind (`mode`).
        public var mode: Mode
        /// Topic prefixes subscribed to (`topics`); `[""]`, the default, subscribes to everything.
        public var topics: [String]
        /// The publisher's CURVE public key (`server_key`, 40 Z85 characters): with
        /// `security.curve`, a connecting subscription is a CURVE client of the publisher, with
        /// the daemon's key pair as its identity. Required then for `connect`, refused for `bind`.
        public var serverKey: CurveKey?

        /// A subscription to `endpoint`.
        public init(endpoint: String, mode: Mode = .connect, topics: [String] = [""], serverKey: CurveKey? = nil) {
            self.endpoint = endpoint
            self.mode = mode
            self.topics = topics
            self.serverKey = serverKey
        }
    }

    /// `publish`: the PUB socket alerts are sent on.
    public struct Publish: Sendable, Equatable {
        /// Bound PUB endpoint (`endpoint`).
        public var endpoint: String
        /// `ZMQ_SNDHWM` in messages per subscriber; 0 means no limit (`send_hwm`).
        public var sendHighWaterMark: Int

        /// The defaults: `tcp://127.0.0.1:7002`.
        public init(endpoint: String = "tcp://127.0.0.1:7002", sendHighWaterMark: Int = 100_000) {
            self.endpoint = endpoint
            self.sendHighWaterMark = sendHighWaterMark
        }
    }

    /// `history`: the endpoint answering journal queries.
    public struct History: Sendable, Equatable {
        /// Bound ROUTER endpoint (`endpoint`).
        public var endpoint: String
        /// Most alerts returned by one query (`max_reply`).
        public var maxReply: Int
        /// Largest request accepted, in bytes (`max_request_bytes`); a peer sending a larger
        /// frame is disconnected by libzmq before the frame is read.
        public var maxRequestBytes: Int

        /// The defaults: `tcp://127.0.0.1:7003`, 10000 alerts per reply, 4096-byte requests.
        public init(endpoint: String = "tcp://127.0.0.1:7003", maxReply: Int = 10_000, maxRequestBytes: Int = 4096) {
            self.endpoint = endpoint
            self.maxReply = maxReply
            self.maxRequestBytes = maxRequestBytes
        }
    }

    /// A TCP listening address, `host:port` (an IPv6 host is written in brackets: `[::1]:9464`).
    public struct HostPort: Sendable, Equatable, CustomStringConvertible {
        /// Host name or address, without brackets.
        public var host: String
        /// Port, 1...65535.
        public var port: Int

        /// An address.
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// `host:port`, with brackets around an IPv6 host.
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// `metrics`: Prometheus `/metrics`, `/healthz` and `/readyz` over HTTP.
    public struct Metrics: Sendable, Equatable {
        /// Where to listen (`listen`); nil when disabled (`""` or `off`).
        public var listen: HostPort?

        /// The default: `127.0.0.1:9464`.
        public init(listen: HostPort? = HostPort(host: "127.0.0.1", port: 9464)) {
            self.listen = listen
        }
    }

    /// `state`: durable files.
    public struct State: Sendable, Equatable {
        /// Directory of the SQLite journal and the detector snapshots (`directory`), as written;
        /// a relative path is relative to the daemon's working directory.
        public var directory: String
        /// Alerts journaled longer ago than this are deleted from the journal
        /// (`journal_retention`, e.g. `30d`); `.zero` (written `0`) keeps every alert.
        public var journalRetention: Duration
        /// How often the detector state is checkpointed to `detectors.snapshot` while running
        /// (`checkpoint_interval`); `.zero` (written `0`) checkpoints only at shutdown.
        public var checkpointInterval: Duration

        /// The defaults: `./state`, 30 days of alerts, a checkpoint every 60 s.
        public init(directory: String = "./state", journalRetention: Duration = .seconds(30 * 86_400),
                    checkpointInterval: Duration = .seconds(60)) {
            self.directory = directory
            self.journalRetention = journalRetention
            self.checkpointInterval = checkpointInterval
        }
    }

    /// `pipeline`: the stage threads between ingest and publish.
    public struct Pipeline: Sendable, Equatable {
        /// How many detector worker threads run (`workers`).
        public enum Workers: Sendable, Equatable {
            /// `WorkerCount.automatic` of the active processors (`auto`).
            case auto
            /// Exactly this many (≥ 1).
            case count(Int)

            /// The number of workers on a machine with `activeProcessors` processors.
            public func resolved(activeProcessors: Int) -> Int {
                switch self {
                case .auto: WorkerCount.automatic(activeProcessors: activeProcessors)
                case .count(let n): n
                }
            }
        }

        /// Worker threads (`workers`).
        public var workers: Workers
        /// Slots of each worker's ring (`ring_capacity`): a power of two ≥ 1024 (the loader rounds
        /// the written value up).
        public var ringCapacity: Int
        /// Full-ring policy (`overflow`).
        public var overflow: OverflowPolicy

        /// The defaults: `auto` workers, 65536 slots, `block`.
        public init(workers: Workers = .auto, ringCapacity: Int = 65_536, overflow: OverflowPolicy = .block) {
            self.workers = workers
            self.ringCapacity = ringCapacity
            self.overflow = overflow
        }
    }

    /// `limits`: bounds that protect the daemon from misbehaving senders.
    public struct Limits: Sendable, Equatable {
        /// Distinct sensors tracked; samples of further new sensors are dropped as `sensor_limit`
        /// (`max_sensors`).
        public var maxSensors: Int
        /// A sensor that sent no accepted sample for this long is evicted: its detector state is
        /// freed and its registry slot reused (`sensor_idle_timeout`); `.zero` never evicts.
        public var sensorIdleTimeout: Duration

        /// The defaults: 100000 sensors, evicted after 7 days without a sample.
        public init(maxSensors: Int = 100_000, sensorIdleTimeout: Duration = .seconds(7 * 86_400)) {
            self.maxSensors = maxSensors
            self.sensorIdleTimeout = sensorIdleTimeout
        }
    }

    /// `grouping`: how sensors that no `assets` entry names form assets, so that an asset's
    /// sensors are monitored together (PCA) without configuration.
    public struct Grouping: Sendable, Equatable {
        /// The grouping rule.
        public enum Rule: String, Sendable, Equatable, CaseIterable {
            /// A sensor belongs to the asset its parent path names: `plant1/pump7/flow` to
            /// `plant1/pump7`, a wide recording's `<file>/<column>` to `<file>`.
            case parent
            /// Only `assets` entries group sensors.
            case none
        }

        /// The rule (`rule`).
        public var rule: Rule
        /// Members an asset needs before its multivariate detectors run (`min_members`, ≥ 2):
        /// one sensor alone is monitored by its own detectors only.
        public var minimumMembers: Int
        /// Whether members alert on their own while their asset's monitor monitors
        /// (`member_alerts`; `while_learning`: only until it does).
        public var memberAlerts: MemberAlerts

        /// The default: group by parent path, from two members on; members alert on their own
        /// only while their asset's monitor learns.
        public init(rule: Rule = .parent, minimumMembers: Int = 2, memberAlerts: MemberAlerts = .whileLearning) {
            self.rule = rule
            self.minimumMembers = minimumMembers
            self.memberAlerts = memberAlerts
        }
    }

    /// `security`: who may use the daemon's sockets.
    public struct Security: Sendable, Equatable {
        /// `security.curve`; nil (the default) means no authentication and no encryption, for
        /// loopback-only set-ups.
        public var curve: Curve?

        /// The default: no authentication.
        public init(curve: Curve? = nil) {
            self.curve = curve
        }
    }

    /// `security.curve`: every socket `vigild` binds (ingest PULL and bound SUB, alerts PUB,
    /// history ROUTER) is a CURVE server with the daemon's secret key, and only clients whose
    /// public key is listed in the authorized-keys file get in (ZeroMQ's ZAP, RFC 27).
    ///
    /// The loader reads and checks both files (`CurveKeyFile`): a problem with either makes
    /// the configuration invalid, so the daemon never starts (or reloads) half secured.
    public struct Curve: Sendable, Equatable {
        /// The daemon's secret key file (`secret_key_file`), as written; relative paths are
        /// relative to the daemon's working directory. Mode 0600 or 0400.
        public var secretKeyFile: String
        /// The client public keys file (`authorized_keys_file`), as written; re-read on SIGHUP.
        public var authorizedKeysFile: String
        /// The daemon's secret key, read from `secretKeyFile`.
        public var secretKey: CurveSecretKey
        /// The authorized client keys, read from `authorizedKeysFile`, in file order, each once.
        public var authorizedKeys: [CurveKey]

        /// A section with the keys already read.
        public init(secretKeyFile: String, authorizedKeysFile: String, secretKey: CurveSecretKey, authorizedKeys: [CurveKey]) {
            self.secretKeyFile = secretKeyFile
            self.authorizedKeysFile = authorizedKeysFile
            self.secretKey = secretKey
            self.authorizedKeys = authorizedKeys
        }
    }

    /// Log levels, named as swift-log's `Logger.Level` (`Logger.Level(rawValue: level.rawValue)`).
    public enum LogLevel: String, Sendable, Equatable, CaseIterable {
        /// Everything, including per-message tracing.
        case trace
        /// Diagnostics for developers.
        case debug
        /// Normal operation (the default).
        case info
        /// Conditions worth an operator's attention that are not errors.
        case notice
        /// Something unexpected that the daemon handled.
        case warning
        /// An operation failed.
        case error
        /// The daemon cannot continue.
        case critical
    }

    /// `logging`.
    public struct Logging: Sendable, Equatable {
        /// Least severe level logged (`level`).
        public var level: LogLevel

        /// The default: `info`.
        public init(level: LogLevel = .info) {
            self.level = level
        }
    }
}
