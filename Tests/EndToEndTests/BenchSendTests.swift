// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilReplay
import VigilTestKit
import ZeroMQ

/// `vigil bench-send` and `vigil bench-receive` through the real executable: what a receiver gets
/// is exactly what the report says and what `SyntheticLoad` defines; pacing never runs ahead of
/// the rate; bad arguments are refused with a message naming the option.
@Suite("vigil bench-send (CLI)", .serialized)
struct BenchSendTests {
    let vigil = binDirectory.appendingPathComponent("vigil").path

    func report(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    func int(_ r: [String: Any], _ key: String) -> Int? { (r[key] as? NSNumber)?.intValue }

    @Test("bad arguments are refused naming the option", arguments: [
        (["--samples", "10", "--rate", "fast"], "--rate"),
        (["--samples", "10", "--rate", "0"], "--rate"),
        (["--samples", "10", "--rate", "-5k"], "--rate"),
        ([], "--samples N or --duration"),
        (["--samples", "0"], "--samples"),
        (["--duration", "0"], "--duration"),
        (["--duration", "inf"], "--duration"),
        (["--samples", "10", "--format", "json", "--batch", "8"], "json-array or json-batch"),
        (["--samples", "10", "--format", "xml"], "--format"),
        (["--samples", "10", "--batch", "0"], "--batch"),
        (["--samples", "10", "--batch", "70000"], "--batch"),
        (["--samples", "10", "--sensors", "0"], "--sensors"),
        (["--samples", "10", "--spike-every", "-1"], "--spike-every"),
        (["--samples", "10", "--spike-every", "5", "--spike-length", "6"], "--spike-length"),
        (["--samples", "10", "--interval-ns", "0"], "--interval-ns"),
        (["--samples", "10", "--spike-size", "nan"], "--spike-size"),
    ])
    func validation(arguments: [String], message: String) throws {
        let r = try runProgram(vigil, ["bench-send", "--to", "tcp://127.0.0.1:1"] + arguments)
        #expect(r.status == 64, "\(arguments): \(r.err)")
        #expect(r.err.contains(message), "\(arguments): \(r.err)")
    }

    @Test("a PULL socket receives exactly the samples reported, as SyntheticLoad defines them", arguments: LoadFormat.allCases)
    func receivesExactlyWhatItReports(format: LoadFormat) throws {
        let endpoint = TestNetwork.freeEndpoint()
        let context = try ZMQContext()
        let pull = try ZMQSocket(context: context, type: .pull)
        try pull.setReceiveHighWaterMark(0)  // unlimited: the sender never waits on this test
        try pull.setReceiveTimeout(1_000)
        try pull.bind(endpoint)
        let total = format == .json ? 301 : 1_003
        let batch = format == .json ? 1 : 16
        var arguments = ["bench-send", "--to", endpoint, "--format", format.rawValue, "--samples", "\(total)", "--sensors", "7",
                         "--seed", "99", "--spike-every", "40", "--spike-length", "3", "--connect-wait", "0.1", "--json"]
        if format != .json { arguments += ["--batch", "\(batch)"] }
        let r = try runProgram(vigil, arguments)
        try #require(r.status == 0, "\(r.err)")
        let sent = try report(r.out)

        var decoder = IngestDecoder(registry: SensorRegistry(limit: 100), drops: DropCounters())
        var messages = 0, bytes = 0
        var samples: [Sample] = []
        while let frame = try pull.receiveFrame() {
            messages += 1
            bytes += frame.bytes.count
            #expect(!frame.more)
            samples += decoder.decode(topic: nil, payload: frame.bytes)
        }
        #expect(decoder.drops.totalMessages == 0)
        #expect(samples.count == total)
        #expect(int(sent, "samples") == total)
        #expect(int(sent, "messages") == messages && messages == (total + batch - 1) / batch)
        #expect(int(sent, "bytes") == bytes)
        #expect(int(sent, "samples_per_message") == batch)

        // Message m holds samples of sensor m mod 7, `batch` at a time, in order.
        let load = SyntheticLoad(.init(sensors: 7, seed: 99, spikeEvery: 40, spikeLength: 3))
        var next = [Int](repeating: 0, count: 7)
        var spikes = 0
        for (j, s) in samples.enumerated() {
            let sensor = (j / batch) % 7
            let k = next[sensor]
            next[sensor] += 1
            #expect(decoder.registry.name(of: s.sensor) == load.sensorID(sensor))
            #expect(s.timestamp == load.timestamp(index: k))
            #expect(s.value == load.value(sensor: sensor, index: k))
            if load.isSpike(sensor: sensor, index: k) { spikes += 1 }
        }
        #expect(spikes > 0)
        #expect(int(sent, "spike_samples") == spikes)
    }

    @Test("bench-receive counts what bench-send sent")
    func benchReceiveCounts() throws {
        let endpoint = TestNetwork.freeEndpoint()
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: vigil)
        receiver.arguments = ["bench-receive", "--bind", endpoint, "--messages", "400", "--json"]
        let out = Pipe(), err = Pipe()
        receiver.standardOutput = out
        receiver.standardError = err
        try receiver.run()
        // Wait until it has bound (it says so on standard error).
        var said = Data()
        while !String(decoding: said, as: UTF8.self).contains("listening on") {
            let d = err.fileHandleForReading.availableData
            if d.isEmpty { break }
            said.append(d)
        }
        let r = try runProgram(vigil, ["bench-send", "--to", endpoint, "--samples", "\(400 * 32)", "--batch", "32", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let got = out.fileHandleForReading.readDataToEndOfFile()
        receiver.waitUntilExit()
        #expect(receiver.terminationStatus == 0)
        let received = try report(String(decoding: got, as: UTF8.self))
        let sent = try report(r.out)
        #expect(int(received, "messages") == 400 && int(sent, "messages") == 400)
        #expect(int(received, "samples") == 12_800 && int(sent, "samples") == 12_800)
        #expect(int(received, "bytes") == int(sent, "bytes"))
        let first = try #require((received["first_receive_ns"] as? NSNumber)?.uint64Value)
        let last = try #require((received["last_receive_ns"] as? NSNumber)?.uint64Value)
        let sentFirst = try #require((sent["first_send_ns"] as? NSNumber)?.uint64Value)
        #expect(first >= sentFirst && last >= first, "one clock (CLOCK_MONOTONIC) for both processes")
    }

    @Test("pacing never runs ahead of --rate; --duration bounds what is sent")
    func rateLimit() throws {
        let endpoint = TestNetwork.freeEndpoint()
        let context = try ZMQContext()
        let pull = try ZMQSocket(context: context, type: .pull)
        try pull.setReceiveHighWaterMark(0)
        try pull.bind(endpoint)
        // 10 000 samples at 20 000/s in messages of 100: the last message is due 0.495 s after the first.
        let paced = try report(try runProgram(vigil, ["bench-send", "--to", endpoint, "--samples", "10000", "--batch", "100",
                                                      "--rate", "20k", "--json"]).out)
        let seconds = try #require((paced["seconds"] as? NSNumber)?.doubleValue)
        #expect(seconds >= 0.495, "sent 10000 samples in \(seconds) s at a 20000/s cap")
        #expect(seconds < 30, "and it did not stall")
        #expect((paced["target_rate"] as? NSNumber)?.doubleValue == 20_000)
        // For a duration, at most rate × duration (plus the message in flight) go out.
        let timed = try report(try runProgram(vigil, ["bench-send", "--to", endpoint, "--duration", "0.3", "--batch", "10",
                                                      "--rate", "10000", "--json"]).out)
        let count = try #require(int(timed, "samples"))
        #expect(count > 0 && count <= 3_000 + 10, "\(count) samples in 0.3 s at 10000/s")
        #expect(((timed["seconds"] as? NSNumber)?.doubleValue ?? 0) < 0.3 + 5)
    }

    @Test("vigild's /metrics has the ingest-to-alert latency of every alert bench-send's spikes cause")
    func alertLatencyHistogram() throws {
        let daemon = try VigildProcess()
        try daemon.start()
        let r = try runProgram(vigil, ["bench-send", "--to", daemon.ingest, "--samples", "20000", "--sensors", "10", "--batch", "50",
                                       "--spike-every", "500", "--spike-length", "5", "--rate", "100k", "--json"])
        #expect(r.status == 0, "\(r.err)")
        #expect(TestNetwork.waitUntil(seconds: 20) { daemon.metric("vigil_samples_processed_total") == 20_000 })
        // Alerts (a raise and a clear per spike) are published soon after: wait until the count settles.
        var alerts = 0.0
        _ = TestNetwork.waitUntil(seconds: 10) {
            let now = daemon.metric("vigil_alert_seq") ?? 0
            defer { alerts = now }
            return now > 0 && now == alerts && daemon.metric("vigil_alert_latency_seconds_count") == now
        }
        #expect(alerts >= 60, "a raise and a clear for most of the 10 sensors' 4 spikes each; got \(alerts)")
        #expect(daemon.metric("vigil_alert_latency_seconds_count") == alerts)
        #expect(daemon.metric("vigil_alert_latency_seconds_bucket{le=\"+Inf\"}") == alerts)
        let sum = try #require(daemon.metric("vigil_alert_latency_seconds_sum"))
        #expect(sum > 0 && sum / alerts < 5, "a mean latency of \(sum / alerts) s")
        #expect(daemon.stop() == 0)
    }
}
