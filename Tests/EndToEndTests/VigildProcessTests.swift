// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilConfig
import VigilCore
import VigilReplay
import VigilTestKit
import ZeroMQ

/// The package root, found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The directory holding the built `vigild` and `vigil` next to the test bundle.
let binDirectory: URL = {
    if let dir = ProcessInfo.processInfo.environment["VIGIL_BIN_DIR"] { return URL(fileURLWithPath: dir) }
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    // The runner is …/debug/vigilPackageTests.xctest (a file on Linux, a bundle elsewhere).
    while url.pathComponents.count > 1 && !FileManager.default.fileExists(atPath: url.appendingPathComponent("vigild").path) {
        url.deleteLastPathComponent()
    }
    return url
}()

/// A real `vigild` process on free loopback ports with its own state directory.
final class VigildProcess: @unchecked Sendable {
    let process = Process()
    let stderr = Pipe()
    let state: String
    let configPath: String
    let ingest: String
    let publish: String
    let history: String
    let metricsPort: Int
    /// The process's standard error, read by a thread of its own (`OutputCapture`).
    private let output = OutputCapture()

    /// The detectors of most of these tests: a raw z-score with short windows, whose alerts are
    /// easy to predict (the daemon's mechanics are under test, not detection).
    static let zscoreDetectors = """
          surprise: {enabled: false}
          zscore: {enabled: true, window: 64, warmup: 32, threshold: 5, critical: 8}
          alerts: {raise_after: 2, clear_after: 5}
          combine: {enabled: false}
        """

    /// - Parameters:
    ///   - endpointsOf: a previous process whose endpoints and port this one reuses (a restart
    ///     that peers reconnect to).
    ///   - stateYAML: more keys of the `state` section (`checkpoint_interval: 1s`).
    ///   - ingestYAML: more keys of the `ingest` section, indented two spaces (`  drain_timeout: 60s`,
    ///     a `subscribe` list).
    ///   - detectors: the body of the config's `detectors` section (indented two spaces), the
    ///     shipped defaults when empty.
    init(state: String? = nil, endpointsOf other: VigildProcess? = nil, extraYAML: String = "", stateYAML: String = "",
         ingestYAML: String = "", detectors: String = VigildProcess.zscoreDetectors, sendHighWaterMark: Int? = nil,
         environment: [String: String] = [:]) throws {
        self.state = state ?? TestNetwork.temporaryDirectory("vigild")
        ingest = other?.ingest ?? TestNetwork.freeEndpoint()
        publish = other?.publish ?? TestNetwork.freeEndpoint()
        history = other?.history ?? TestNetwork.freeEndpoint()
        metricsPort = other?.metricsPort ?? TestNetwork.freePort()
        configPath = self.state + "/vigil.yaml"
        let yaml = """
            ingest:
              endpoints: [\(ingest)]
            \(ingestYAML)
            publish: {endpoint: \(publish)\(sendHighWaterMark.map { ", send_hwm: \($0)" } ?? "")}
            history: {endpoint: \(history)}
            metrics: {listen: "127.0.0.1:\(metricsPort)"}
            state: {directory: \(self.state)\(stateYAML.isEmpty ? "" : ", " + stateYAML)}
            pipeline: {workers: 2, ring_capacity: 4096}
            detectors:
            \(detectors.isEmpty ? "  {}" : detectors)
            \(extraYAML)
            """
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        process.executableURL = binDirectory.appendingPathComponent("vigild")
        process.arguments = ["--config", configPath]
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
    }

    /// Starts the process and the reader of its standard error, without waiting for it.
    func launch() throws {
        try process.run()
        output.start(reading: stderr)
    }

    /// Starts the process and waits until `/readyz` answers 200.
    func start() throws {
        try launch()
        let ready = TestNetwork.waitUntil(seconds: 20) {
            TestNetwork.httpGet(port: metricsPort, path: "/readyz")?.status == 200 || !process.isRunning
        }
        guard ready, process.isRunning else {
            throw TestFailure("vigild did not become ready:\n\(logText)")
        }
    }

    var logText: String {
        output.text
    }

    /// A metric's value from `/metrics` (first line starting with `name`).
    func metric(_ name: String) -> Double? {
        guard let body = TestNetwork.httpGet(port: metricsPort, path: "/metrics")?.body else { return nil }
        for line in body.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ").last!)
        }
        return nil
    }

    /// Lines of the log that contain `text`.
    func logLines(containing text: String) -> [Substring] {
        logText.split(separator: "\n").filter { $0.contains(text) }
    }

    /// The value of `key=` in the last log line that contains `text`.
    func logField(_ key: String, inLastLineContaining text: String) -> String? {
        guard let line = logLines(containing: text).last else { return nil }
        return line.split(separator: " ").first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
    }

    /// Sends a signal and waits for the exit status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM) -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { if process.isRunning { process.terminate(); process.waitUntilExit() } }
}

/// A child's output pipe, read to its end by a thread of its own with blocking reads. Not a
/// `readabilityHandler`: its dispatch source, torn down with the pipe while the child exits, has
/// crashed the test process in libdispatch (`_dispatch_event_loop_drain`, a known Foundation bug
/// on Linux).
final class OutputCapture: @unchecked Sendable {
    private var data = Data()
    private let lock = NSLock()

    /// Starts the reader of `pipe` (after the child was launched): it closes this process's copy
    /// of the write end, so the read ends when the child's ends.
    func start(reading pipe: Pipe) {
        try? pipe.fileHandleForWriting.close()
        let reader = pipe.fileHandleForReading
        let thread = Thread { [self] in
            let fd = reader.fileDescriptor
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { break }
                lock.lock(); data.append(contentsOf: buffer[0..<n]); lock.unlock()
            }
            try? reader.close()
        }
        thread.start()
    }

    /// What was read so far, as text.
    var text: String {
        lock.lock(); defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Runs a program to completion (in `directory`, the package root by default) and returns its
/// exit status, stdout and stderr.
@discardableResult
func runProgram(_ path: String, _ arguments: [String], in directory: URL = packageRoot) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    p.currentDirectoryURL = directory
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// Collects alerts from a SUB socket on a background thread.
final class AlertCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var records: [AlertRecord] = []
    private var thread: Thread?
    private let stopFlag = NSLock()
    private var stopped = false

    init(endpoint: String) throws {
        let context = try ZMQContext()
        let sub = try ZMQSocket(context: context, type: .sub)
        try sub.subscribe("alert/")
        try sub.setReceiveTimeout(100)
        try sub.connect(endpoint)
        thread = Thread { [self] in
            while true {
                stopFlag.lock(); let s = stopped; stopFlag.unlock()
                if s { break }
                if let frames = try? sub.receiveMultipart(), frames.count == 2,
                   let r = try? JSONDecoder().decode(AlertRecord.self, from: Data(frames[1])) {
                    lock.lock(); records.append(r); lock.unlock()
                }
            }
            sub.close()
        }
        thread!.start()
        usleep(300_000)  // let the subscription reach the publisher
    }

    var alerts: [AlertRecord] { lock.lock(); defer { lock.unlock() }; return records }

    func stop() { stopFlag.lock(); stopped = true; stopFlag.unlock(); usleep(200_000) }
}

/// An alert's context as `key=value` pairs in key order.
func sortedContext(_ c: [String: AlertRecord.ContextValue]) -> String {
    c.keys.sorted().map { "\($0)=\(c[$0]!)" }.joined(separator: ",")
}

@Suite("vigild process", .serialized)
struct VigildProcessTests {
    let vigil = binDirectory.appendingPathComponent("vigil").path

    @Test("replaying a fixture into vigild publishes exactly the alerts vigil eval's evaluator reports")
    func replayMatchesEval() throws {
        let daemon = try VigildProcess()
        try daemon.start()
        let collector = try AlertCollector(endpoint: daemon.publish)
        let fixture = packageRoot.appendingPathComponent("Fixtures/synthetic/pump7.csv").path
        let replay = try runProgram(vigil, ["replay", fixture, "--to", daemon.ingest, "--speed", "max"])
        #expect(replay.status == 0, "\(replay.err)")
        #expect(replay.out.contains("replayed"))

        // What the offline evaluator says for the same fixture and the same config.
        let configuration = try VigilConfiguration.load(path: daemon.configPath)
        let loaded = try FixtureLoader().load([fixture])
        let run = Evaluator(settings: { configuration.detectorSettings(forSensor: $0) }).run(loaded[0])
        let expected = run.alerts.map { a in
            "\(loaded[0].sensors[a.sensor]) \(a.event.detector.rawValue) \(a.event.event.rawValue) \(a.event.severity.rawValue) \(a.event.timestamp) \(a.event.score)"
        }.sorted()
        #expect(!expected.isEmpty, "the fixture has anomalies the default z-score catches")
        let total = Double(loaded[0].sampleCount)
        #expect(TestNetwork.waitUntil(seconds: 20) { daemon.metric("vigil_samples_processed_total") == total })
        #expect(TestNetwork.waitUntil(seconds: 10) { collector.alerts.count >= expected.count })
        usleep(300_000)
        collector.stop()
        let actual = collector.alerts.map {
            "\($0.sensor) \($0.detector.rawValue) \($0.event.rawValue) \($0.severity.rawValue) \($0.ts) \($0.score)"
        }.sorted()
        #expect(actual == expected)
        #expect(collector.alerts.map(\.seq) == Array(1...UInt64(collector.alerts.count)), "seq has no gap")
        #expect(daemon.stop() == 0, "SIGTERM drains and exits 0")
    }

    @Test("with the shipped detectors, replaying NAB series into vigild publishes exactly what vigil eval reports, evidence included")
    func shippedDetectorsReplayMatchesEval() throws {
        // The reorder window off: machine_temperature steps back 55 minutes at row 10,149, and
        // ingest would drop the 10 samples behind it as late_sample, which eval (no ingest) scores.
        let daemon = try VigildProcess(ingestYAML: "  reorder_window: 0", detectors: "")
        try daemon.start()
        let collector = try AlertCollector(endpoint: daemon.publish)
        let fixtures = ["Fixtures/nab/data/realKnownCause/machine_temperature_system_failure.csv",
                        "Fixtures/nab/data/artificialWithAnomaly/art_daily_jumpsup.csv"].map { packageRoot.appendingPathComponent($0).path }
        let replay = try runProgram(vigil, ["replay"] + fixtures + ["--to", daemon.ingest, "--speed", "max"])
        #expect(replay.status == 0, "\(replay.err)")
        let configuration = try VigilConfiguration.load(path: daemon.configPath)
        #expect(configuration.detectors.surprise.enabled && !configuration.detectors.zscore.enabled)
        var expected: [String] = []
        var total = 0.0
        for loaded in try FixtureLoader().load(fixtures) {
            let run = Evaluator(settings: { configuration.detectorSettings(forSensor: $0) }).run(loaded)
            total += Double(loaded.sampleCount)
            expected += run.alerts.map { a in
                let record = AlertRecord(seq: 0, event: a.event, sensorName: loaded.sensors[a.sensor])
                return "\(record.sensor) \(record.detector.rawValue) \(record.event.rawValue) \(record.ts) \(record.score) \(sortedContext(record.context))"
            }
        }
        #expect(expected.contains { $0.contains("surprise raised") }, "the shipped detector alerts on these series")
        #expect(TestNetwork.waitUntil(seconds: 20) { daemon.metric("vigil_samples_processed_total") == total })
        #expect(TestNetwork.waitUntil(seconds: 10) { collector.alerts.count >= expected.count })
        usleep(300_000)
        collector.stop()
        let actual = collector.alerts.map { "\($0.sensor) \($0.detector.rawValue) \($0.event.rawValue) \($0.ts) \($0.score) \(sortedContext($0.context))" }
        #expect(actual.sorted() == expected.sorted())
        #expect(collector.alerts.contains { $0.context["channel"] != nil && $0.context["p"] != nil })
        // vigil tail, for people: the channel, its surprise and p lead the evidence.
        let first = try #require(collector.alerts.first { $0.event == .raised })
        let text = try runProgram(vigil, ["tail", "--endpoint", daemon.publish, "--history", daemon.history,
                                          "--since", "0", "--count", "1", "--no-color"])
        let line = try #require(text.out.split(separator: "\n").first.map(String.init))
        #expect(line.contains("  surprise  score=") && line.contains("threshold=4"), "\(line)")
        let channel = try #require(first.context["channel"].map { if case .string(let c) = $0 { c } else { "" } })
        #expect(line.contains("  channel=\(channel) surprise="), "\(line)")
        #expect(line.contains(" p="), "\(line)")
        #expect(daemon.stop() == 0)
    }

    @Test("replay interleaves files, loops with rising rebased timestamps and caps the rate")
    func replayLoopRate() throws {
        let daemon = try VigildProcess()
        try daemon.start()
        let nab = packageRoot.appendingPathComponent("Fixtures/nab/data/artificialWithAnomaly/art_daily_jumpsup.csv").path
        let started = Date()
        let replay = try runProgram(vigil, ["replay", nab, "--to", daemon.ingest, "--loop", "--passes", "2",
                                            "--rebase-time", "--rate", "40000", "--format", "json"])
        let elapsed = Date().timeIntervalSince(started)
        #expect(replay.status == 0, "\(replay.err)")
        #expect(replay.out.contains("replayed 8064 samples"), "\(replay.out)")
        #expect(elapsed >= 8064.0 / 40000 * 0.9, "the rate cap holds: \(elapsed) s")
        #expect(TestNetwork.waitUntil(seconds: 10) { daemon.metric("vigil_samples_processed_total") == 8064 })
        let bad = try runProgram(vigil, ["replay", "/nonexistent.csv", "--to", daemon.ingest])
        #expect(bad.status != 0 && bad.err.contains("/nonexistent.csv"))
        let badSpeed = try runProgram(vigil, ["replay", nab, "--speed", "fast"])
        #expect(badSpeed.status != 0 && badSpeed.err.contains("--speed"))
        #expect(daemon.stop() == 0)
    }

    @Test("pyzmq as sender and subscriber: alerts arrive, NaN is counted, SIGINT exits 0")
    func pyzmqPeer() throws {
        let daemon = try VigildProcess()
        try daemon.start()
        let script = packageRoot.appendingPathComponent("Tests/EndToEndTests/pyzmq_peer.py").path
        let subscriber = Process()
        subscriber.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        subscriber.arguments = ["python3", script, "sub", daemon.publish, "2", "20"]
        let out = Pipe()
        subscriber.standardOutput = out
        try subscriber.run()
        // Wait for the subscriber to say it subscribed, then a little for the subscription to land.
        let firstLine = out.fileHandleForReading.availableDataLine()
        #expect(firstLine == "subscribed")
        usleep(500_000)
        let sender = try runProgram("/usr/bin/env", ["python3", script, "send", daemon.ingest, "py/sensor", "300", "200"])
        #expect(sender.status == 0, "\(sender.err)")
        let rest = out.fileHandleForReading.readDataToEndOfFile()
        subscriber.waitUntilExit()
        let alerts = String(decoding: rest, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONDecoder().decode(AlertRecord.self, from: Data($0.utf8))
        }
        #expect(alerts.map(\.event) == [.raised, .cleared])
        #expect(alerts.first?.sensor == "py/sensor")
        let raisedAt: Int64 = 1_750_000_000_000_000_000 + 201 * 1_000_000_000
        #expect(alerts.first.map { $0.ts - raisedAt } == 0, "raised on the second spike sample")
        #expect(TestNetwork.waitUntil(seconds: 5) { daemon.metric("vigil_samples_processed_total") == 300 })
        let metrics = TestNetwork.httpGet(port: daemon.metricsPort, path: "/metrics")?.body ?? ""
        #expect(metrics.contains("vigil_dropped_total{reason=\"non_finite_value\"} 1"))
        #expect(daemon.stop(signal: SIGINT) == 0)
    }

    @Test("SIGTERM while samples are queued: every accepted sample is processed before exit")
    func drainOnTerm() throws {
        let daemon = try VigildProcess()
        try daemon.start()
        let context = try ZMQContext()
        let push = try ZMQSocket(context: context, type: .push, lingerMilliseconds: 10_000)
        try push.connect(daemon.ingest)
        let batches = 400
        for b in 0..<batches {
            let samples = (0..<256).map { i in (ts: Int64(b * 256 + i), value: Double(i % 17)) }
            try push.send(IngestEncoder.binary(sensor: "drain/s\(b % 50)", samples: samples))
        }
        push.close()
        #expect(TestNetwork.waitUntil(seconds: 10) { (daemon.metric("vigil_samples_received_total") ?? 0) > 0 })
        #expect(daemon.stop() == 0)
        // The final log line reports what ingest accepted and what the workers processed.
        let log = daemon.logText
        func field(_ name: String) -> Int? {
            log.split(separator: "\n").last { $0.contains("stopped") }.flatMap { line in
                line.split(separator: " ").first { $0.hasPrefix(name + "=") }.flatMap { Int($0.dropFirst(name.count + 1)) }
            }
        }
        let received = try #require(field("received"), "\(log)")
        #expect(received > 0)
        #expect(field("samples") == received, "every accepted sample was processed before exit")
    }

    @Test("a restart continues seq; vigil tail --since replays history then goes live without gap or duplicate")
    func tailSince() throws {
        let state = TestNetwork.temporaryDirectory("vigild")
        do {
            let first = try VigildProcess(state: state)
            try first.start()
            try sendSpike(to: first.ingest, sensor: "tail/a", start: 1_700_000_000_000_000_000)
            #expect(TestNetwork.waitUntil(seconds: 10) { first.metric("vigil_alert_seq") == 2 })
            #expect(first.stop() == 0)
        }
        let daemon = try VigildProcess(state: state)
        try daemon.start()
        #expect(daemon.metric("vigil_alert_seq") == 2, "seq continues from the journal")
        let tail = Process()
        tail.executableURL = URL(fileURLWithPath: vigil)
        tail.arguments = ["tail", "--endpoint", daemon.publish, "--history", daemon.history, "--since", "0", "--json", "--count", "4"]
        let out = Pipe()
        tail.standardOutput = out
        try tail.run()
        usleep(800_000)
        try sendSpike(to: daemon.ingest, sensor: "tail/b", start: 1_750_000_000_000_000_000)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        tail.waitUntilExit()
        let alerts = String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONDecoder().decode(AlertRecord.self, from: Data($0.utf8))
        }
        #expect(alerts.map(\.seq) == [1, 2, 3, 4])
        #expect(alerts.map(\.sensor) == ["tail/a", "tail/a", "tail/b", "tail/b"])
        #expect(tail.terminationStatus == 0)

        // The human format, filtered by sensor and severity, from history only.
        let text = try runProgram(vigil, ["tail", "--endpoint", daemon.publish, "--history", daemon.history,
                                          "--since", "0", "--sensor", "tail/b", "--count", "2", "--no-color"])
        let lines = text.out.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first?.contains("CRITICAL") == true && lines.first?.contains("tail/b") == true)
        #expect(lines.last?.contains("CLEARED") == true)
        #expect(daemon.stop() == 0)
    }

    @Test("vigild refuses to start on a bad config and says where")
    func badConfig() throws {
        let daemon = try VigildProcess(extraYAML: "bogus_key: 1\n")
        let result = try runProgram(binDirectory.appendingPathComponent("vigild").path, ["--config", daemon.configPath])
        #expect(result.status == 78)
        #expect(result.err.contains("vigil.yaml:") && result.err.contains("bogus_key"), "\(result.err)")
        let check = try runProgram(vigil, ["check-config", daemon.configPath])
        #expect(check.status == 1)
        #expect(check.err.contains("bogus_key"))
        let missing = try runProgram(vigil, ["check-config", "/nonexistent/vigil.yaml"])
        #expect(missing.status == 1)
        #expect(missing.err.contains("/nonexistent/vigil.yaml"))
    }

}

/// Pushes `DaemonInProcessTests.spikeSeries` for `sensor` (one raise, one clear) to `endpoint`.
func sendSpike(to endpoint: String, sensor: String, start: Int64) throws {
    let context = try ZMQContext()
    let push = try ZMQSocket(context: context, type: .push, lingerMilliseconds: 5000)
    try push.connect(endpoint)
    try push.send(IngestEncoder.binary(sensor: sensor, samples: DaemonInProcessTests.spikeSeries(start: start)))
    push.close()
}

extension FileHandle {
    /// Reads one line (blocking), without the newline.
    func availableDataLine() -> String {
        var bytes: [UInt8] = []
        while true {
            let d = readData(ofLength: 1)
            if d.isEmpty || d.first == 10 { break }
            bytes.append(d.first!)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
