// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilTestKit
import ZeroMQ

@Suite("ZeroMQ over 127.0.0.1")
struct ZeroMQTests {
    @Test("PUSH → PULL, multipart, zero-copy receive")
    func pushPull() throws {
        let context = try ZMQContext()
        let pull = try ZMQSocket(context: context, type: .pull)
        try pull.bind("tcp://127.0.0.1:*")
        let endpoint = pull.lastEndpoint
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:") && !endpoint.hasSuffix(":*"))
        let push = try ZMQSocket(context: context, type: .push)
        try push.connect(endpoint)
        try push.send(multipart: [Array("topic".utf8), [1, 2, 3]])
        try pull.setReceiveTimeout(2000)
        let frames = try #require(try pull.receiveMultipart())
        #expect(frames == [Array("topic".utf8), [1, 2, 3]])
        let m = ZMQMessage()
        try push.send("single")
        #expect(try pull.receive(into: m))
        #expect(!m.hasMore && m.withBytes { Array($0) } == Array("single".utf8))
    }

    @Test("receive timeout returns nil, a non-blocking receive returns false")
    func timeouts() throws {
        let context = try ZMQContext()
        let pull = try ZMQSocket(context: context, type: .pull)
        try pull.bind("tcp://127.0.0.1:*")
        try pull.setReceiveTimeout(50)
        #expect(try pull.receiveMultipart() == nil)
        #expect(try pull.receive(into: ZMQMessage(), dontWait: true) == false)
        #expect(try pull.waitReadable(timeoutMilliseconds: 10) == false)
    }

    @Test("PUB → SUB with topic filters")
    func pubSub() throws {
        let context = try ZMQContext()
        let pub = try ZMQSocket(context: context, type: .pub)
        try pub.bind("tcp://127.0.0.1:*")
        let sub = try ZMQSocket(context: context, type: .sub)
        try sub.subscribe("alert/plant1/")
        try sub.setReceiveTimeout(2000)
        try sub.connect(pub.lastEndpoint)
        usleep(200_000)
        try pub.send(multipart: [Array("alert/plant2/x".utf8), Array("no".utf8)])
        try pub.send(multipart: [Array("alert/plant1/x".utf8), Array("yes".utf8)])
        let frames = try #require(try sub.receiveMultipart())
        #expect(frames[1] == Array("yes".utf8))
    }

    @Test("errors carry errno and zmq_strerror")
    func errors() throws {
        let context = try ZMQContext()
        let s = try ZMQSocket(context: context, type: .pull)
        let error = #expect(throws: ZMQError.self) { try s.bind("nonsense://x") }
        #expect(error?.operation.contains("zmq_bind") == true)
        #expect(error?.code == EPROTONOSUPPORT)
        #expect(error?.message.isEmpty == false)
        let a = try ZMQSocket(context: context, type: .pull)
        try a.bind("tcp://127.0.0.1:*")
        let b = try ZMQSocket(context: context, type: .pull)
        let inUse = #expect(throws: ZMQError.self) { try b.bind(a.lastEndpoint) }
        #expect(inUse?.code == EADDRINUSE)
        #expect("\(inUse!)".contains("Address already in use"))
    }

    @Test("ROUTER answers REQ with the envelope kept")
    func routerReq() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        try router.bind("tcp://127.0.0.1:*")
        let req = try ZMQSocket(context: context, type: .req)
        try req.connect(router.lastEndpoint)
        try req.setReceiveTimeout(2000)
        try router.setReceiveTimeout(2000)
        try req.send("ping")
        let request = try #require(try router.receiveMultipart())
        #expect(request.last == Array("ping".utf8))
        try router.send(multipart: Array(request.dropLast()) + [Array("pong".utf8)])
        #expect(try req.receiveFrame()?.bytes == Array("pong".utf8))
    }

    @Test("pyzmq (an independent libzmq) talks to our sockets")
    func pyzmqPeer() throws {
        let context = try ZMQContext()
        let pull = try ZMQSocket(context: context, type: .pull)
        try pull.bind("tcp://127.0.0.1:*")
        try pull.setReceiveTimeout(10_000)
        let script = """
            import zmq, sys
            c = zmq.Context(); s = c.socket(zmq.PUSH); s.setsockopt(zmq.LINGER, 5000)
            s.connect(sys.argv[1]); s.send_multipart([b"topic", b"from python"]); s.close(); c.term()
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, pull.lastEndpoint]
        try p.run()
        let frames = try #require(try pull.receiveMultipart())
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(frames == [Array("topic".utf8), Array("from python".utf8)])
    }

    @Test("CURVE key pairs are 40-character Z85", .enabled(if: zmqHasCurve))
    func curve() throws {
        let pair = try zmqCurveKeyPair()
        #expect(pair.publicKey.count == 40 && pair.secretKey.count == 40)
    }
}
