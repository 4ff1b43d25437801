// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Logging
import Testing
import VigilCore
import VigilDaemon
import VigilDetectors
import VigilPipeline
import VigilTestKit
import ZeroMQ

/// Log messages kept in memory (a `LogHandler` for tests that check what the daemon says).
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    var messages: [String] { lock.lock(); defer { lock.unlock() }; return lines }

    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }

    var logger: Logger {
        Logger(label: "test") { _ in Handler(capture: self) }
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            capture.append("\(event.level) \(event.message) \(fields)")
        }
    }
}

/// A gate a thread waits at until the test opens it.
final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var open = false
    func wait() {
        condition.lock()
        while !open { condition.wait() }
        condition.unlock()
    }
    func release() {
        condition.lock()
        open = true
        condition.broadcast()
        condition.unlock()
    }
}

@Suite("The systemd watchdog follows the stages", .serialized)
struct WatchdogTests {
    @Test("a worker stuck in a call stops the watchdog pings and is named in the log, /healthz and /metrics; pings resume when it moves again")
    func stuckWorker() throws {
        let gate = Gate()
        var options = DaemonInProcessTests.options(state: TestNetwork.temporaryDirectory("watchdog"))
        options.stallLimit = .seconds(1)
        let base = options.settings
        options.settings = { name in
            if name == "stall/me" { gate.wait() }  // the worker resolving this sensor's settings blocks
            return base(name)
        }
        let notify = NotifySocket()
        let capture = LogCapture()
        let daemon = try Daemon(options: options, logger: capture.logger,
                                environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"])
        try daemon.start()
        defer { gate.release(); daemon.stop() }
        let port = Int(options.metricsListen!.split(separator: ":").last!)!
        _ = notify.read(seconds: 0.3, until: "READY=1")
        for _ in 0..<4 {
            #expect(daemon.watchdogTick().isEmpty)
            usleep(100_000)
        }
        #expect(notify.read(seconds: 0.5, until: "WATCHDOG=1").contains("WATCHDOG=1"), "pings while every stage moves")

        let context = try ZMQContext()
        let push = try ZMQSocket(context: context, type: .push, lingerMilliseconds: 1000)
        try push.connect(options.ingestEndpoints[0])
        try push.send(IngestEncoder.json(sensor: "stall/me", ts: 1, value: 1))
        push.close()
        var stalls: [StageWatchdog.Stall] = []
        #expect(TestNetwork.waitUntil(seconds: 5) {
            stalls = daemon.watchdogTick()
            return !stalls.isEmpty
        })
        #expect(stalls.count == 1 && stalls.first?.name.hasPrefix("vigil-worker") == true, "\(stalls)")
        let stuck = stalls.first?.name ?? "?"
        _ = notify.read(seconds: 0.2, until: "never")  // what was sent before
        for _ in 0..<4 {
            daemon.watchdogTick()
            usleep(100_000)
        }
        let withheld = notify.read(seconds: 0.3, until: "never")
        #expect(!withheld.contains("WATCHDOG=1"), "no ping while \(stuck) is stuck: \(withheld)")
        #expect(withheld.contains { $0.contains("STATUS=stalled: \(stuck)") })
        let health = TestNetwork.httpGet(port: port, path: "/healthz")
        #expect(health?.status == 503 && health?.body.contains(stuck) == true, "\(String(describing: health))")
        #expect(TestNetwork.httpGet(port: port, path: "/metrics")?.body.contains("vigil_stage_stalled{thread=\"\(stuck)\"} 1") == true)
        #expect(capture.messages.filter { $0.contains("stage thread \(stuck) has made no progress") }.count == 1, "logged once: \(capture.messages)")

        gate.release()
        #expect(TestNetwork.waitUntil(seconds: 5) { daemon.watchdogTick().isEmpty })
        #expect(notify.read(seconds: 1, until: "WATCHDOG=1").contains("WATCHDOG=1"), "pings again")
        #expect(TestNetwork.httpGet(port: port, path: "/healthz")?.status == 200)
        #expect(capture.messages.contains { $0.contains("stage thread \(stuck) is making progress again") })
    }
}
