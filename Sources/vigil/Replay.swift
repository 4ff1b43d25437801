// SPDX-License-Identifier: GPL-3.0-or-later
import ArgumentParser
import Foundation
import NATS
import VigilReplay
import VigilCore
import ZeroMQ

/// `vigil replay`: publishes recorded fixtures into a running daemon as a plant would.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish recorded fixtures into a running vigild, as a plant would.",
        discussion: """
            Files are interleaved by timestamp; a wide file publishes one sample per sensor column.
            Examples:
              vigil replay Fixtures/nab/realKnownCause/machine_temperature_system_failure.csv --speed max
              vigil replay Fixtures/synthetic/pump7.csv --speed 60x --rebase-time --loop
              vigil replay pump7.csv --server-key @/etc/vigil/vigild.pub --key-file ~/.config/vigil/plant.key
              vigil replay Fixtures/plant --nats nats://127.0.0.1:4222
            With --nats, each message goes to the JetStream sample stream (--stream) on the subject of \
            its sensor's partition, <stream>.<partition>, the partition being the 32-bit FNV-1a hash of \
            the sensor id up to its last / modulo the stream's partition count (read from the stream, \
            which vigild creates), with a Nats-Msg-Id so that a retried publish is stored once.
            Nothing is sent before the connection's handshake completes: a daemon that cannot be \
            reached, refuses the CURVE key, or wants CURVE from a plain client is reported within \
            --handshake-timeout instead of samples queueing for nobody.
            """)

    @Argument(help: "Fixture files or directories (NAB-style or wide CSV).")
    var files: [String]

    @Option(help: "The daemon's ingest (PULL) endpoint.")
    var to = "tcp://127.0.0.1:7001"

    @Option(help: ArgumentHelp("Publish to NATS JetStream instead: the servers, comma-separated.", valueName: "url"))
    var nats: String?

    @Option(help: "With --nats: the sample stream (nats.ingest_stream).")
    var stream = "VIGIL_SAMPLES"

    @Option(help: "Pace: 1x (recorded time), 10x, 0.5x … or max (as fast as possible).")
    var speed = "max"

    @Option(help: "Cap on samples per second (0: no cap).")
    var rate: Double = 0

    @Flag(help: "Start again from the beginning at the end (stop with Ctrl-C, or see --passes).")
    var loop = false

    @Option(help: "With --loop: stop after this many passes (default: never).")
    var passes: Int?

    @Flag(help: ArgumentHelp("Stamp samples on the wall clock instead of their recorded time (for demos and soak tests).",
                             discussion: "Each pass starts now; a sample is stamped when it is due (its recorded offset divided by --speed) or, at --speed max, when it is sent. Stamps rise across --loop passes and never run ahead of the clock. Without it, each --loop pass is shifted after the previous one, until the timestamps would pass the year 2262 (an error)."))
    var rebaseTime = false

    @Option(help: "Payload format: binary (VGL1 batches) or json.")
    var format: PayloadFormat = .binary

    @Option(help: "Most samples of one sensor in one binary message when unpaced.")
    var batch = 256

    @Option(help: "Labels JSON for NAB-style files (only used to find the files' names).")
    var labels: String?

    @Flag(help: "No progress bar.")
    var quiet = false

    @OptionGroup(title: "CURVE authentication")
    var curve: CurveClientOptions

    enum PayloadFormat: String, ExpressibleByArgument { case binary, json }

    func validate() throws {
        if speedFactor == nil { throw ValidationError("--speed takes max or a factor such as 1x, 10x, 0.5x; got '\(speed)'") }
        if rate < 0 { throw ValidationError("--rate must not be negative") }
        if batch < 1 || batch > 65_536 { throw ValidationError("--batch must be between 1 and 65536") }
        if let passes, passes < 1 { throw ValidationError("--passes must be at least 1") }
    }

    /// Recorded-time factor; 0 means as fast as possible.
    var speedFactor: Double? {
        if speed == "max" { return 0 }
        let text = speed.hasSuffix("x") ? String(speed.dropLast()) : speed
        guard let f = Double(text), f > 0, f.isFinite else { return nil }
        return f
    }

    func run() throws {
        let fixtures: [Fixture]
        do {
            fixtures = try FixtureLoader(labels: nil).load(files)
        } catch {
            throw ValidationError("\(error)")
        }
        let stream = ReplayStream(fixtures: fixtures)
        guard stream.sampleCount > 0, let first = stream.firstTimestamp else {
            throw ValidationError("no samples in \(files.joined(separator: " "))")
        }
        let sink = try ReplaySink(command: self)
        defer { sink.close() }

        let factor = speedFactor ?? 0
        let progress = ProgressBar(total: stream.sampleCount, enabled: !quiet)
        let started = Date()
        var sent = 0
        var messages = 0
        var pending: [Int: [(ts: Int64, value: Double)]] = [:]
        var pendingCount = 0
        func flush() throws {
            for (sensor, samples) in pending.sorted(by: { $0.key < $1.key }) where !samples.isEmpty {
                try sendSamples(sink, sensor: stream.sensors[sensor], samples: samples)
                messages += format == .json ? samples.count : 1
            }
            pending.removeAll(keepingCapacity: true)
            pendingCount = 0
        }

        // Timestamps keep rising across --loop passes, never overflow, and with --rebase-time
        // follow the wall clock (see ReplayTimeline).
        var timeline = stream.timeline(rebase: rebaseTime, speed: factor)!
        let stampsEachSample = rebaseTime && factor == 0
        var completedPasses = 0

        repeat {
            let wallStart = Date()
            try timeline.beginPass(now: SystemTime.wallNanoseconds())
            var failure: (any Error)?
            stream.forEach { event in
                let ts: Int64
                do {
                    ts = try timeline.stamp(event.timestamp, now: stampsEachSample ? SystemTime.wallNanoseconds() : 0)
                } catch {
                    failure = error
                    return false
                }
                if factor > 0 {
                    let due = (Double(event.timestamp) - Double(first)) / 1e9 / factor
                    let wait = due - Date().timeIntervalSince(wallStart)
                    if wait > 0.002 {
                        do { try flush() } catch { failure = error; return false }
                        Thread.sleep(forTimeInterval: wait)
                    }
                }
                if rate > 0 {
                    let wait = Double(sent) / rate - Date().timeIntervalSince(started)
                    if wait > 0.002 {
                        do { try flush() } catch { failure = error; return false }
                        Thread.sleep(forTimeInterval: wait)
                    }
                }
                pending[event.sensor, default: []].append((ts, event.value))
                pendingCount += 1
                sent += 1
                if pending[event.sensor]!.count >= (format == .json ? 1 : batch) || pendingCount >= 65_536 {
                    do { try flush() } catch { failure = error; return false }
                }
                if sent % 4096 == 0 { progress.advance(4096) }
                return true
            }
            if let failure { throw failure }
            try flush()
            completedPasses += 1
        } while loop && completedPasses < (passes ?? .max)

        progress.finish()
        sink.close()  // ZeroMQ's linger waits until queued messages are handed to the daemon
        let seconds = Date().timeIntervalSince(started)
        let rateText = seconds > 0 ? String(format: "%.0f", Double(sent) / seconds) : "-"
        print("replayed \(sent) samples of \(stream.sensors.count) sensors from \(fixtures.count) file\(fixtures.count == 1 ? "" : "s") in \(messages) messages to \(sink.destination) in \(String(format: "%.2f", seconds)) s (\(rateText) samples/s)")
    }

    private func sendSamples(_ sink: ReplaySink, sensor: String, samples: [(ts: Int64, value: Double)]) throws {
        switch format {
        case .binary:
            try sink.send(sensor: sensor, firstTimestamp: samples[0].ts, count: samples.count,
                          IngestEncoder.binary(sensor: sensor, samples: samples))
        case .json:
            for s in samples { try sink.send(sensor: sensor, firstTimestamp: s.ts, count: 1, IngestEncoder.json(sensor: sensor, ts: s.ts, value: s.value)) }
        }
    }
}

/// Where `vigil replay` sends: a daemon's ZeroMQ PULL endpoint, or the JetStream sample stream.
final class ReplaySink {
    private var push: ZMQSocket?
    private var watch: HandshakeWatch?
    private var context: ZMQContext?
    private var jetStream: JetStream?
    private var connection: NATSConnection?
    private var partitions = 1
    private var streamName = ""
    let destination: String

    init(command: Replay) throws {
        if let nats = command.nats {
            let servers = nats.split(separator: ",").map(String.init)
            destination = "\(command.stream) on \(nats)"
            do {
                let c = try NATSConnection(servers: servers, name: "vigil replay")
                let js = try c.jetStream()
                guard let info = try js.streamInfo(command.stream) else {
                    throw CLIError("the JetStream stream \(command.stream) does not exist at \(nats): start vigild with a nats section first (it creates the stream with its partitions)")
                }
                guard let n = SensorPartition.partitions(fromStreamDescription: info.description) else {
                    throw CLIError("the stream \(command.stream) was not made by vigild (its description does not give the partition count)")
                }
                connection = c
                jetStream = js
                partitions = n
                streamName = command.stream
            } catch let error as NATSError {
                throw CLIError("cannot reach NATS at \(nats): \(error)")
            }
            return
        }
        destination = command.to
        let credentials = try command.curve.credentials()
        let context = try ZMQContext()
        let push = try ZMQSocket(context: context, type: .push, lingerMilliseconds: 30_000)
        try push.setSendHighWaterMark(10_000)
        try credentials?.apply(to: push)
        let watch = try HandshakeWatch(push, context: context, endpoint: command.to, role: "ingest endpoint", credentials: credentials)
        self.watch = watch
        self.context = context
        try push.connect(command.to)
        try watch.await(milliseconds: command.curve.handshakeMilliseconds)
        self.push = push
    }

    /// Sends one message of `count` samples of `sensor` starting at `firstTimestamp`.
    func send(sensor: String, firstTimestamp: Int64, count: Int, _ payload: [UInt8]) throws {
        if let push {
            try push.send(payload)
            return
        }
        let subject = SensorPartition.subject(stream: streamName, partition: SensorPartition.of(sensor, partitions: partitions))
        // A server of the cluster going away makes publishes fail for a while: a timeout, a
        // reconnecting connection, or "no responders" while the stream elects a new leader (a few
        // seconds, longer on a loaded machine). Each is retried with the same id, so the message
        // is stored once, for up to `Self.outageSeconds`.
        let id = "\(sensor):\(firstTimestamp):\(count)"
        var tries = 0
        var outageStarted = 0.0
        while true {
            do {
                try jetStream!.publish(subject: subject, payload: payload, messageID: id)
                if tries > 0 {
                    Self.note("JetStream took the message on \(subject) again after \(tries) failed tries (\(String(format: "%.1f", Self.now() - outageStarted)) s)")
                }
                return
            } catch {
                if tries == 0 {
                    outageStarted = Self.now()
                    Self.note("JetStream did not take a message on \(subject) (\(error)); retrying for up to \(Int(Self.outageSeconds)) s")
                }
                tries += 1
                if Self.now() - outageStarted >= Self.outageSeconds {
                    throw CLIError("cannot publish to \(subject): \(error) (still failing after \(tries) tries in \(Int(Self.outageSeconds)) s)")
                }
                Thread.sleep(forTimeInterval: Double(Self.retryDelay.milliseconds(afterFailures: tries)) / 1000)
            }
        }
    }

    /// How long a JetStream outage may last before replay gives up (a leader election takes
    /// seconds), and the waits between tries.
    static let outageSeconds = 60.0
    static let retryDelay = RetryDelay(firstMilliseconds: 50, maximumMilliseconds: 1000)

    private static func now() -> Double { Double(SystemTime.monotonicNanoseconds()) / 1e9 }

    /// One line on stderr (the summary and progress bar stay on stdout).
    private static func note(_ text: String) {
        FileHandle.standardError.write(Data("vigil replay: \(text)\n".utf8))
    }

    func close() {
        push?.close()
        push = nil
        watch?.close()
        watch = nil
        connection?.close()
    }
}

