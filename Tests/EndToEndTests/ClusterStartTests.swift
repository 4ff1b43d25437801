// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Logging
import Testing
import VigilConfig
import VigilDaemon
import VigilTestKit

/// A daemon whose NATS cluster or MQTT broker cannot be reached refuses to start, naming it.
/// (The running cluster — three nats-server nodes, mosquitto, several vigild — is exercised by
/// `make test-cluster`, `Tests/Cluster/cluster_test.py`.)
@Suite("Cluster start-up errors")
struct ClusterStartTests {
    static func options() -> DaemonOptions {
        var o = DaemonOptions()
        o.ingestEndpoints = [TestNetwork.freeEndpoint()]
        o.publishEndpoint = TestNetwork.freeEndpoint()
        o.historyEndpoint = TestNetwork.freeEndpoint()
        o.metricsListen = nil
        o.stateDirectory = TestNetwork.temporaryDirectory("vigil-cluster-start")
        return o
    }

    @Test func unreachableNATS() throws {
        var o = Self.options()
        let url = "nats://127.0.0.1:\(TestNetwork.freePort())"
        o.nats = VigilConfiguration.NATS(servers: [url], partitions: 2)
        let daemon = try Daemon(options: o, logger: Logger(label: "test"))
        do {
            try daemon.start()
            daemon.stop()
            Issue.record("started without a NATS server")
        } catch let error as Daemon.StartError {
            #expect(error.description.hasPrefix("nats: natsConnection_Connect to \(url)"), "\(error)")
            #expect(error.description.contains("nats.servers: \(url)"), "\(error)")
        }
    }

    @Test func unreachableMQTTBroker() throws {
        var o = Self.options()
        let port = TestNetwork.freePort()
        o.mqtt = [VigilConfiguration.MQTT(url: "mqtt://127.0.0.1:\(port)", host: "127.0.0.1", port: port, tls: false, topics: ["plant/#"])]
        let daemon = try Daemon(options: o, logger: Logger(label: "test"))
        do {
            try daemon.start()
            daemon.stop()
            Issue.record("started without an MQTT broker")
        } catch let error as Daemon.StartError {
            #expect(error.description.hasPrefix("ingest.mqtt[0] (mqtt://127.0.0.1:\(port)): connect to mqtt://127.0.0.1:\(port)"), "\(error)")
            #expect(error.description.contains("refused"), "\(error)")
        }
    }
}
