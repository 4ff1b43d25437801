// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Helpers for tests that talk to real sockets on 127.0.0.1.
public enum TestNetwork {
    /// Ports `freePort` has handed out in this process: the kernel may offer a just-released
    /// port again, and two endpoints of one daemon must not get the same one.
    nonisolated(unsafe) private static var handedOut: Set<Int> = []
    private static let handedOutLock = NSLock()

    /// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released), and
    /// not handed out before by this process.
    public static func freePort() -> Int {
        while true {
            let port = anyFreePort()
            handedOutLock.lock()
            let fresh = handedOut.insert(port).inserted
            handedOutLock.unlock()
            if fresh { return port }
        }
    }

    private static func anyFreePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// `tcp://127.0.0.1:<free port>`.
    public static func freeEndpoint() -> String { "tcp://127.0.0.1:\(freePort())" }

    /// A fresh temporary directory.
    public static func temporaryDirectory(_ prefix: String = "vigil-test") -> String {
        let path = NSTemporaryDirectory() + "\(prefix)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A blocking HTTP GET against 127.0.0.1; returns status and body, nil when unreachable.
    public static func httpGet(port: Int, path: String) -> (status: Int, body: String)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { return nil }
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        _ = request.withCString { write(fd, $0, strlen($0)) }
        var response: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            response += buf[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let statusLine = text.split(separator: "\r\n").first,
              let status = Int(statusLine.split(separator: " ").dropFirst().first ?? ""),
              let split = text.range(of: "\r\n\r\n") else { return nil }
        return (status, String(text[split.upperBound...]))
    }

    /// One `GET path` with a deadline: status, body and how long the answer took; nil when the
    /// server cannot be reached or does not answer within `timeout` seconds.
    public static func timedGet(port: Int, path: String, timeout: Double = 5) -> (status: Int, body: String, seconds: Double)? {
        let started = Date()
        guard let client = TestTCPClient(port: port) else { return nil }
        client.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        guard let response = client.readToEnd(timeout: timeout) else { return nil }
        let text = String(decoding: response, as: UTF8.self)
        guard let statusLine = text.split(separator: "\r\n").first,
              let status = Int(statusLine.split(separator: " ").dropFirst().first ?? ""),
              let split = text.range(of: "\r\n\r\n") else { return nil }
        return (status, String(text[split.upperBound...]), Date().timeIntervalSince(started))
    }

    /// Polls `condition` every 20 ms until it holds or `seconds` pass; returns whether it held.
    public static func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }
}


/// A raw TCP client on 127.0.0.1 for tests that play misbehaving peers (slow, idle, malformed).
/// Every read has a deadline, so a test never hangs on a server that does not answer.
///
/// Threading: one thread at a time.
public final class TestTCPClient: @unchecked Sendable {
    /// The socket, -1 once closed.
    public private(set) var fd: Int32

    /// Connects to `127.0.0.1:port`; nil when the connection is refused.
    public init?(port: Int) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            Glibc.close(fd)
            return nil
        }
    }

    deinit { close() }

    /// Sends `text` (ignoring a peer that went away); returns whether all of it was written.
    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Sends `bytes`; returns whether all of them were written.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    /// Reads until the server closes the connection; nil if it has not within `timeout` seconds
    /// (0: only what is already there).
    public func readToEnd(timeout: Double) -> [UInt8]? {
        let deadline = Date().addingTimeInterval(timeout)
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65_536)
        while true {
            let left = deadline.timeIntervalSinceNow
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, max(0, Int32(left * 1000))) > 0 else {
                if left <= 0 { return nil }
                continue
            }
            let n = read(fd, &buf, buf.count)
            if n > 0 { out += buf[0..<n]; continue }
            return out  // closed (0) or reset (-1): the connection is over
        }
    }

    /// Whether the server closed the connection within `timeout` seconds (what it sent before
    /// is discarded).
    public func isClosedByServer(within timeout: Double) -> Bool { readToEnd(timeout: timeout) != nil }

    /// Closes the socket. Idempotent.
    public func close() {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }
}
