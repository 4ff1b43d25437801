// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilTestKit
import ZeroMQ

/// CURVE, ZAP and socket monitors over real loopback sockets, with a ZAP handler on a thread of
/// its own as the daemon runs it.
@Suite("CURVE, ZAP and monitors over 127.0.0.1", .enabled(if: zmqHasCurve))
struct CurveTests {
    /// A ZAP handler admitting the public keys of `allowedSecretKeys`, recording each request.
    final class TestZAPHandler: @unchecked Sendable {
        private let socket: ZMQSocket
        private let allowedPublic: Set<String>
        private let lock = NSLock()
        private var seen: [ZAPRequest] = []
        private var stopped = false
        private var thread: Thread?

        init(context: ZMQContext, allowedSecretKeys: [String]) throws {
            socket = try ZMQSocket(context: context, type: .rep)
            try socket.bind(ZAPEndpoint)
            try socket.setReceiveTimeout(50)
            allowedPublic = Set(try allowedSecretKeys.map { try zmqCurvePublicKey(secretKey: $0) })
            thread = Thread { [self] in
                while !isStopped {
                    guard let frames = try? socket.receiveMultipart() else { continue }
                    let request = ZAPRequest(frames: frames)
                    lock.lock(); if let request { seen.append(request) }; lock.unlock()
                    let key = request?.curvePublicKey.map { Z85.encode($0) }
                    let ok = key.map(allowedPublic.contains) ?? false
                    _ = try? socket.send(multipart: request?.reply(status: ok ? 200 : 400, text: ok ? "OK" : "no")
                        ?? ZAPRequest.errorReply(to: frames, text: "bad"))
                }
                socket.close()
            }
            thread!.start()
        }

        private var isStopped: Bool { lock.lock(); defer { lock.unlock() }; return stopped }
        var requests: [ZAPRequest] { lock.lock(); defer { lock.unlock() }; return seen }
        func stop() { lock.lock(); stopped = true; lock.unlock(); usleep(150_000) }
    }

    @Test("zmq_curve_public derives the public key of a pair; a malformed secret key is EINVAL")
    func publicFromSecret() throws {
        let pair = try zmqCurveKeyPair()
        #expect(try zmqCurvePublicKey(secretKey: pair.secretKey) == pair.publicKey)
        let bad = #expect(throws: ZMQError.self) { try zmqCurvePublicKey(secretKey: "too short") }
        #expect(bad?.code == EINVAL)
        let notZ85 = #expect(throws: ZMQError.self) { try zmqCurvePublicKey(secretKey: String(repeating: " ", count: 40)) }
        #expect(notZ85?.code == EINVAL)
    }

    @Test("a CURVE server with a ZAP handler: the authorized client gets through, an unknown key is refused (400), a plain client meets a mechanism mismatch, a wrong server key closes the handshake")
    func zapAndMonitors() throws {
        let context = try ZMQContext()
        let server = try zmqCurveKeyPair(), client = try zmqCurveKeyPair(), stranger = try zmqCurveKeyPair()
        let zap = try TestZAPHandler(context: context, allowedSecretKeys: [client.secretKey])
        defer { zap.stop() }
        let pull = try ZMQSocket(context: context, type: .pull)
        try pull.makeCurveServer(secretKey: server.secretKey)
        try pull.setZAPDomain("test/ingest")
        #expect(pull.usesCurve)
        try pull.bind("tcp://127.0.0.1:*")
        try pull.setReceiveTimeout(3000)
        let endpoint = pull.lastEndpoint
        // Our clients live in a context of their own, as another process's would.
        let clients = try ZMQContext()

        func connect(_ keys: (serverKey: String, pair: (publicKey: String, secretKey: String))?) throws -> (ZMQSocket, ZMQMonitor) {
            let push = try ZMQSocket(context: clients, type: .push, lingerMilliseconds: 0)
            if let keys {
                try push.makeCurveClient(serverKey: keys.serverKey, publicKey: keys.pair.publicKey, secretKey: keys.pair.secretKey)
            }
            let monitor = try ZMQMonitor(monitoring: push, context: clients, events: ZMQSocketEvents.handshakes.union(.connected))
            try push.connect(endpoint)
            return (push, monitor)
        }

        let (good, goodMonitor) = try connect((server.publicKey, client))
        #expect(try goodMonitor.awaitHandshake(timeoutMilliseconds: 10_000) == .succeeded)
        try good.send("authorized")
        #expect(try pull.receiveFrame()?.bytes == Array("authorized".utf8))
        let admitted = try #require(zap.requests.first)
        #expect(admitted.domain == "test/ingest" && admitted.mechanism == "CURVE" && admitted.address == "127.0.0.1")
        #expect(admitted.curvePublicKey?.count == 32)

        let (bad, badMonitor) = try connect((server.publicKey, stranger))
        #expect(try badMonitor.awaitHandshake(timeoutMilliseconds: 10_000) == .refused(status: 400))
        try bad.send("stranger", dontWait: true)

        let (plain, plainMonitor) = try connect(nil)
        // The mismatch event may follow the disconnect by more than a second on a loaded machine
        // (a CI run saw it late): the waits are hang guards, returned from as soon as it comes.
        let plainOutcome = try plainMonitor.awaitHandshake(timeoutMilliseconds: 10_000, detailMilliseconds: 5000)
        #expect(plainOutcome == .protocolError(.mechanismMismatch), "\(plainOutcome)")
        try plain.send("plain", dontWait: true)

        let (wrong, wrongMonitor) = try connect((stranger.publicKey, client))
        #expect(try wrongMonitor.awaitHandshake(timeoutMilliseconds: 3000) == .closedDuringHandshake)
        try wrong.send("wrong server key", dontWait: true)

        // None of the refused clients' messages arrive; the authorized one still works.
        try good.send("still authorized")
        #expect(try pull.receiveFrame()?.bytes == Array("still authorized".utf8))
        try pull.setReceiveTimeout(300)
        #expect(try pull.receiveFrame() == nil)
        #expect(zap.requests.count >= 2, "the stranger's key was asked about")
        for m in [goodMonitor, badMonitor, plainMonitor, wrongMonitor] { m.close() }
        for s in [good, bad, plain, wrong] { s.close() }
    }

    @Test("with nothing listening, the handshake times out unconnected")
    func nobodyThere() throws {
        let context = try ZMQContext()
        let push = try ZMQSocket(context: context, type: .push, lingerMilliseconds: 0)
        let monitor = try ZMQMonitor(monitoring: push, context: context, events: ZMQSocketEvents.handshakes.union(.connected))
        try push.connect(TestNetwork.freeEndpoint())
        #expect(try monitor.awaitHandshake(timeoutMilliseconds: 300) == .timedOut(connected: false))
        monitor.close()
    }

    @Test("a ZAP request is parsed from its frames and answered with its request id")
    func zapFrames() throws {
        let key = [UInt8](repeating: 7, count: 32)
        let frames: [[UInt8]] = [Array("1.0".utf8), Array("42".utf8), Array("vigil/0".utf8), Array("10.0.0.5".utf8), [], Array("CURVE".utf8), key]
        let request = try #require(ZAPRequest(frames: frames))
        #expect(request.requestID == Array("42".utf8) && request.domain == "vigil/0" && request.address == "10.0.0.5")
        #expect(request.curvePublicKey == key)
        #expect(request.reply(status: 400, text: "no") == [Array("1.0".utf8), Array("42".utf8), Array("400".utf8), Array("no".utf8), [], []])
        #expect(ZAPRequest(frames: Array(frames.prefix(5))) == nil)
        #expect(ZAPRequest(frames: [Array("2.0".utf8)] + frames.dropFirst()) == nil)
        var plain = frames
        plain[5] = Array("NULL".utf8)
        #expect(ZAPRequest(frames: Array(plain.prefix(6)))?.curvePublicKey == nil)
    }
}
