// SPDX-License-Identifier: GPL-3.0-or-later
import Benchmark
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
@inline(__always)
func measureRate(_ benchmark: Benchmark, items: Int, _ body: () -> Void) {
    let start = monotonicNanoseconds()
    body()
    let elapsed = monotonicNanoseconds() - start
    benchmark.measurement(BenchMetric.itemsPerSecond, Int(Double(items) * 1e9 / Double(max(elapsed, 1))))
}

/// In-run allocation check for steady-state loops.
enum SteadyState {
    /// Runs `body` and traps if the malloc interposer counted any allocation in it. The count is
    /// only live while the benchmark measures malloc metrics (the default here); with
    /// `--metric throughput` alone the check sees zero and passes.
    @inline(__always)
    static func requireNoAllocations(_ what: StaticString, _ body: () -> Void) {
        let before = MallocInterposerSwift.getStatistics().mallocCount
        body()
        let after = MallocInterposerSwift.getStatistics().mallocCount
        if after != before {
            fatalError("\(what): \(after - before) allocations in the steady state (expected 0)")
        }
    }
}

/// State a benchmark's setup creates and its teardown ends (the hooks take no arguments).
final class Holder<Value>: @unchecked Sendable {
    var value: Value?
    init() {}
}
