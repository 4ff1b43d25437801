// SPDX-License-Identifier: GPL-3.0-or-later

extension VigilConfiguration {
    /// `nats`: samples from NATS JetStream partitions, alerts to a JetStream alert stream, detector
    /// checkpoints and partition leases in JetStream key-value buckets (see the README, "Running
    /// several daemons"). Absent (nil): ZeroMQ only.
    public struct NATS: Sendable, Equatable {
        /// Servers of the cluster (`servers`), `nats://host:port`; any one reachable suffices.
        public var servers: [String]
        /// The sample stream (`ingest_stream`); partition `p` is subject `<ingest_stream>.<p>`.
        public var ingestStream: String
        /// Partitions of the sample stream (`partitions`), fixed when the stream is created.
        public var partitions: Int
        /// The partitions this daemon consumes (`owned_partitions`; default: all of them). A
        /// standby lists the same share; whoever holds the share's leases consumes it.
        public var ownedPartitions: [Int]
        /// The alert stream (`alert_stream`): every daemon's alerts, de-duplicated by `Nats-Msg-Id`.
        public var alertStream: String
        /// Copies JetStream keeps of each stream and bucket vigild creates (`replicas`, 1–5; 3 on
        /// a three-node cluster).
        public var replicas: Int
        /// How long a partition lease lives without renewal (`lease_ttl`): a standby takes the
        /// share over this long after its owner stopped renewing (a crash).
        public var leaseTTL: Duration
        /// How long JetStream waits for a delivered sample message's acknowledgement before it
        /// redelivers it (`ack_wait`).
        public var ackWait: Duration

        public init(servers: [String] = ["nats://127.0.0.1:4222"], ingestStream: String = "VIGIL_SAMPLES",
                    partitions: Int = 8, ownedPartitions: [Int]? = nil, alertStream: String = "VIGIL_ALERTS",
                    replicas: Int = 1, leaseTTL: Duration = .seconds(10), ackWait: Duration = .seconds(30)) {
            self.servers = servers
            self.ingestStream = ingestStream
            self.partitions = partitions
            self.ownedPartitions = ownedPartitions ?? Array(0..<partitions)
            self.alertStream = alertStream
            self.replicas = replicas
            self.leaseTTL = leaseTTL
            self.ackWait = ackWait
        }
    }

    /// One `ingest.mqtt` entry: an MQTT broker and the topic filters vigild subscribes to. The
    /// topic of a message names its sensor (`/` kept); the payload is JSON or `VGL1` as on ZeroMQ.
    public struct MQTT: Sendable, Equatable {
        /// `mqtt://host:port` (default port 1883) or `mqtts://host:port` (TLS, default 8883).
        public var url: String
        public var host: String
        public var port: Int
        public var tls: Bool
        /// Topic filters (`topics`), MQTT wildcards `+` and `#` allowed.
        public var topics: [String]
        /// QoS of the subscriptions (`qos`): 1 (the default, acknowledged after hand-over to the
        /// pipeline) or 0.
        public var qos: Int
        /// Client id (`client_id`), the key of the broker's persistent session.
        public var clientID: String
        public var username: String?
        public var password: String?
        /// `tls.ca_file`, `tls.cert_file`, `tls.key_file`, `tls.insecure`.
        public var caFile: String?
        public var certFile: String?
        public var keyFile: String?
        public var insecure: Bool

        public init(url: String, host: String, port: Int, tls: Bool, topics: [String], qos: Int = 1,
                    clientID: String = "vigild", username: String? = nil, password: String? = nil,
                    caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, insecure: Bool = false) {
            self.url = url
            self.host = host
            self.port = port
            self.tls = tls
            self.topics = topics
            self.qos = qos
            self.clientID = clientID
            self.username = username
            self.password = password
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
            self.insecure = insecure
        }
    }
}
