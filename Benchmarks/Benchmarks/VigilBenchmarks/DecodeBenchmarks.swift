// SPDX-License-Identifier: GPL-3.0-or-later
import Benchmark
import VigilCore
import VigilTestKit

/// Messages decoded per run.
private let messagesPerRun = 1_000
private let baseTimestamp: Int64 = 1_732_500_000_123_456_789

/// Deterministic values with a realistic number of digits (a pump's vibration in g).
private func value(_ k: Int) -> Double {
    let x = Double((k &* 2_654_435_761) % 100_000) / 100_000
    return (0.42 + 0.1 * x * 1e6).rounded() / 1e6
}

/// Payloads kept in raw memory for the life of the process, so the loop touches no array.
private struct Payloads {
    let buffers: [UnsafeRawBufferPointer]
    let samplesPerMessage: Int

    init(_ messages: [[UInt8]], samplesPerMessage: Int) {
        buffers = messages.map { m in
            let p = UnsafeMutableRawBufferPointer.allocate(byteCount: m.count, alignment: 16)
            m.withUnsafeBytes { p.copyMemory(from: $0) }
            return UnsafeRawBufferPointer(p)
        }
        self.samplesPerMessage = samplesPerMessage
    }
}

private func jsonBatch(sensor: String, count: Int) -> [UInt8] {
    var s = "{\"sensor\":\"\(sensor)\",\"samples\":["
    for k in 0..<count {
        if k > 0 { s += "," }
        s += "[\(baseTimestamp + Int64(k) * 1_000_000),\(value(k))]"
    }
    s += "]}"
    return Array(s.utf8)
}

func decodeBenchmarks() {
    let config = Benchmark.Configuration(
        metrics: [.mallocCountTotal, BenchMetric.itemsPerSecond],
        scalingFactor: .one, maxDuration: .seconds(2), maxIterations: 10_000)

    let sensor = "plant1/pump7/vibration"
    // The last flag says whether the steady state must be allocation-free (checked in the run).
    // Every form is now (the JSON batch form used to malloc once per sample, on the 19-digit
    // timestamps; fixed on main).
    let cases: [(String, Payloads, Bool)] = [
        ("Decode/binary VGL1 batch of 256", Payloads(
            [IngestEncoder.binary(sensor: sensor, samples: (0..<256).map { (baseTimestamp + Int64($0), value($0)) })],
            samplesPerMessage: 256), true),
        ("Decode/JSON one sample", Payloads(
            [IngestEncoder.json(sensor: sensor, ts: baseTimestamp, value: 0.42)], samplesPerMessage: 1), true),
        ("Decode/JSON one sample, 1000 sensors rotating", Payloads(
            (0..<1_000).map { IngestEncoder.json(sensor: "plant1/pump\($0)/vibration", ts: baseTimestamp + Int64($0), value: value($0)) },
            samplesPerMessage: 1), true),
        ("Decode/JSON batch of 256 {sensor,samples:[[ts,v],...]}", Payloads(
            [jsonBatch(sensor: sensor, count: 256)], samplesPerMessage: 256), false),
    ]

    // As the daemon decodes: the shipped timestamp policy (reorder window, future bound) against a
    // clock a minute after the payloads' timestamps; and, for comparison, without any checks.
    let now = baseTimestamp + 60_000_000_000
    let policies: [(String, TimestampPolicy)] = [("", .standard), (" (timestamp checks off)", .unchecked)]
    for (suffix, policy) in policies {
        for (name, payloads, allocationFree) in cases {
            Benchmark(name + suffix, configuration: config) { benchmark in
                var decoder = IngestDecoder(registry: SensorRegistry(limit: 10_000), drops: DropCounters(),
                                            timestampPolicy: policy)
                var out: [Sample] = []
                out.reserveCapacity(16_384)
                // Warm up: intern every sensor, grow nothing later.
                for p in payloads.buffers { _ = decoder.decode(topic: nil, payload: p, now: now, into: &out) }
                precondition(out.count == payloads.buffers.count * payloads.samplesPerMessage, "\(name): payload rejected")
                out.removeAll(keepingCapacity: true)
                let buffers = payloads.buffers
                let count = buffers.count
                var decoded = 0

                benchmark.startMeasurement()
                measure(benchmark, items: messagesPerRun * payloads.samplesPerMessage, noAllocations: allocationFree ? "decode" : nil) {
                        var k = 0
                        for _ in 0..<messagesPerRun {
                            decoded &+= decoder.decode(topic: nil, payload: buffers[k], now: now, into: &out)
                            k += 1
                            if k == count { k = 0 }
                            // As the ingest thread does: hand over (here: forget) every 8192 samples.
                            if out.count >= 8_192 { out.removeAll(keepingCapacity: true) }
                        }
                }
                precondition(decoded == messagesPerRun * payloads.samplesPerMessage, "\(name): samples dropped")
                precondition(decoder.drops.totalMessages == 0)
                blackHole(out.count)
            }
        }
    }
}
