// SPDX-License-Identifier: GPL-3.0-or-later
#if canImport(Glibc)
import Glibc
#endif

/// The systemd notify protocol without libsystemd: datagrams to `$NOTIFY_SOCKET`
/// (`READY=1`, `STATUS=…`, `WATCHDOG=1`, `RELOADING=1`, `STOPPING=1`).
/// Does nothing when not started by systemd. Any thread may call it.
public struct SystemdNotifier: Sendable {
    private let path: String?

    public init(environment: [String: String]) {
        path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether `$NOTIFY_SOCKET` was set.
    public var isActive: Bool { path != nil }

    /// The watchdog interval systemd asks for (`$WATCHDOG_USEC`), if any, in microseconds.
    public static func watchdogMicroseconds(environment: [String: String]) -> UInt64? {
        guard let v = environment["WATCHDOG_USEC"].flatMap(UInt64.init), v > 0 else { return nil }
        if let pid = environment["WATCHDOG_PID"].flatMap(Int32.init), pid != getpid() { return nil }
        return v
    }

    /// Sends one notification (several `KEY=value` lines). Returns whether it was sent. Never
    /// blocks: when the receiver's queue is full the notification is dropped (the next one
    /// follows within half a watchdog interval).
    @discardableResult
    public func notify(_ state: String) -> Bool {
        guard let path else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract namespace
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        let sent = state.withCString { text in
            withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, text, strlen(text), Int32(MSG_DONTWAIT | MSG_NOSIGNAL), $0, length)
                }
            }
        }
        return sent >= 0
    }
}
