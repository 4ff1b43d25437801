// SPDX-License-Identifier: GPL-3.0-or-later
import Logging
import Synchronization
import VigilPipeline
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 server for `/metrics` (Prometheus text), `/healthz` and `/readyz`, on its
/// own thread. It answers one short request per connection, which is all scrapers and probes
/// need; it is not a general web server.
final class MetricsServer: @unchecked Sendable {
    struct BindError: Error, CustomStringConvertible {
        var address: String
        var reason: String
        var description: String { "metrics: cannot listen on \(address): \(reason)" }
    }

    private let address: String
    private let logger: Logger
    private let respond: @Sendable (String) -> (status: Int, contentType: String, body: String)
    private var listener: Int32 = -1
    private var thread: StageThread?
    private let stopping = Atomic<Bool>(false)

    init(address: String, logger: Logger, respond: @escaping @Sendable (String) -> (status: Int, contentType: String, body: String)) {
        self.address = address
        self.logger = logger
        self.respond = respond
    }

    /// Parses `host:port` and listens (IPv4).
    func open() throws {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            throw BindError(address: address, reason: "expected host:port")
        }
        var host = String(address[..<colon])
        if host.isEmpty || host == "localhost" { host = "127.0.0.1" }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BindError(address: address, reason: String(cString: strerror(errno))) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            close(fd)
            throw BindError(address: address, reason: "not an IPv4 address: \(host)")
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0, listen(fd, 64) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw BindError(address: address, reason: reason)
        }
        listener = fd
    }

    func start() {
        thread = StageThread(name: "vigil-metrics") { [self] in self.run() }
    }

    func stop() { stopping.store(true, ordering: .releasing) }

    func join() {
        thread?.join()
        thread = nil
        if listener >= 0 { close(listener); listener = -1 }
    }

    private func run() {
        while !stopping.load(ordering: .acquiring) {
            var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 200) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            handle(client)
            close(client)
        }
    }

    private func handle(_ fd: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while request.count < 16_384 {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            request += buf[0..<n]
            if request.count >= 4, request.suffix(4) == [13, 10, 13, 10] { break }
        }
        let line = String(decoding: request.prefix(while: { $0 != 13 && $0 != 10 }), as: UTF8.self)
        let parts = line.split(separator: " ")
        let status: Int
        let type: String
        let body: String
        if parts.count >= 2, parts[0] == "GET" || parts[0] == "HEAD" {
            let path = String(parts[1].split(separator: "?", maxSplits: 1).first ?? "")
            (status, type, body) = respond(path)
        } else {
            (status, type, body) = (405, "text/plain", "method not allowed\n")
        }
        let reason = [200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"][status] ?? "OK"
        let sendBody = parts.first != "HEAD"
        let payload = Array(body.utf8)
        var response = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(type)\r\nContent-Length: \(payload.count)\r\nConnection: close\r\n\r\n"
        if sendBody { response += body }
        let bytes = Array(response.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + sent, $0.count - sent) }
            if n <= 0 { break }
            sent += n
        }
    }
}
