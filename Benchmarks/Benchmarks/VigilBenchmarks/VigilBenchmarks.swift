// SPDX-License-Identifier: GPL-3.0-or-later
import Benchmark

/// Every Vigil benchmark, grouped by the part of the daemon it measures. Names start with the
/// group (`Ring/`, `Decode/`, `ZScore/`, `Spectral/`, `FFT/`, `E2E/`) so `--filter '^Decode'`
/// picks one group.
///
/// Each benchmark reports `throughput` (its own unit of work per second: a batch, a message, an
/// update, a transform), `items/s` (samples or updates per second, measured inside the run) and
/// `mallocCountTotal` over the measured region. Benchmarks whose steady state must not allocate
/// also check that inside the run (`SteadyState.requireNoAllocations`) and trap if it does.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal, BenchMetric.itemsPerSecond],
        warmupIterations: 3,
        maxDuration: .seconds(2),
        maxIterations: 1_000
    )
    ringBenchmarks()
    decodeBenchmarks()
    zscoreBenchmarks()
    spectralBenchmarks()
    endToEndBenchmarks()
}
