// SPDX-License-Identifier: GPL-3.0-or-later
import Benchmark
import Foundation
import Logging
import VigilCore
import VigilDaemon
import VigilTestKit

/// End to end: samples per second through a real `Daemon` on loopback. The daemon runs in this
/// process (free endpoints, a temporary state directory, metrics off, default z-score settings);
/// the sender is `vigil bench-send` in a process of its own (`VIGIL_BENCH_SEND`, default the
/// release build `../.build/release/vigil`), PUSHing as fast as it can. A run measures from the
/// sender's first send (CLOCK_MONOTONIC, shared by both processes) to `daemon.samplesProcessed`
/// reaching the total, then checks that nothing was lost or dropped. Right after, in the same
/// run, the floor: `vigil bench-receive` (a receive-only PULL loop) takes the same stream, and
/// the ratio is recorded (`ratio to floor (‰)`, and a line in the details log).
///
/// Sizes scale with `VIGIL_E2E_SCALE` (default 1: 40 000 binary batches = 10.24 M samples, and
/// 1 M JSON messages).
func endToEndBenchmarks() {
    let scale = Double(ProcessInfo.processInfo.environment["VIGIL_E2E_SCALE"] ?? "1") ?? 1
    let config = Benchmark.Configuration(
        metrics: [BenchMetric.itemsPerSecond, BenchMetric.senderRate, Floor.floorRate, Floor.ratio],
        warmupIterations: 0, scalingFactor: .one, maxDuration: .seconds(30), maxIterations: 3)

    let cases: [(name: String, mode: String, messages: Int, perMessage: Int)] = [
        ("E2E/daemon binary batches of 256 over 1000 sensors", "binary", Int(40_000 * scale), 256),
        ("E2E/daemon one-sample JSON over 1000 sensors", "json", Int(1_000_000 * scale), 1),
    ]
    for c in cases {
        Benchmark(c.name, configuration: config) { benchmark in
            let result = EndToEnd.run(mode: c.mode, messages: c.messages, samplesPerMessage: c.perMessage)
            benchmark.measurement(BenchMetric.itemsPerSecond, Int(result.samplesPerSecond))
            benchmark.measurement(BenchMetric.senderRate, Int(result.senderSamplesPerSecond))
            Floor.record(benchmark, c.name, rate: result.samplesPerSecond,
                         floor: EndToEnd.rawReceive(mode: c.mode, messages: c.messages, samplesPerMessage: c.perMessage),
                         floorName: "raw ZeroMQ receive (vigil bench-receive)")
        }
    }
}

enum EndToEnd {
    struct Result {
        var samplesPerSecond: Double
        var senderSamplesPerSecond: Double
    }

    /// `vigil bench-send` / `bench-receive`: `VIGIL_BENCH_SEND`, or the package's release build.
    static var vigil: String {
        ProcessInfo.processInfo.environment["VIGIL_BENCH_SEND"] ?? packageDirectory + "/../.build/release/vigil"
    }

    /// The sender's arguments for one case.
    static func senderArguments(to endpoint: String, mode: String, messages: Int, samplesPerMessage: Int) -> [String] {
        ["bench-send", "--to", endpoint, "--format", mode, "--samples", String(messages * samplesPerMessage),
         "--sensors", "1000", "--json"] + (mode == "binary" ? ["--batch", String(samplesPerMessage)] : [])
    }

    /// Runs a program and parses the one JSON object it prints.
    static func jsonReport(_ process: Process, _ pipe: Pipe) -> [String: Any] {
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let report = try? JSONSerialization.jsonObject(with: output) as? [String: Any] else {
            fatalError("\(process.executableURL?.path ?? "") \(process.arguments ?? []) failed: \(String(decoding: output, as: UTF8.self))")
        }
        return report
    }

    static func start(_ arguments: [String]) -> (Process, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: vigil)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        do { try p.run() } catch { fatalError("cannot start \(vigil) (build it: swift build -c release --product vigil): \(error)") }
        return (p, pipe)
    }

    /// The floor: `vigil bench-receive` taking the same stream; samples per second from the
    /// sender's first send to the receiver's last receive.
    static func rawReceive(mode: String, messages: Int, samplesPerMessage: Int) -> Double {
        let endpoint = TestNetwork.freeEndpoint()
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: vigil)
        receiver.arguments = ["bench-receive", "--bind", endpoint, "--messages", String(messages), "--json"]
        let out = Pipe(), err = Pipe()
        receiver.standardOutput = out
        receiver.standardError = err
        do { try receiver.run() } catch { fatalError("cannot start \(vigil): \(error)") }
        _ = err.fileHandleForReading.availableData  // "listening on ..." once bound
        let (sender, senderPipe) = start(senderArguments(to: endpoint, mode: mode, messages: messages, samplesPerMessage: samplesPerMessage))
        let sent = jsonReport(sender, senderPipe)
        let got = jsonReport(receiver, out)
        guard let first = (sent["first_send_ns"] as? NSNumber)?.uint64Value, let last = (got["last_receive_ns"] as? NSNumber)?.uint64Value,
              (got["messages"] as? NSNumber)?.intValue == messages else { fatalError("bench-receive: \(got) for \(sent)") }
        return Double(messages * samplesPerMessage) / (Double(last - first) / 1e9)
    }

    /// `Benchmarks/`, found from this source file.
    static var packageDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }

    static func run(mode: String, messages: Int, samplesPerMessage: Int) -> Result {
        let (daemon, ingest, state) = startBenchmarkDaemon()
        defer {
            daemon.stop()
            try? FileManager.default.removeItem(atPath: state)
        }

        let total = UInt64(messages * samplesPerMessage)
        let (sender, pipe) = start(senderArguments(to: ingest, mode: mode, messages: messages, samplesPerMessage: samplesPerMessage))

        // Poll the processed count (1 ms) until the total is in, with a generous timeout.
        let deadline = SystemTime.monotonicNanoseconds() + 300_000_000_000
        var done: UInt64 = 0
        while true {
            let processed = daemon.samplesProcessed
            if processed >= total { done = SystemTime.monotonicNanoseconds(); break }
            if SystemTime.monotonicNanoseconds() > deadline || (!sender.isRunning && sender.terminationStatus != 0) {
                fatalError("\(mode): \(processed) of \(total) samples processed before the deadline (sender status \(sender.isRunning ? "running" : "\(sender.terminationStatus)"))")
            }
            usleep(1_000)
        }
        let report = jsonReport(sender, pipe)
        guard let first = (report["first_send_ns"] as? NSNumber)?.uint64Value,
              let last = (report["last_send_ns"] as? NSNumber)?.uint64Value,
              let sent = (report["samples"] as? NSNumber)?.uint64Value else {
            fatalError("bench-send: \(report)")
        }
        // Zero loss: everything sent was processed, nothing more, nothing dropped.
        usleep(50_000)
        precondition(sent == total, "sender sent \(sent) samples, expected \(total)")
        precondition(daemon.samplesProcessed == total, "processed \(daemon.samplesProcessed) != sent \(total)")
        precondition(daemon.pipeline.drops.totalMessages == 0, "daemon dropped \(daemon.pipeline.drops.totalMessages) messages")
        precondition(daemon.pipeline.samplesSubmitted == total)

        let seconds = Double(done - first) / 1e9
        let senderSeconds = Double(last - first) / 1e9
        let rate = Double(total) / seconds
        reportLine("E2E/in-process \(mode): \(total) samples in \(String(format: "%.3f", seconds)) s = \(String(format: "%.2f", rate / 1e6)) M samples/s "
              + "(sender alone handed them to libzmq at \(String(format: "%.2f", Double(total) / senderSeconds / 1e6)) M/s); lost 0, dropped 0")
        return Result(samplesPerSecond: rate, senderSamplesPerSecond: Double(total) / senderSeconds)
    }
}

/// An in-process `Daemon` with the shipped detector defaults on free loopback ports, metrics off,
/// in a temporary state directory (removed by the caller). Shared by the end-to-end and memory
/// benchmarks.
func startBenchmarkDaemon() -> (daemon: Daemon, ingest: String, state: String) {
    let ingest = TestNetwork.freeEndpoint()
    let state = TestNetwork.temporaryDirectory("vigil-bench")
    var logger = Logger(label: "vigil-bench")
    logger.logLevel = .warning
    let options = DaemonOptions(
        ingestEndpoints: [ingest], publishEndpoint: TestNetwork.freeEndpoint(),
        historyEndpoint: TestNetwork.freeEndpoint(), metricsListen: nil, stateDirectory: state)
    do {
        let daemon = try Daemon(options: options, logger: logger)
        try daemon.start()
        return (daemon, ingest, state)
    } catch {
        fatalError("daemon did not start: \(error)")
    }
}
