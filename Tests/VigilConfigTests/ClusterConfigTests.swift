// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilConfig
import VigilCore

/// `nats` and `ingest.mqtt`: what they read, and every mistake reported at its key.
@Suite("nats and ingest.mqtt")
struct ClusterConfigTests {
    @Test func absentByDefault() throws {
        let c = try parse("")
        #expect(c.nats == nil)
        #expect(c.ingest.mqtt.isEmpty)
    }

    @Test func natsSection() throws {
        let c = try parse("""
            nats:
              servers: [nats://127.0.0.1:4222, nats://10.0.0.2:4222]
              ingest_stream: PLANT_SAMPLES
              partitions: 6
              owned_partitions: [3, 4, 5]
              alert_stream: PLANT_ALERTS
              replicas: 3
              lease_ttl: 5s
              ack_wait: 20s
            """)
        let n = try #require(c.nats)
        #expect(n.servers == ["nats://127.0.0.1:4222", "nats://10.0.0.2:4222"])
        #expect(n.ingestStream == "PLANT_SAMPLES")
        #expect(n.partitions == 6)
        #expect(n.ownedPartitions == [3, 4, 5])
        #expect(n.alertStream == "PLANT_ALERTS")
        #expect(n.replicas == 3)
        #expect(n.leaseTTL == .seconds(5))
        #expect(n.ackWait == .seconds(20))
    }

    @Test func natsDefaultsOwnEveryPartition() throws {
        let n = try #require(try parse("nats: {partitions: 4}").nats)
        #expect(n.ownedPartitions == [0, 1, 2, 3])
        #expect(n.servers == ["nats://127.0.0.1:4222"])
        #expect(n.ingestStream == "VIGIL_SAMPLES" && n.alertStream == "VIGIL_ALERTS")
    }

    @Test(arguments: [
        ("nats: {partiton: 4}", "nats.partiton", "did you mean \"partitions\"?"),
        ("nats: {partitions: 4, owned_partitions: [1, 4]}", "nats.owned_partitions[1]", "partition 4 does not exist"),
        ("nats: {owned_partitions: [1, 1]}", "nats.owned_partitions[1]", "listed twice"),
        ("nats: {owned_partitions: []}", "nats.owned_partitions", "at least one partition"),
        ("nats: {servers: [http://x:1]}", "nats.servers[0]", "nats://127.0.0.1:4222"),
        ("nats: {servers: [nats://host]}", "nats.servers[0]", "host:port"),
        ("nats: {ingest_stream: a.b}", "nats.ingest_stream", "letters, digits"),
        ("nats: {alert_stream: VIGIL_SAMPLES}", "nats.alert_stream", "must differ"),
        ("nats: {partitions: 0}", "nats.partitions", "between 1 and 1024"),
        ("nats: {lease_ttl: 0}", "nats.lease_ttl", "at least 1s"),
        ("ingest: {mqtt: [{url: mqtt://127.0.0.1:1883}]}", "ingest.mqtt[0].topics", "needs topics"),
        ("ingest: {mqtt: [{topics: [a/#]}]}", "ingest.mqtt[0].url", "needs the broker's url"),
        ("ingest: {mqtt: [{url: http://b:1, topics: [a]}]}", "ingest.mqtt[0].url", "mqtt://host[:port]"),
        ("ingest: {mqtt: [{url: mqtt://b, topics: [a/#/b]}]}", "ingest.mqtt[0].topics[0]", "# must be a whole level"),
        ("ingest: {mqtt: [{url: mqtt://b, topics: [a+]}]}", "ingest.mqtt[0].topics[0]", "+ must be a whole level"),
        ("ingest: {mqtt: [{url: mqtt://b, topics: [a], qos: 2}]}", "ingest.mqtt[0].qos", "between 0 and 1"),
        ("ingest: {mqtt: [{url: mqtt://b, topics: [a], password: x}]}", "ingest.mqtt[0].password", "needs a username"),
        ("ingest: {mqtt: [{url: mqtt://b, topics: [a], tls: {cert_file: c}}]}", "ingest.mqtt[0].tls", "go together"),
        ("ingest: {mqtt: [{url: mqtt://b, topics: [a], clientid: x}]}", "ingest.mqtt[0].clientid", "did you mean \"client_id\"?"),
    ])
    func mistakes(yaml: String, keyPath: String, message: String) {
        let found = problems(yaml)
        #expect(found.contains { $0.keyPath == keyPath && $0.message.contains(message) }, "\(found)")
    }

    @Test func mqttEntry() throws {
        let c = try parse("""
            ingest:
              endpoints: []
              mqtt:
                - url: mqtts://broker.plant:8884
                  topics: [plant1/#, plant2/+/temp]
                  qos: 0
                  client_id: vigild-a
                  username: vigil
                  password: s3cret
                  tls: {ca_file: /etc/ssl/plant-ca.pem, insecure: true}
                - {url: mqtt://127.0.0.1, topics: ["#"]}
            """)
        #expect(c.ingest.mqtt.count == 2)
        let a = c.ingest.mqtt[0]
        #expect(a.host == "broker.plant" && a.port == 8884 && a.tls)
        #expect(a.topics == ["plant1/#", "plant2/+/temp"])
        #expect(a.qos == 0 && a.clientID == "vigild-a" && a.username == "vigil" && a.password == "s3cret")
        #expect(a.caFile == "/etc/ssl/plant-ca.pem" && a.insecure)
        let b = c.ingest.mqtt[1]
        #expect(b.host == "127.0.0.1" && b.port == 1883 && !b.tls && b.qos == 1 && b.clientID == "vigild")
    }

    /// Without ZeroMQ endpoints, NATS or MQTT alone is an ingest.
    @Test func natsAloneIsAnIngest() throws {
        let c = try parse("ingest: {endpoints: []}\nnats: {}")
        #expect(c.ingest.endpoints.isEmpty && c.nats != nil)
        #expect(problems("ingest: {endpoints: []}").contains { $0.message.contains("at least one ingest endpoint") })
    }

    /// The partition function is fixed (README): FNV-1a of the id up to its last `/`.
    @Test func partitionFunction() {
        // A machine's sensors share a partition.
        #expect(SensorPartition.of("plant1/pump7/vibration", partitions: 8) == SensorPartition.of("plant1/pump7/flow", partitions: 8))
        // Reference values (Python: fnv1a32(b"plant1/pump7") % 8 and fnv1a32(b"solo") % 8).
        #expect(SensorPartition.of("plant1/pump7/vibration", partitions: 8) == Int(fnv1a("plant1/pump7") % 8))
        #expect(SensorPartition.of("solo", partitions: 8) == Int(fnv1a("solo") % 8))
        #expect(fnv1a("") == 0x811C_9DC5 && fnv1a("a") == 0xE40C_292C)
        #expect(SensorPartition.partitions(fromStreamDescription: SensorPartition.streamDescription(partitions: 12)) == 12)
    }

    private func fnv1a(_ s: String) -> UInt32 {
        var h: UInt32 = 0x811C_9DC5
        for b in s.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        return h
    }
}
