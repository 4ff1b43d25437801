// SPDX-License-Identifier: GPL-3.0-or-later
import ArgumentParser
import Foundation
import VigilCore
import VigilReplay
import ZeroMQ
#if canImport(Glibc)
import Glibc
#endif

extension LoadFormat: ExpressibleByArgument {}

/// `vigil bench-receive`: the floor of the end-to-end benchmarks. A bound PULL socket set up as
/// `vigild`'s ingest sockets are (receive high-water mark, 4 MiB kernel buffer), drained the way
/// the ingest thread drains them (non-blocking `zmq_msg_recv` into one reused message, `zmq_poll`
/// when empty), doing nothing with the payloads but counting them: the rate at which this
/// machine's ZeroMQ takes a stream, measured in the same run as the daemon taking it.
struct BenchReceive: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-receive",
        abstract: "Receive-only PULL loop: how fast ZeroMQ alone takes a stream (the floor for vigild's ingest).",
        discussion: """
            Binds, prints "listening on ENDPOINT" on standard error, then receives until --messages have
            arrived, or nothing has for --idle-timeout seconds after the first message. Samples are
            counted from the VGL1 headers (other payloads count as one message each).
            Example:
              vigil bench-receive --bind tcp://127.0.0.1:7001 --messages 40000 --json &
              vigil bench-send --to tcp://127.0.0.1:7001 --samples 10240000
            """)

    @Option(help: "Endpoint to bind the PULL socket to.")
    var bind = "tcp://127.0.0.1:7001"

    @Option(help: "Stop after this many messages.")
    var messages: Int?

    @Option(help: "Stop when nothing has arrived for this many seconds after the first message.")
    var idleTimeout = 2.0

    @Option(help: "Give up when no message arrives within this many seconds of starting.")
    var timeout = 60.0

    @Option(help: "Receive high-water mark, in messages (vigild's default ingest.receive_hwm).")
    var hwm: Int32 = 10_000

    @Flag(help: "Print the report as one JSON object.")
    var json = false

    func validate() throws {
        if let messages, messages < 1 { throw ValidationError("--messages must be at least 1") }
        if !(idleTimeout > 0 && idleTimeout.isFinite) { throw ValidationError("--idle-timeout must be a positive number of seconds") }
        if !(timeout > 0 && timeout.isFinite) { throw ValidationError("--timeout must be a positive number of seconds") }
        if hwm < 0 { throw ValidationError("--hwm must not be negative (0: unlimited)") }
    }

    func run() throws {
        let context = try ZMQContext()
        let pull = try ZMQSocket(context: context, type: .pull)
        try pull.setReceiveHighWaterMark(hwm)
        try pull.setKernelBuffers(receive: 4 << 20, send: 0)
        try pull.bind(bind)
        FileHandle.standardError.write(Data("listening on \(pull.lastEndpoint)\n".utf8))

        let message = ZMQMessage()
        let limit = messages ?? Int.max
        var received = 0, samples = 0, bytes = 0, other = 0
        var first: UInt64 = 0, last: UInt64 = 0
        let started = SystemTime.monotonicNanoseconds()
        receiving: while received < limit {
            var got = 0
            while got < 512, received < limit, try pull.receive(into: message, dontWait: true) {
                got += 1
                received += 1
                bytes += message.count
                let binarySamples = message.withBytes { p -> Int? in
                    guard p.count >= 10, p[0] == 0x56, p[1] == 0x47, p[2] == 0x4C, p[3] == 0x31 else { return nil }
                    let idLength = Int(p.loadUnaligned(fromByteOffset: 4, as: UInt16.self).littleEndian)
                    guard p.count >= 10 + idLength else { return nil }
                    return Int(p.loadUnaligned(fromByteOffset: 6 + idLength, as: UInt32.self).littleEndian)
                }
                if let binarySamples { samples += binarySamples } else { other += 1 }
                while message.hasMore { _ = try pull.receive(into: message) }  // later frames of the same message
            }
            let now = SystemTime.monotonicNanoseconds()
            if got > 0 {
                if first == 0 { first = now }
                last = now
                continue
            }
            let waited = Double(now - (first == 0 ? started : last)) / 1e9
            if waited >= (first == 0 ? timeout : idleTimeout) { break receiving }
            _ = try pull.waitReadable(timeoutMilliseconds: 50)
        }
        pull.close()
        let seconds = Double(last - first) / 1e9
        if json {
            print("{\"messages\": \(received), \"samples\": \(samples), \"other_messages\": \(other), \"bytes\": \(bytes), "
                  + "\"seconds\": \(seconds), \"first_receive_ns\": \(first), \"last_receive_ns\": \(last)}")
        } else {
            print("bench-receive: \(received) messages (\(samples) samples in VGL1 messages, \(other) other), \(BenchSend.megabytes(bytes)) "
                  + "in \(String(format: "%.3f", seconds)) s: \(BenchSend.rateText(seconds > 0 ? Double(samples) / seconds : 0)) samples/s, "
                  + "\(BenchSend.rateText(seconds > 0 ? Double(received) / seconds : 0)) messages/s")
        }
        if received == 0 { throw ExitCode(1) }
    }
}
