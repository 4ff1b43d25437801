// SPDX-License-Identifier: GPL-3.0-or-later
import Benchmark

/// Every Vigil benchmark, grouped by the part of the daemon it measures. Names start with the
/// group (`Ring/`, `Decode/`, `ZScore/`, `Calibration/`, `IForest/`, `PCA/`,
/// `Chain/`, `Spectral/`, `FFT/`, `E2E/`, `Memory/`) so `--filter 'Decode/.*'`
/// picks one group.
///
/// Each benchmark reports its throughput as `items/s`, measured inside every run around the hot
/// loop: samples for the ring, decode and end-to-end groups, detector updates (one per sample)
/// for the z-score and spectral groups, forward+backward transform pairs for the FFT floors.
/// (The package's own `throughput` metric counts runs per second, which says little here.)
/// Exceptions: `IForest/train` is a time per forest (`wallClock`, one forest per run),
/// `PCA/baseline fit` a time per fit, and
/// `Memory/` reports resident set sizes and bytes per sensor (see `MemoryBenchmarks.swift`).
/// `mallocCountTotal` is the count over the measured region of one run (scaling factor 1, so it
/// is exact). Benchmarks whose steady state must not allocate also check that inside the run
/// (`measure(_:items:noAllocations:_:)`) and trap if it does.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.mallocCountTotal, BenchMetric.itemsPerSecond],
        warmupIterations: 3,
        maxDuration: .seconds(2),
        maxIterations: 1_000
    )
    ringBenchmarks()
    decodeBenchmarks()
    zscoreBenchmarks()
    isolationForestBenchmarks()
    pcaBenchmarks()
    chainBenchmarks()
    spectralBenchmarks()
    endToEndBenchmarks()
    memoryBenchmarks()
}
