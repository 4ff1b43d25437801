// SPDX-License-Identifier: GPL-3.0-or-later
import ArgumentParser
import CVigilOS
import Foundation
import VigilCore
import VigilReplay
import ZeroMQ
#if canImport(Glibc)
import Glibc
#endif

/// `vigil bench-send`: a load generator for benchmarks and soak tests. PUSHes synthetic samples
/// (`SyntheticLoad`: a seeded signal per sensor, optional spikes) to an ingest endpoint in any of
/// the ingest payload forms, as fast as possible or at a given rate, and reports what it sent.
///
/// Built so that it is not the bottleneck: one thread encodes each message into one reused
/// buffer (`SyntheticLoad.encode(_:sensor:first:count:into:)`, no allocation per message) and
/// hands it to libzmq (`zmq_send` copies it), whose I/O thread does the writes.
struct BenchSend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-send",
        abstract: "Push synthetic samples into a vigild (or any PULL socket) at a given rate, and report what was sent.",
        discussion: """
            Message m carries samples of sensor m mod --sensors, in turn, --batch at a time; sample k
            of a sensor has timestamp --start-ts + k × --interval-ns and a value that is a pure
            function of (--seed, sensor, k), the same in every payload form. With --spike-every N,
            each sensor spikes (--spike-length samples, --spike-size × its amplitude and noise) once
            every N of its samples, at a sensor-dependent offset, so the shipped detectors alert.
            Stops after --samples or --duration, whichever comes first (at least one is needed).
            Examples:
              vigil bench-send --samples 10000000                      # binary batches of 256, max rate
              vigil bench-send --format json --rate 200k --duration 10 --sensors 5000
              vigil bench-send --rate 2M --duration 30 --spike-every 5000 --json
            """)

    @Option(help: "The ingest (PULL) endpoint to connect to.")
    var to = "tcp://127.0.0.1:7001"

    @Option(help: "Payload form: binary (VGL1), json (one sample per message), json-array, json-batch.")
    var format: LoadFormat = .binary

    @Option(help: "Samples per message for binary, json-array and json-batch (default 256; json is always 1).")
    var batch: Int?

    @Option(help: "Number of sensors.")
    var sensors = 1_000

    @Option(help: "Samples per second (e.g. 500000, 250k, 2.5M), or max.")
    var rate = "max"

    @Option(help: "Stop after this many seconds.")
    var duration: Double?

    @Option(help: "Stop after this many samples.")
    var samples: Int?

    @Option(help: "Seed of the signals.")
    var seed: UInt64 = 1

    @Option(help: "Sensor ids are this prefix and a zero-padded index.")
    var sensorPrefix = "bench/s"

    @Option(help: ArgumentHelp("Assets of N sensors as a plant names them (0: none).",
                               discussion: "With N > 0 the ids are the prefix, the zero-padded asset index, /s and the member's index (--sensor-prefix plant1/unit --asset-size 20: plant1/unit0042/s07), so the shipped grouping by parent path makes one asset of each N sensors."))
    var assetSize = 0

    @Option(help: "Timestamp of each sensor's first sample, in nanoseconds since the epoch.")
    var startTs: Int64 = 1_732_500_000_000_000_000

    @Option(help: "Nanoseconds between two samples of one sensor.")
    var intervalNs: Int64 = 1_000_000

    @Option(help: "A spike every N samples of each sensor (0: none).")
    var spikeEvery = 0

    @Option(help: "Samples a spike lasts.")
    var spikeLength = 10

    @Option(help: "Height of a spike, in units of the sensor's amplitude plus noise.")
    var spikeSize = 20.0

    @Option(help: "Send high-water mark: messages queued in this process before a send blocks.")
    var hwm: Int32 = 100_000

    @Option(help: "Seconds to wait after connecting before the first send (so the first sends do not only fill a local queue).")
    var connectWait = 0.2

    @Option(help: "Seconds to wait at the end for queued messages to reach the receiver.")
    var linger = 30.0

    @Flag(help: "Print the report as one JSON object.")
    var json = false

    // CURVE: `vigil tail` and `vigil replay` take `--server-key KEY|@FILE` and `--key-file PATH`
    // (the design brief). When they land, add the same option group here
    // (`@OptionGroup var curve: CurveClientOptions`) and apply it in `makeSocket(context:)`.

    /// Samples per message after defaults.
    var samplesPerMessage: Int { format == .json ? 1 : (batch ?? 256) }

    /// Target samples per second; nil for max.
    var targetRate: Double? { Self.parseRate(rate) ?? nil }

    /// `max` → .some(nil); a positive number with an optional k/M/G suffix → .some(value);
    /// anything else → nil.
    static func parseRate(_ text: String) -> Double?? {
        if text == "max" { return .some(nil) }
        var digits = Substring(text)
        var scale = 1.0
        switch digits.last {
        case "k", "K": scale = 1e3; digits = digits.dropLast()
        case "M": scale = 1e6; digits = digits.dropLast()
        case "G": scale = 1e9; digits = digits.dropLast()
        default: break
        }
        guard let v = Double(digits), v.isFinite, v > 0 else { return nil }
        return .some(v * scale)
    }

    func validate() throws {
        if Self.parseRate(rate) == nil {
            throw ValidationError("--rate takes max or a positive number of samples per second (250000, 250k, 2.5M); got '\(rate)'")
        }
        if samples == nil && duration == nil { throw ValidationError("give --samples N or --duration SECONDS (or both)") }
        if let samples, samples < 1 { throw ValidationError("--samples must be at least 1") }
        if let duration, !(duration > 0 && duration.isFinite) { throw ValidationError("--duration must be a positive number of seconds") }
        if format == .json, let batch, batch != 1 {
            throw ValidationError("--format json sends one sample per message; use json-array or json-batch for --batch \(batch)")
        }
        if let batch, !(1...65_536).contains(batch) { throw ValidationError("--batch must be between 1 and 65536") }
        if sensors < 1 || sensors > 10_000_000 { throw ValidationError("--sensors must be between 1 and 10000000") }
        if assetSize < 0 { throw ValidationError("--asset-size must not be negative") }
        if intervalNs < 1 { throw ValidationError("--interval-ns must be at least 1") }
        if spikeEvery < 0 { throw ValidationError("--spike-every must not be negative") }
        if spikeEvery > 0 && !(1...spikeEvery).contains(spikeLength) {
            throw ValidationError("--spike-length must be between 1 and --spike-every (\(spikeEvery))")
        }
        if !spikeSize.isFinite { throw ValidationError("--spike-size must be a finite number") }
        if hwm < 0 { throw ValidationError("--hwm must not be negative (0: unlimited)") }
        if !(connectWait >= 0 && connectWait.isFinite) { throw ValidationError("--connect-wait must be a non-negative number of seconds") }
        if !(linger >= 0 && linger.isFinite) { throw ValidationError("--linger must be a non-negative number of seconds") }
    }

    /// The PUSH socket, connected. CURVE client keys go here when the option group lands.
    private func makeSocket(context: ZMQContext) throws -> ZMQSocket {
        let push = try ZMQSocket(context: context, type: .push, lingerMilliseconds: Int32(min(linger * 1000, 3_600_000)))
        try push.setSendHighWaterMark(hwm)
        try push.setKernelBuffers(receive: 0, send: 4 << 20)
        try push.connect(to)
        return push
    }

    func run() throws {
        let load = SyntheticLoad(.init(sensors: sensors, sensorPrefix: sensorPrefix, seed: seed, startTimestamp: startTs,
                                       interval: intervalNs, spikeEvery: spikeEvery, spikeLength: spikeLength, spikeSize: spikeSize,
                                       assetSize: assetSize))
        let per = samplesPerMessage
        let total = samples ?? Int.max
        let target = targetRate
        _ = vigil_set_timer_slack(1_000)  // paced sends wake within a microsecond or so, not 50 µs late

        var context: ZMQContext? = try ZMQContext()
        var push: ZMQSocket? = try makeSocket(context: context!)
        if connectWait > 0 { usleep(UInt32(connectWait * 1e6)) }

        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: load.maximumMessageBytes(format, count: per), alignment: 16)
        defer { buffer.deallocate() }
        var sent = 0, messages = 0, bytes = 0, spikes = 0
        let first = SystemTime.monotonicNanoseconds()
        let end = duration.map { first + UInt64($0 * 1e9) }
        var m = 0
        let socket = push!
        // Plain locals: an ArgumentParser property read in the loop costs a generic metadata
        // lookup each time.
        let format = self.format, sensors = self.sensors, spikeEvery = self.spikeEvery
        while sent < total {
            if let end, (target != nil || m & 63 == 0), SystemTime.monotonicNanoseconds() >= end { break }
            let sensor = m % sensors
            let firstIndex = (m / sensors) * per
            let n = min(per, total - sent)
            let length = load.encode(format, sensor: sensor, first: firstIndex, count: n, into: buffer)
            if spikeEvery > 0 {
                for k in firstIndex..<(firstIndex + n) where load.isSpike(sensor: sensor, index: k) { spikes += 1 }
            }
            if let target {
                Self.sleep(until: first + UInt64(Double(sent) / target * 1e9))
            }
            try socket.send(UnsafeRawBufferPointer(rebasing: buffer[0..<length]))
            sent += n
            messages += 1
            bytes += length
            m += 1
        }
        let last = SystemTime.monotonicNanoseconds()
        socket.close()
        push = nil
        context = nil  // zmq_ctx_term: returns once the queued messages are handed over (or after --linger)
        let flushed = SystemTime.monotonicNanoseconds()

        let seconds = Double(last - first) / 1e9
        let achieved = seconds > 0 ? Double(sent) / seconds : 0
        if json {
            let fields: [(String, String)] = [
                ("format", "\"\(format.rawValue)\""), ("endpoint", "\"\(to)\""), ("sensors", "\(sensors)"),
                ("samples_per_message", "\(per)"), ("messages", "\(messages)"), ("samples", "\(sent)"), ("bytes", "\(bytes)"),
                ("spike_samples", "\(spikes)"), ("seconds", "\(seconds)"), ("rate", "\(achieved)"),
                ("target_rate", target.map { "\($0)" } ?? "null"),
                ("first_send_ns", "\(first)"), ("last_send_ns", "\(last)"), ("flushed_ns", "\(flushed)"),
            ]
            print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        } else {
            let form = format == .json ? "one-sample JSON" : "\(format.rawValue), \(per) samples per message"
            print("bench-send: \(sent) samples in \(messages) messages (\(form), \(Self.megabytes(bytes))) over \(sensors) sensors to \(to)")
            print("  sent in \(String(format: "%.3f", seconds)) s: \(Self.rateText(achieved)) samples/s (target \(target.map { Self.rateText($0) } ?? "max")), "
                  + "\(Self.rateText(seconds > 0 ? Double(messages) / seconds : 0)) messages/s; all handed over after "
                  + "\(String(format: "%.3f", Double(flushed - first) / 1e9)) s; \(spikes) spike samples")
        }
    }

    static func rateText(_ r: Double) -> String {
        r >= 1e6 ? String(format: "%.2f M", r / 1e6) : r >= 1e3 ? String(format: "%.1f k", r / 1e3) : String(format: "%.0f", r)
    }

    static func megabytes(_ b: Int) -> String { String(format: "%.1f MB", Double(b) / 1e6) }

    /// Sleeps until CLOCK_MONOTONIC reaches `deadline` (returns at once when it has).
    static func sleep(until deadline: UInt64) {
        while SystemTime.monotonicNanoseconds() < deadline {
            var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
            _ = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil)
        }
    }
}
