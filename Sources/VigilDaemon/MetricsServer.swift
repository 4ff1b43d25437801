// SPDX-License-Identifier: GPL-3.0-or-later
import Logging
import Synchronization
import VigilCore
import VigilPipeline
#if canImport(Glibc)
import Glibc
#endif

/// A small HTTP/1.1 server for `/metrics` (Prometheus text), `/healthz` and `/readyz` that no
/// client can hold: one thread multiplexes every connection with `poll(2)` over non-blocking
/// sockets, so a slow or idle client never delays another.
///
/// - Each connection must deliver its whole request head within `Limits.requestTimeout` of being
///   accepted (a total, not per read; a client sending a byte a second gets 408 and is closed),
///   and take its response within `Limits.writeTimeout`.
/// - At most `Limits.maxConnections` are open; a new connection beyond that closes the oldest one
///   still sending its request (so an idle flood cannot lock probes out).
/// - A head larger than `Limits.maxRequestBytes` gets 431, a malformed one 400, a body 413, a
///   method other than GET and HEAD 405, another HTTP version 505. One request per connection
///   (`Connection: close`), which is all scrapers and probes need; it is not a general web server.
/// - `requestStop()` wakes the thread through a pipe: it closes every connection and returns at once,
///   whatever the clients are doing.
///
/// Threading: `open`, `start` and `join` from the owning thread; `requestStop` from any thread;
/// `respond` is called on the server thread, one request at a time.
final class MetricsServer: Stage, @unchecked Sendable {
    let name = "metrics"
    private let heartbeat = Heartbeat(name: "vigil-metrics")
    var heartbeats: [Heartbeat] { [heartbeat] }
    /// A listening address that could not be used.
    struct BindError: Error, CustomStringConvertible {
        var address: String
        var reason: String
        var description: String { "metrics: cannot listen on \(address): \(reason)" }
    }

    /// Bounds that keep any client from holding the server.
    struct Limits: Sendable {
        /// Seconds from accept to a complete request head.
        var requestTimeout: Double = 2
        /// Seconds to send the response once it is ready.
        var writeTimeout: Double = 5
        /// Connections open at once.
        var maxConnections: Int = 64
        /// Largest request head in bytes.
        var maxRequestBytes: Int = 8192
    }

    /// What the server answers for a path.
    typealias Response = (status: Int, contentType: String, body: String)

    private let address: String
    private let limits: Limits
    private let logger: Logger
    private let respond: @Sendable (String) -> Response
    private var listener: Int32 = -1
    private var wake: (read: Int32, write: Int32) = (-1, -1)
    private var thread: StageThread?
    private let stopping = Atomic<Bool>(false)

    init(address: String, limits: Limits = Limits(), logger: Logger, respond: @escaping @Sendable (String) -> Response) {
        self.address = address
        self.limits = limits
        self.logger = logger
        self.respond = respond
    }

    /// Parses `host:port` (`[v6]:port` for IPv6) and listens, non-blocking.
    func open() throws {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            throw BindError(address: address, reason: "expected host:port")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty || host == "localhost" { host = "127.0.0.1" }
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw BindError(address: address, reason: String(cString: strerror(errno))) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var rc: Int32
        if v6 {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &addr.sin6_addr) == 1 else {
                close(fd)
                throw BindError(address: address, reason: "not an IPv6 address: \(host)")
            }
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
                close(fd)
                throw BindError(address: address, reason: "not an IPv4 address: \(host)")
            }
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard rc == 0, listen(fd, 128) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw BindError(address: address, reason: reason)
        }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw BindError(address: address, reason: "pipe: \(reason)")
        }
        for p in fds {
            _ = fcntl(p, F_SETFL, fcntl(p, F_GETFL) | O_NONBLOCK)
            _ = fcntl(p, F_SETFD, FD_CLOEXEC)
        }
        wake = (fds[0], fds[1])
        listener = fd
    }

    func start() {
        thread = StageThread(name: "vigil-metrics") { [self] in self.run() }
    }

    /// Makes the server thread close every connection and return now. Any thread.
    func requestStop() {
        stopping.store(true, ordering: .releasing)
        if wake.write >= 0 {
            var byte: UInt8 = 1
            _ = write(wake.write, &byte, 1)
        }
    }

    func join() {
        thread?.join()
        thread = nil
        for fd in [listener, wake.read, wake.write] where fd >= 0 { close(fd) }
        listener = -1
        wake = (-1, -1)
    }

    // MARK: The loop

    /// One client connection: reading its request head, then writing the response.
    private struct Connection {
        var fd: Int32
        var accepted: UInt64
        var deadline: UInt64
        var input: [UInt8] = []
        var output: [UInt8] = []
        var sent = 0
        var writing = false
        var closed = false
    }

    private func run() {
        var connections: [Connection] = []
        var fds: [pollfd] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !stopping.load(ordering: .acquiring) {
            heartbeat.beat()
            fds.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0))
            fds.append(pollfd(fd: listener, events: Int16(POLLIN), revents: 0))
            for c in connections {
                fds.append(pollfd(fd: c.fd, events: Int16(c.writing ? POLLOUT : POLLIN), revents: 0))
            }
            var now = SystemTime.monotonicNanoseconds()
            let nearest = connections.map(\.deadline).min().map { $0 > now ? ($0 - now) / 1_000_000 + 1 : 0 } ?? 1000
            let rc = poll(&fds, nfds_t(fds.count), Int32(min(nearest, 1000)))
            if stopping.load(ordering: .acquiring) { break }
            if rc < 0 && errno != EINTR {
                logger.error("metrics: poll: \(String(cString: strerror(errno)))")
                usleep(10_000)
                continue
            }
            if fds[0].revents != 0 { while read(wake.read, &buffer, buffer.count) > 0 {} }
            now = SystemTime.monotonicNanoseconds()
            for k in connections.indices {
                let revents = fds[k + 2].revents
                if revents != 0 { service(&connections[k], revents: revents, buffer: &buffer, now: now) }
                if !connections[k].closed, now >= connections[k].deadline { expire(&connections[k]) }
            }
            connections.removeAll(where: \.closed)
            if fds[1].revents & Int16(POLLIN) != 0 { acceptAll(&connections, now: now) }
        }
        for c in connections where !c.closed { close(c.fd) }
    }

    /// Accepts every pending connection; at the limit, each new one closes the oldest that is
    /// still sending its request (or is refused when every open one is being answered).
    private func acceptAll(_ connections: inout [Connection], now: UInt64) {
        while true {
            let fd = accept(listener, nil, nil)
            if fd >= 0 {
                // accept4 is a GNU extension Swift does not import; the window between accept and
                // fcntl does not matter here (no fork/exec happens in the daemon).
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if errno != EAGAIN && errno != EWOULDBLOCK { logger.warning("metrics: accept: \(String(cString: strerror(errno)))") }
                return
            }
            if connections.count >= limits.maxConnections {
                let oldest = connections.indices.filter { !connections[$0].writing }
                    .min { connections[$0].accepted < connections[$1].accepted }
                guard let oldest else {
                    close(fd)
                    continue
                }
                close(connections[oldest].fd)
                connections.remove(at: oldest)
            }
            connections.append(Connection(fd: fd, accepted: now, deadline: now + Self.nanoseconds(limits.requestTimeout)))
        }
    }

    private func service(_ c: inout Connection, revents: Int16, buffer: inout [UInt8], now: UInt64) {
        if c.writing {
            flush(&c)
            return
        }
        while true {
            let n = read(c.fd, &buffer, buffer.count)
            if n > 0 {
                c.input.append(contentsOf: buffer[0..<n])
                if let response = Self.response(to: c.input, maxRequestBytes: limits.maxRequestBytes, respond: respond) {
                    c.output = response
                    c.writing = true
                    c.deadline = now + Self.nanoseconds(limits.writeTimeout)
                    flush(&c)
                    return
                }
                continue
            }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            if n < 0 && errno == EINTR { continue }
            // End of stream or an error before a whole request: nothing to answer.
            close(c.fd)
            c.closed = true
            return
        }
    }

    /// Sends as much of the response as the socket takes; closes when all of it went.
    private func flush(_ c: inout Connection) {
        while c.sent < c.output.count {
            let n = c.output.withUnsafeBytes { send(c.fd, $0.baseAddress! + c.sent, $0.count - c.sent, Int32(MSG_NOSIGNAL)) }
            if n > 0 { c.sent += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            break  // the client went away
        }
        shutdown(c.fd, Int32(SHUT_WR))
        close(c.fd)
        c.closed = true
    }

    /// A request head that did not arrive in time gets 408 (best effort); a response that could
    /// not be sent in time is cut.
    private func expire(_ c: inout Connection) {
        if !c.writing {
            c.output = Self.render(408, "text/plain", "request not received within \(limits.requestTimeout) s\n", headOnly: false)
            c.sent = 0
            c.writing = true
            flush(&c)
            if c.closed { return }
        }
        close(c.fd)
        c.closed = true
    }

    private static func nanoseconds(_ seconds: Double) -> UInt64 { UInt64(max(0, seconds) * 1e9) }

    // MARK: HTTP

    /// The whole response to `input` once it holds a complete request head (or is known to be
    /// bad); nil while more bytes are needed.
    static func response(to input: [UInt8], maxRequestBytes: Int, respond: (String) -> Response) -> [UInt8]? {
        // Leading empty lines before the request line are ignored (RFC 9112 §2.2).
        var start = 0
        while start < input.count, input[start] == 13 || input[start] == 10 { start += 1 }
        guard let end = headEnd(input, from: start) else {
            if input.count > maxRequestBytes {
                return render(431, "text/plain", "request head larger than \(maxRequestBytes) bytes\n", headOnly: false)
            }
            return nil
        }
        if end > maxRequestBytes {
            return render(431, "text/plain", "request head larger than \(maxRequestBytes) bytes\n", headOnly: false)
        }
        var lines = input[start..<end].split(separator: 10, omittingEmptySubsequences: false).map { line in
            line.last == 13 ? line.dropLast() : line
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let requestLine = lines.first else { return badRequest("empty request") }
        let parts = requestLine.split(separator: 32, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(isTokenByte),
              parts[1].first == UInt8(ascii: "/"), parts[1].allSatisfy({ $0 > 32 && $0 < 127 }) else {
            return badRequest("malformed request line; expected e.g. GET /metrics HTTP/1.1")
        }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version.hasPrefix("HTTP/") else { return badRequest("malformed request line; expected e.g. GET /metrics HTTP/1.1") }
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            return render(505, "text/plain", "only HTTP/1.0 and HTTP/1.1 are served\n", headOnly: false)
        }
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                  line[line.startIndex..<colon].allSatisfy(isTokenByte) else {
                return badRequest("malformed header line")
            }
            let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self).lowercased()
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingSpaces()
            if name == "transfer-encoding" || (name == "content-length" && value != "0") {
                return render(413, "text/plain", "request bodies are not accepted\n", headOnly: false)
            }
        }
        let method = String(decoding: parts[0], as: UTF8.self)
        guard method == "GET" || method == "HEAD" else {
            return render(405, "text/plain", "method not allowed: use GET or HEAD\n", headOnly: false, extra: "Allow: GET, HEAD\r\n")
        }
        let target = String(decoding: parts[1], as: UTF8.self)
        let path = String(target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        let (status, type, body) = respond(path)
        return render(status, type, body, headOnly: method == "HEAD")
    }

    /// Index just past the blank line ending the head (CRLF CRLF, or bare LF LF), nil if absent.
    private static func headEnd(_ b: [UInt8], from start: Int) -> Int? {
        var i = start
        while i < b.count {
            if b[i] == 10 {
                if i + 1 < b.count, b[i + 1] == 10 { return i + 2 }
                if i + 2 < b.count, b[i + 1] == 13, b[i + 2] == 10 { return i + 3 }
            }
            i += 1
        }
        return nil
    }

    private static func isTokenByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: Array("!#$%&'*+-.^_`|~".utf8).contains(c)
        }
    }

    private static func badRequest(_ why: String) -> [UInt8] {
        render(400, "text/plain", "bad request: \(why)\n", headOnly: false)
    }

    private static let reasons = [
        200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
        413: "Content Too Large", 431: "Request Header Fields Too Large", 503: "Service Unavailable",
        505: "HTTP Version Not Supported",
    ]

    static func render(_ status: Int, _ type: String, _ body: String, headOnly: Bool, extra: String = "") -> [UInt8] {
        let payload = Array(body.utf8)
        var head = "HTTP/1.1 \(status) \(reasons[status] ?? "Status")\r\nContent-Type: \(type)\r\n"
        head += "Content-Length: \(payload.count)\r\nCache-Control: no-store\r\nConnection: close\r\n\(extra)\r\n"
        return Array(head.utf8) + (headOnly ? [] : payload)
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
