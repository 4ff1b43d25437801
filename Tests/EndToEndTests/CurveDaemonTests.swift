// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Logging
import Testing
import VigilCore
import VigilDaemon
import VigilTestKit
import ZeroMQ

/// `Daemon` with `DaemonOptions.curve` in process: what the config loader cannot catch is still
/// refused at start with code `.security` (vigild's exit 78), and the key reload API.
@Suite("Daemon with CURVE in process", .serialized, .enabled(if: zmqHasCurve))
struct CurveDaemonTests {
    static func curve(authorizing keys: [String] = []) throws -> DaemonOptions.Curve {
        let pair = try zmqCurveKeyPair()
        return DaemonOptions.Curve(secretKey: try CurveSecretKey(z85: pair.secretKey),
                                   authorizedKeys: try keys.map { try CurveKey(z85: $0) }, authorizedKeysFile: "test keys")
    }

    @Test("a connecting subscription without server_key under CURVE, or with one but no CURVE, refuses start as a security error")
    func subscriptionKeys() throws {
        var options = DaemonInProcessTests.options(state: TestNetwork.temporaryDirectory())
        options.curve = try Self.curve()
        options.subscriptions = [.init(endpoint: TestNetwork.freeEndpoint())]
        let unauthenticated = #expect(throws: Daemon.StartError.self) {
            try Daemon(options: options, logger: Logger(label: "test")).start()
        }
        #expect(unauthenticated?.code == .security)
        #expect(unauthenticated?.description.contains("has no server_key; with CURVE, vigild makes no unauthenticated connection") == true,
                "\(String(describing: unauthenticated))")

        options = DaemonInProcessTests.options(state: TestNetwork.temporaryDirectory())
        options.subscriptions = [.init(endpoint: TestNetwork.freeEndpoint(), serverKey: try CurveKey(z85: try zmqCurveKeyPair().publicKey))]
        let keyless = #expect(throws: Daemon.StartError.self) {
            try Daemon(options: options, logger: Logger(label: "test")).start()
        }
        #expect(keyless?.code == .security, "\(String(describing: keyless))")
        #expect(keyless?.description.contains("has a server_key but the daemon has no key pair") == true)
    }

    @Test("the bound endpoints are the CURVE servers and the auth failure labels; a daemon without CURVE has no keys to replace")
    func endpointsAndReload() throws {
        var options = DaemonInProcessTests.options(state: TestNetwork.temporaryDirectory())
        let bound = TestNetwork.freeEndpoint()
        options.subscriptions = [.init(endpoint: bound, bind: true), .init(endpoint: TestNetwork.freeEndpoint())]
        #expect(options.boundEndpoints == options.ingestEndpoints + [bound, options.publishEndpoint, options.historyEndpoint])

        let plain = try Daemon(options: DaemonInProcessTests.options(state: TestNetwork.temporaryDirectory()), logger: Logger(label: "test"))
        #expect(plain.replaceAuthorizedKeys([], from: "x") == false)

        let client = try zmqCurveKeyPair()
        var secured = DaemonInProcessTests.options(state: TestNetwork.temporaryDirectory())
        secured.curve = try Self.curve(authorizing: [client.publicKey])
        let daemon = try Daemon(options: secured, logger: Logger(label: "test"))
        try daemon.start()
        defer { daemon.stop() }
        let port = Int(secured.metricsListen!.split(separator: ":").last!)!
        let metrics = TestNetwork.httpGet(port: port, path: "/metrics")?.body ?? ""
        for endpoint in secured.boundEndpoints {
            #expect(metrics.contains("vigil_auth_failures_total{endpoint=\"\(endpoint)\"} 0"), "\(endpoint)")
        }
        #expect(metrics.contains("vigil_auth_authorized_keys 1"))
        #expect(daemon.replaceAuthorizedKeys([], from: "emptied"))
        #expect(TestNetwork.httpGet(port: port, path: "/metrics")?.body.contains("vigil_auth_authorized_keys 0") == true)
    }
}
