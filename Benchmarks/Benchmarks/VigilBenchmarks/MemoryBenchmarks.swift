// SPDX-License-Identifier: GPL-3.0-or-later
import Benchmark
import Foundation
import MallocInterposerSwift
import VigilCore
import VigilDaemon
import VigilDetectors
import VigilTestKit
#if canImport(Glibc)
import Glibc
#endif

/// Memory of Vigil per sensor, two ways:
///
/// - `Memory/daemon ...`: an in-process `Daemon` (shipped detector defaults, `DetectorSettings()`;
///   free endpoints, metrics off) is streamed binary batches of 256 over 10 000 sensors by
///   `e2e_sender.py` for `VIGIL_MEMORY_SECONDS` (default 45) seconds. The process's resident set
///   (`/proc/self/statm`) is sampled every 250 ms: at the start (daemon up, no sensor), when warm
///   (every sensor seen twice and at least 5 s of streaming), and at the end of streaming. Flat
///   means the end is within 1 % of the warm figure; the per-sensor estimate is
///   (warm − start) / 10 000. Then zero loss is checked as in the end-to-end benchmarks.
/// - `Memory/SensorDetectors heap bytes ...`: the bytes malloc'd (as the interposer accounts them)
///   to build 1000 `SensorDetectors` of one setting, divided by 1000: the exact heap state per
///   sensor, before allocator overhead (isolation forests trained later are not included).
func memoryBenchmarks() {
    let seconds = Double(ProcessInfo.processInfo.environment["VIGIL_MEMORY_SECONDS"] ?? "45") ?? 45
    let config = Benchmark.Configuration(
        metrics: [.peakMemoryResident, MemoryMetric.rssStart, MemoryMetric.rssWarm, MemoryMetric.rssEnd,
                  MemoryMetric.rssGrowth, MemoryMetric.perSensor, BenchMetric.itemsPerSecond],
        warmupIterations: 0, scalingFactor: .one, maxDuration: .seconds(1), maxIterations: 1)
    Benchmark("Memory/daemon 10000 sensors streaming binary 256 (DetectorSettings())", configuration: config) { benchmark in
        let r = MemoryRun.run(sensors: 10_000, seconds: seconds)
        benchmark.measurement(MemoryMetric.rssStart, r.start / 1024)
        benchmark.measurement(MemoryMetric.rssWarm, r.warm / 1024)
        benchmark.measurement(MemoryMetric.rssEnd, r.end / 1024)
        benchmark.measurement(MemoryMetric.rssGrowth, max(0, r.end - r.warm) / 1024)
        benchmark.measurement(MemoryMetric.perSensor, (r.warm - r.start) / 10_000)
        benchmark.measurement(BenchMetric.itemsPerSecond, Int(r.samplesPerSecond))
    }

    let heapConfig = Benchmark.Configuration(
        metrics: [MemoryMetric.heapPerSensor, .mallocCountTotal],
        warmupIterations: 0, scalingFactor: .one, maxDuration: .seconds(1), maxIterations: 1)
    let z = AlertPolicy(threshold: 5, criticalThreshold: 8)
    let variants: [(String, DetectorSettings)] = [
        ("DetectorSettings() (rolling z + calibrated combine)", DetectorSettings()),
        ("rolling z-score raw alerts (no combine)", DetectorSettings(combine: nil)),
        ("EWMA z-score + combine", DetectorSettings(zscore: .init(ZScoreSettings(mode: .ewma), alerts: z))),
        ("robust z-score + combine", DetectorSettings(zscore: .init(ZScoreSettings(mode: .robust), alerts: z))),
        ("z + SR(w=64) + IForest(shingle 8, background) + combine, before the first forest", DetectorSettings(
            spectralResidual: .init(SpectralResidualConfiguration(window: 64), alerts: AlertPolicy(threshold: 0.5, criticalThreshold: 0.8)),
            isolationForest: .init(IsolationForestConfiguration(), alerts: AlertPolicy(threshold: 0.65, criticalThreshold: 0.75)))),
    ]
    for (label, settings) in variants {
        Benchmark("Memory/SensorDetectors heap bytes per sensor, \(label)", configuration: heapConfig) { benchmark in
            let n = 1_000
            var states: [SensorDetectors] = []
            states.reserveCapacity(n)
            benchmark.startMeasurement()
            let before = MallocInterposerSwift.getStatistics().mallocBytesCount
            for s in 0..<n { states.append(SensorDetectors(sensor: UInt32(s), settings: settings)) }
            let bytes = MallocInterposerSwift.getStatistics().mallocBytesCount - before
            benchmark.stopMeasurement()
            // Plus the inline struct itself, which lives in the worker's array.
            let perSensor = bytes / n + MemoryLayout<SensorDetectors?>.stride
            benchmark.measurement(MemoryMetric.heapPerSensor, perSensor)
            reportLine("Memory/SensorDetectors \(label): \(perSensor) bytes per sensor (\(bytes / n) heap + \(MemoryLayout<SensorDetectors?>.stride) inline)")
            blackHole(states.count)
        }
    }
}

enum MemoryMetric {
    static let rssStart = BenchmarkMetric.custom("RSS start (KiB)", polarity: .prefersSmaller, useScalingFactor: false)
    static let rssWarm = BenchmarkMetric.custom("RSS warm (KiB)", polarity: .prefersSmaller, useScalingFactor: false)
    static let rssEnd = BenchmarkMetric.custom("RSS end (KiB)", polarity: .prefersSmaller, useScalingFactor: false)
    static let rssGrowth = BenchmarkMetric.custom("RSS growth warm->end (KiB)", polarity: .prefersSmaller, useScalingFactor: false)
    static let perSensor = BenchmarkMetric.custom("RSS per sensor (B)", polarity: .prefersSmaller, useScalingFactor: false)
    static let heapPerSensor = BenchmarkMetric.custom("heap per sensor (B)", polarity: .prefersSmaller, useScalingFactor: false)
}

/// The process's resident set in bytes (`/proc/self/statm`, second field, in pages).
func residentBytes() -> Int {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = statm.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * sysconf(Int32(_SC_PAGESIZE))
}

enum MemoryRun {
    struct Result {
        var start: Int
        var warm: Int
        var end: Int
        var peak: Int
        var samplesPerSecond: Double
    }

    static func run(sensors: Int, seconds: Double) -> Result {
        let batch = 256
        let (daemon, ingest, state) = startBenchmarkDaemon()
        defer {
            daemon.stop()
            try? FileManager.default.removeItem(atPath: state)
        }
        usleep(200_000)
        let start = residentBytes()

        let sender = Process()
        sender.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        sender.arguments = ["python3", EndToEnd.packageDirectory + "/e2e_sender.py", ingest, "binary", "1000000000",
                            "--sensors", String(sensors), "--batch", String(batch), "--rounds", "1",
                            "--duration", String(seconds)]
        let pipe = Pipe()
        sender.standardOutput = pipe
        do { try sender.run() } catch { fatalError("cannot start e2e_sender.py: \(error)") }

        // Sample until the sender is done.
        let began = SystemTime.monotonicNanoseconds()
        let warmAfter = UInt64(2 * sensors * batch)
        var warm = 0
        var warmAt: UInt64 = 0
        var end = start
        var peak = start
        var lastPrint: UInt64 = 0
        while sender.isRunning {
            usleep(250_000)
            let now = SystemTime.monotonicNanoseconds()
            let rss = residentBytes()
            let processed = daemon.samplesProcessed
            peak = max(peak, rss)
            if warm == 0 && processed >= warmAfter && now - began >= 5_000_000_000 {
                warm = rss
                warmAt = processed
            }
            if sender.isRunning { end = rss }
            if now - lastPrint >= 5_000_000_000 {
                lastPrint = now
                reportLine(String(format: "  t=%5.1f s  RSS %7.1f MiB  sensors %5d  processed %.0f M",
                             Double(now - began) / 1e9, Double(rss) / 1_048_576, daemon.pipeline.registry.count, Double(processed) / 1e6))
            }
        }
        sender.waitUntilExit()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        guard sender.terminationStatus == 0,
              let report = try? JSONSerialization.jsonObject(with: output) as? [String: Any],
              let first = (report["first_send_ns"] as? NSNumber)?.uint64Value,
              let sent = (report["samples"] as? NSNumber)?.uint64Value else {
            fatalError("e2e_sender.py failed: \(String(decoding: output, as: UTF8.self))")
        }
        let deadline = SystemTime.monotonicNanoseconds() + 120_000_000_000
        while daemon.samplesProcessed < sent {
            precondition(SystemTime.monotonicNanoseconds() < deadline, "processed \(daemon.samplesProcessed) of \(sent)")
            usleep(1_000)
        }
        let done = SystemTime.monotonicNanoseconds()
        usleep(50_000)
        precondition(warm > 0, "never warm: stream longer (VIGIL_MEMORY_SECONDS)")
        precondition(daemon.samplesProcessed == sent, "processed \(daemon.samplesProcessed) != sent \(sent)")
        precondition(daemon.pipeline.drops.totalMessages == 0, "daemon dropped \(daemon.pipeline.drops.totalMessages) messages")
        precondition(daemon.pipeline.registry.count == sensors)
        let rate = Double(sent) / (Double(done - first) / 1e9)
        let mib = { (b: Int) in String(format: "%.1f MiB", Double(b) / 1_048_576) }
        reportLine("Memory/daemon: \(sensors) sensors, \(sent) samples in \(String(format: "%.1f", Double(done - first) / 1e9)) s "
              + "(\(String(format: "%.2f", rate / 1e6)) M samples/s), lost 0, dropped 0")
        reportLine("  RSS start \(mib(start)), warm \(mib(warm)) (after \(warmAt) samples), end \(mib(end)), peak \(mib(peak)); "
              + "growth warm->end \(String(format: "%+.2f", Double(end - warm) / Double(warm) * 100)) %; "
              + "per sensor (warm - start) / \(sensors) = \((warm - start) / sensors) B")
        return Result(start: start, warm: warm, end: end, peak: peak, samplesPerSecond: rate)
    }
}
