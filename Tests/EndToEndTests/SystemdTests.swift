// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilTestKit
#if canImport(Glibc)
import Glibc
#endif

/// A unix datagram socket standing in for systemd's `$NOTIFY_SOCKET`.
final class NotifySocket {
    let path: String
    let fd: Int32

    init() {
        path = TestNetwork.temporaryDirectory("notify") + "/notify.sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd); unlink(path) }

    /// Notifications received within `seconds` until one contains `until`.
    func read(seconds: Double, until: String) -> [String] {
        var got: [String] = []
        let deadline = Date().addingTimeInterval(seconds)
        var buf = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let n = recv(fd, &buf, buf.count, 0)
            if n > 0 {
                let text = String(decoding: buf[0..<n], as: UTF8.self)
                got.append(text)
                if text.contains(until) { break }
            }
        }
        return got
    }
}

@Suite("systemd integration", .serialized)
struct SystemdTests {
    @Test("Type=notify: READY, WATCHDOG, RELOADING on SIGHUP, STOPPING on SIGTERM")
    func notify() throws {
        let notify = NotifySocket()
        let daemon = try VigildProcess(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"])
        try daemon.launch()
        let ready = notify.read(seconds: 10, until: "READY=1")
        #expect(ready.contains { $0.contains("READY=1") && $0.contains("STATUS=") }, "\(ready)")
        let pings = notify.read(seconds: 2, until: "WATCHDOG=1")
        #expect(pings.contains("WATCHDOG=1"))
        kill(daemon.process.processIdentifier, SIGHUP)
        let reload = notify.read(seconds: 5, until: "READY=1")
        #expect(reload.contains("RELOADING=1"), "\(reload)")
        #expect(daemon.logText.contains("configuration reloaded") || TestNetwork.waitUntil(seconds: 2) { daemon.logText.contains("configuration reloaded") })
        kill(daemon.process.processIdentifier, SIGTERM)
        let stopping = notify.read(seconds: 5, until: "STOPPING=1")
        #expect(stopping.contains { $0.contains("STOPPING=1") })
        daemon.process.waitUntilExit()
        #expect(daemon.process.terminationStatus == 0)
    }

    @Test("a reload with a broken config keeps the running configuration")
    func badReload() throws {
        let daemon = try VigildProcess()
        try daemon.start()
        try "detectors: {zscore: {window: -1}}\n".write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(TestNetwork.waitUntil(seconds: 5) { daemon.logText.contains("reload refused") })
        #expect(daemon.logText.contains("detectors.zscore.window"))
        #expect(TestNetwork.httpGet(port: daemon.metricsPort, path: "/readyz")?.status == 200, "still running")
        #expect(daemon.stop() == 0)
    }

    @Test("the unit is hardened: systemd-analyze rates it OK or better",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")))
    func hardening() throws {
        let unit = packageRoot.appendingPathComponent("systemd/vigild.service").path
        let result = try runProgram("/usr/bin/systemd-analyze", ["security", "--offline=true", unit])
        let verdict = result.out.split(separator: "\n").last { $0.contains("Overall exposure level") } ?? ""
        #expect(["OK", "SAFE"].contains { verdict.contains($0) }, "\(verdict)")
        let text = try String(contentsOfFile: unit, encoding: .utf8)
        for line in ["Type=notify", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID", "ExecStart=/usr/local/bin/vigild --config"] {
            #expect(text.contains(line), "\(line)")
        }
    }
}
