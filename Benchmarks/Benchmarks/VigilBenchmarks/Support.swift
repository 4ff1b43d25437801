// SPDX-License-Identifier: GPL-3.0-or-later
import Benchmark
import Foundation
import MallocInterposerSwift
import Synchronization
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// Metrics of our own next to the package's.
enum BenchMetric {
    /// Samples (or updates, or items) per second, measured inside one run around the hot loop.
    static let itemsPerSecond = BenchmarkMetric.custom("items/s", polarity: .prefersLarger, useScalingFactor: false)
    /// End to end: the rate at which the sender process handed samples to libzmq (its own limit).
    static let senderRate = BenchmarkMetric.custom("sender items/s", polarity: .prefersLarger, useScalingFactor: false)
    /// Mallocs made by the measuring thread alone during the measured region (other threads, such
    /// as the isolation forest trainer, are left out; `mallocCountTotal` counts them all).
    static let threadMallocs = BenchmarkMetric.custom("mallocs (this thread)", polarity: .prefersSmaller, useScalingFactor: false)
}

/// Counts the mallocs of one thread through the interposer's allocation hook (which runs on the
/// allocating thread, only while the package counts allocations).
enum ThreadMallocs {
    private static let thread = Atomic<UInt>(0)
    private static let counter = Atomic<Int>(0)
    private static let installed = Atomic<Bool>(false)

    /// Starts counting the calling thread's mallocs (from zero).
    static func begin() {
        thread.store(UInt(pthread_self()), ordering: .relaxed)
        counter.store(0, ordering: .relaxed)
        if !installed.exchange(true, ordering: .acquiringAndReleasing) {
            // Reentrancy-safe: an atomic load, pthread_self and an atomic add allocate nothing.
            MallocInterposerSwift.setAllocationHook { _ in
                if UInt(pthread_self()) == ThreadMallocs.thread.load(ordering: .relaxed) {
                    ThreadMallocs.counter.wrappingAdd(1, ordering: .relaxed)
                }
            }
        }
    }

    /// The calling thread's mallocs since `begin()`.
    static var count: Int { counter.load(ordering: .relaxed) }
}

/// Times `body` (which processes `items` items), records `items/s` for this run and returns it.
///
/// With `noAllocations`, also checks that `body` allocated nothing: the malloc interposer's
/// count is read around it and a non-zero difference traps (a steady-state loop that allocates
/// is a bug). The count is only live while the benchmark measures malloc metrics (the default
/// here); with `--metric` lists without them the check sees zero and passes.
///
/// With `threadOnly`, the check (and the `mallocs (this thread)` metric) counts only the calling
/// thread's mallocs: for code that promises an allocation-free hot path while other threads of
/// its own (a background trainer) allocate by design.
@inline(__always) @discardableResult
func measure(_ benchmark: Benchmark, items: Int, noAllocations: StaticString? = nil, threadOnly: Bool = false,
             _ body: () -> Void) -> Double {
    if threadOnly { ThreadMallocs.begin() }
    let mallocsBefore = MallocInterposerSwift.getStatistics().mallocCount
    let start = SystemTime.monotonicNanoseconds()
    body()
    let elapsed = SystemTime.monotonicNanoseconds() - start
    let mallocs = threadOnly ? ThreadMallocs.count : MallocInterposerSwift.getStatistics().mallocCount - mallocsBefore
    benchmark.stopMeasurement()
    if threadOnly { benchmark.measurement(BenchMetric.threadMallocs, mallocs) }
    if let what = noAllocations, mallocs != 0 {
        if ProcessInfo.processInfo.environment["VIGIL_BENCH_ALLOW_ALLOCATIONS"] == nil {
            fatalError("\(what): \(mallocs) allocations in the steady state (expected 0); set VIGIL_BENCH_ALLOW_ALLOCATIONS=1 to measure anyway")
        }
    }
    let rate = Double(items) * 1e9 / Double(max(elapsed, 1))
    benchmark.measurement(BenchMetric.itemsPerSecond, Int(rate))
    return rate
}

/// State a benchmark's setup creates and its teardown ends (the hooks take no arguments).
final class Holder<Value>: @unchecked Sendable {
    var value: Value?
    init() {}
}

/// Details of a run (rates, memory samples) that the tables cannot show. The benchmark tool keeps
/// the benchmark process's standard output and error to itself, so they are appended to
/// `VIGIL_BENCH_LOG` (default `Benchmarks/.build/vigil-bench-details.log`) as well as written to
/// standard error.
func reportLine(_ line: String) {
    let data = Data((line + "\n").utf8)
    FileHandle.standardError.write(data)
    let path = ProcessInfo.processInfo.environment["VIGIL_BENCH_LOG"] ?? EndToEnd.packageDirectory + "/.build/vigil-bench-details.log"
    if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
    if let h = FileHandle(forWritingAtPath: path) {
        h.seekToEndOfFile()
        h.write(data)
        try? h.close()
    }
}

/// Floors measured in the same run as the figure they bound, so that a figure is read as a
/// ratio on a machine whose speed varies from day to day (and from minute to minute when it is
/// shared).
enum Floor {
    /// Ratio of a figure to its floor, as an integer metric in thousandths (package-benchmark's
    /// metrics are integers): 620 means 0.62 × the floor.
    static let ratio = BenchmarkMetric.custom("ratio to floor (‰)", polarity: .prefersLarger, useScalingFactor: false)
    /// The floor's own rate in the same run.
    static let floorRate = BenchmarkMetric.custom("floor items/s", polarity: .prefersLarger, useScalingFactor: false)

    /// `Benchmarks/Floors/spsc_ring.c` compiled with `gcc -O2` into `Benchmarks/.build/floors/`
    /// (once per process); nil when gcc is not available.
    static let cRing: String? = {
        let source = EndToEnd.packageDirectory + "/Floors/spsc_ring.c"
        let directory = EndToEnd.packageDirectory + "/.build/floors"
        let binary = directory + "/spsc_ring"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let gcc = Process()
        gcc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gcc.arguments = ["gcc", "-O2", "-pthread", "-o", binary, source]
        guard (try? gcc.run()) != nil else { return nil }
        gcc.waitUntilExit()
        return gcc.terminationStatus == 0 ? binary : nil
    }()

    /// One run of the C SPSC ring moving `samples` samples: samples per second, or nil.
    static func cRingRate(samples: Int) -> Double? {
        guard let binary = cRing else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = [String(samples), "1"]
        let pipe = Pipe()
        p.standardOutput = pipe
        guard (try? p.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return (object["rate"] as? NSNumber)?.doubleValue
    }

    /// Records `rate` against `floor` (both items/s) on `benchmark` and in the details log.
    static func record(_ benchmark: Benchmark, _ what: String, rate: Double, floor: Double?, floorName: String) {
        guard let floor, floor > 0 else { return }
        benchmark.measurement(floorRate, Int(floor))
        benchmark.measurement(ratio, Int((rate / floor * 1000).rounded()))
        reportLine(String(format: "%@: %.2f M/s = %.3f × %@ (%.2f M/s, same run)", what, rate / 1e6, rate / floor, floorName, floor / 1e6))
    }
}
