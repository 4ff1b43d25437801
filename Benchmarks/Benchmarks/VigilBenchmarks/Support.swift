// SPDX-License-Identifier: GPL-3.0-or-later
import Benchmark
import Foundation
import MallocInterposerSwift
#if canImport(Glibc)
import Glibc
#endif

/// Metrics of our own next to the package's.
enum BenchMetric {
    /// Samples (or updates, or items) per second, measured inside one run around the hot loop.
    static let itemsPerSecond = BenchmarkMetric.custom("items/s", polarity: .prefersLarger, useScalingFactor: false)
    /// End to end: the rate at which the sender process handed samples to libzmq (its own limit).
    static let senderRate = BenchmarkMetric.custom("sender items/s", polarity: .prefersLarger, useScalingFactor: false)
}

/// CLOCK_MONOTONIC in nanoseconds (the same clock Python's `time.monotonic_ns()` reads, so a
/// sender process's timestamps compare with ours).
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Times `body` (which processes `items` items) and records `items/s` for this run.
///
/// With `noAllocations`, also checks that `body` allocated nothing: the malloc interposer's
/// count is read around it and a non-zero difference traps (a steady-state loop that allocates
/// is a bug). The count is only live while the benchmark measures malloc metrics (the default
/// here); with `--metric` lists without them the check sees zero and passes.
@inline(__always)
func measure(_ benchmark: Benchmark, items: Int, noAllocations: StaticString? = nil, _ body: () -> Void) {
    let mallocsBefore = MallocInterposerSwift.getStatistics().mallocCount
    let start = monotonicNanoseconds()
    body()
    let elapsed = monotonicNanoseconds() - start
    let mallocs = MallocInterposerSwift.getStatistics().mallocCount - mallocsBefore
    benchmark.stopMeasurement()
    if let what = noAllocations, mallocs != 0 {
        if ProcessInfo.processInfo.environment["VIGIL_BENCH_ALLOW_ALLOCATIONS"] == nil {
            fatalError("\(what): \(mallocs) allocations in the steady state (expected 0); set VIGIL_BENCH_ALLOW_ALLOCATIONS=1 to measure anyway")
        }
    }
    benchmark.measurement(BenchMetric.itemsPerSecond, Int(Double(items) * 1e9 / Double(max(elapsed, 1))))
}

/// State a benchmark's setup creates and its teardown ends (the hooks take no arguments).
final class Holder<Value>: @unchecked Sendable {
    var value: Value?
    init() {}
}
