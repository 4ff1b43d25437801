// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Logging
import Testing
import VigilDaemon
import VigilTestKit

/// A client that sends a request one byte a second (the slow-loris pattern), on its own thread.
final class SlowHTTPClient: @unchecked Sendable {
    let client: TestTCPClient
    let connectedAt = Date()
    private let done = NSLock()
    private var stopped = false
    private var thread: Thread?

    init?(port: Int, request: String = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: yes\r\n\r\n") {
        guard let c = TestTCPClient(port: port) else { return nil }
        client = c
        let bytes = Array(request.utf8)
        thread = Thread { [self] in
            for b in bytes {
                done.lock(); let s = stopped; done.unlock()
                if s || !c.send([b]) { return }
                Thread.sleep(forTimeInterval: 1)
            }
        }
        thread!.start()
    }

    func stop() { done.lock(); stopped = true; done.unlock() }
    deinit { stop() }
}

@Suite("Metrics HTTP cannot be held", .serialized)
struct MetricsHTTPTests {
    static func startDaemon() throws -> (Daemon, Int) {
        let options = DaemonInProcessTests.options(state: TestNetwork.temporaryDirectory())
        let daemon = try Daemon(options: options, logger: Logger(label: "test"))
        try daemon.start()
        return (daemon, Int(options.metricsListen!.split(separator: ":").last!)!)
    }

    @Test("/healthz, /readyz and /metrics answer within 1 s beside a byte-a-second client and 50 idle connections")
    func slowAndIdleClients() throws {
        let (daemon, port) = try Self.startDaemon()
        defer { daemon.stop() }
        let slow = try #require(SlowHTTPClient(port: port))
        defer { slow.stop() }
        let idle = (0..<50).compactMap { _ in TestTCPClient(port: port) }
        #expect(idle.count == 50)
        usleep(300_000)  // the slow client is mid-request, the idle ones are accepted
        for path in ["/healthz", "/readyz", "/metrics", "/healthz"] {
            let answer = TestNetwork.timedGet(port: port, path: path, timeout: 5)
            #expect(answer?.status == 200, "\(path)")
            #expect((answer?.seconds ?? 99) < 1, "\(path) took \(answer?.seconds ?? -1) s")
        }
        // The deadline is per request, not per read: the slow client is answered 408 and closed
        // about 2 s after it connected although it never stopped sending.
        let response = try #require(slow.client.readToEnd(timeout: 5), "the slow client was not closed")
        let elapsed = Date().timeIntervalSince(slow.connectedAt)
        #expect(String(decoding: response, as: UTF8.self).hasPrefix("HTTP/1.1 408"))
        #expect(elapsed < 3.5, "closed after \(elapsed) s")
        // So are the idle connections.
        #expect(idle.allSatisfy { $0.isClosedByServer(within: 3) })
    }

    @Test("stop returns at once with a slow client mid-request and idle clients connected")
    func stopWithSlowClient() throws {
        let (daemon, port) = try Self.startDaemon()
        let slow = try #require(SlowHTTPClient(port: port))
        defer { slow.stop() }
        let idle = (0..<10).compactMap { _ in TestTCPClient(port: port) }
        usleep(1_200_000)  // two bytes in
        let started = Date()
        daemon.stop()
        let took = Date().timeIntervalSince(started)
        #expect(took < 1.5, "stop took \(took) s")
        #expect(slow.client.isClosedByServer(within: 1))
        #expect(idle.allSatisfy { $0.isClosedByServer(within: 1) })
        #expect(TestTCPClient(port: port) == nil, "the listener is closed")
    }

    @Test("malformed, unsupported and oversized requests get their status; valid variants are served", arguments: [
        ("GARBAGE\r\n\r\n", 400),
        ("GET /metrics\r\n\r\n", 400),
        ("GET metrics HTTP/1.1\r\n\r\n", 400),
        ("GET  /healthz HTTP/1.1\r\n\r\n", 400),
        ("GET /healthz HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        ("GET /healthz HTTP/1.1\r\n folded: header\r\n\r\n", 400),
        ("GET /healthz HTTP/2.0\r\n\r\n", 505),
        ("GET /healthz XTTP/1.1\r\n\r\n", 400),
        ("POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 413),
        ("GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 413),
        ("DELETE /metrics HTTP/1.1\r\n\r\n", 405),
        ("GET /healthz HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 9000) + "\r\n\r\n", 431),
        ("GET /nope HTTP/1.1\r\n\r\n", 404),
        ("GET /healthz?verbose=1 HTTP/1.0\r\n\r\n", 200),
        ("\r\nGET /healthz HTTP/1.1\nHost: x\n\n", 200),
        ("GET /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 200),
    ])
    func statuses(_ request: String, _ status: Int) throws {
        let (daemon, port) = try Self.startDaemon()
        defer { daemon.stop() }
        let client = try #require(TestTCPClient(port: port))
        client.send(request)
        let response = String(decoding: try #require(client.readToEnd(timeout: 3)), as: UTF8.self)
        #expect(response.hasPrefix("HTTP/1.1 \(status) "), "\(response.prefix(80))")
        #expect(response.contains("Connection: close\r\n"))
        if status == 405 { #expect(response.contains("Allow: GET, HEAD\r\n")) }
        #expect(TestNetwork.timedGet(port: port, path: "/healthz")?.status == 200, "still serving")
    }

    @Test("HEAD answers the headers of GET without the body")
    func head() throws {
        let (daemon, port) = try Self.startDaemon()
        defer { daemon.stop() }
        let client = try #require(TestTCPClient(port: port))
        client.send("HEAD /healthz HTTP/1.1\r\n\r\n")
        let response = String(decoding: try #require(client.readToEnd(timeout: 3)), as: UTF8.self)
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.contains("Content-Length: 3\r\n"))
        #expect(response.hasSuffix("\r\n\r\n"))
    }

    @Test("a megabyte without a line end is refused after 8 KiB, and the server keeps serving")
    func oversizedStream() throws {
        let (daemon, port) = try Self.startDaemon()
        defer { daemon.stop() }
        let client = try #require(TestTCPClient(port: port))
        client.send([UInt8](repeating: UInt8(ascii: "A"), count: 1 << 20))  // fails part-way once refused
        let response = try #require(client.readToEnd(timeout: 3), "the connection was not closed")
        let text = String(decoding: response, as: UTF8.self)
        // The 431 may be lost to the reset that closing with unread input causes; never a 200.
        #expect(text.isEmpty || text.hasPrefix("HTTP/1.1 431 "), "\(text.prefix(80))")
        #expect(TestNetwork.timedGet(port: port, path: "/healthz")?.status == 200)
    }

    @Test("beyond the connection limit the oldest idle connections are dropped, never the new probe")
    func idleFlood() throws {
        let (daemon, port) = try Self.startDaemon()
        defer { daemon.stop() }
        var idle: [TestTCPClient] = []
        for _ in 0..<100 {
            if let c = TestTCPClient(port: port) { idle.append(c) }
            usleep(2000)  // accepted in order
        }
        #expect(idle.count == 100)
        let answer = TestNetwork.timedGet(port: port, path: "/healthz", timeout: 5)
        #expect(answer?.status == 200)
        #expect((answer?.seconds ?? 99) < 1)
        // The limit is 64: the first 37 (36 for the flood, one for the probe) were closed at once.
        usleep(300_000)
        let closed = idle.map { $0.isClosedByServer(within: 0) }
        #expect(closed.prefix(30).allSatisfy { $0 }, "oldest dropped: \(closed.prefix(40))")
        #expect(closed.suffix(50).allSatisfy { !$0 }, "newest kept: \(closed.suffix(50))")
    }
}
