// SPDX-License-Identifier: GPL-3.0-or-later
import Benchmark
import VigilCore
import VigilDetectors
import VigilTestKit
#if canImport(Glibc)
import Glibc
#endif

/// Thread CPU nanoseconds per round (per item), next to the wall-clock `items/s`.
private let cpuPerItem = BenchmarkMetric.custom("CPU ns/round", polarity: .prefersSmaller, useScalingFactor: false)

/// `measure`, also recording the thread CPU time per item.
private func measureCPU(_ benchmark: Benchmark, items: Int, noAllocations: StaticString, _ body: () -> Void) {
    let cpu = SystemTime.threadCPUNanoseconds()
    measure(benchmark, items: items, noAllocations: noAllocations, body)
    benchmark.measurement(cpuPerItem, Int((SystemTime.threadCPUNanoseconds() - cpu) / UInt64(max(items, 1))))
}

/// The PCA monitor of a 30-member asset with 2 lags (90 variables), as `AssetDetector` runs it
/// once per round, on a `LatentFactorPlant` recording (5 factors, delays up to 3 rounds):
/// - `update` once the baseline is learned, without adaptation (scoring only: T², Q, the members'
///   parts and the evidence) and with the shipped adaptation (exponentially weighted mean and
///   covariance on every in-control round, a one-sweep refresh every 1000 of them: the refresh's cost is
///   included, spread over the rounds); both promise no allocation (checked in-run);
/// - a whole round through `AssetDetector` (30 member updates, the last one completing it);
/// - the fit at the end of a 1000-round baseline (decomposition, components, cross-validated
///   limits), as a time (`wallClock`).
func pcaBenchmarks() {
    let members = 30
    let recording = LatentFactorPlant(sensors: members, factors: 5, rounds: 6_000, seed: 3).generate().values
    let flat = recording.flatMap { $0 }
    let rounds = recording.count
    let config = Benchmark.Configuration(
        metrics: [.mallocCountTotal, BenchMetric.itemsPerSecond, cpuPerItem],
        scalingFactor: .one, maxDuration: .seconds(2), maxIterations: 200)
    let roundsPerRun = 20_000

    func monitorBenchmark(_ name: String, _ configuration: PCAConfiguration) {
        let roundsPerRun = configuration.updateEvery == 1 ? 200 : roundsPerRun
        Benchmark(name, configuration: config) { benchmark in
            var monitor = PCAMonitor(configuration: configuration, dimension: members)
            flat.withUnsafeBufferPointer { values in
                let base = values.baseAddress!
                for t in 0..<1_500 {
                    _ = monitor.update(timestamp: Int64(t), vector: UnsafeBufferPointer(start: base + t * members, count: members), alertRaised: false)
                }
                precondition(monitor.isMonitoring)
                var sum = 0.0
                benchmark.startMeasurement()
                measureCPU(benchmark, items: roundsPerRun, noAllocations: "PCAMonitor.update") {
                    sum = monitorRounds(&monitor, base, members: members, rounds: rounds, count: roundsPerRun)
                }
                blackHole(sum)
            }
        }
    }
    monitorBenchmark("PCA/monitor update, 30 members, 2 lags, no adaptation", PCAConfiguration(forgetting: 1))
    monitorBenchmark("PCA/monitor update, 30 members, 2 lags, shipped adaptation (refresh every 1000)", PCAConfiguration())
    monitorBenchmark("PCA/monitor update, 30 members, 2 lags, adaptation without refresh", PCAConfiguration(updateEvery: 1 << 40))
    // Every in-control round refreshes: the rate is that of refreshes (plus a round's scoring).
    monitorBenchmark("PCA/monitor refresh every round (one Jacobi sweep, 90 variables)", PCAConfiguration(updateEvery: 1))

    Benchmark("PCA/AssetDetector round, 30 members, 2 lags (shipped settings)", configuration: config) { benchmark in
        let section = DetectorSection(PCAConfiguration(), alerts: AlertPolicy(threshold: 1, criticalThreshold: 3, raiseAfter: 3, clearAfter: 5, clearRatio: 1))
        var asset = AssetDetector(asset: 0, settings: .init(pca: section), dimension: members)
        var alerts = 0
        for t in 0..<1_500 {
            for i in 0..<members { asset.update(position: i, timestamp: Int64(t), value: flat[t * members + i], score: { _, _ in }, emit: { _ in }) }
        }
        flat.withUnsafeBufferPointer { values in
            benchmark.startMeasurement()
            measureCPU(benchmark, items: roundsPerRun, noAllocations: "AssetDetector.update (PCA)") {
                alerts = assetRounds(&asset, values.baseAddress!, members: members, rounds: rounds, count: roundsPerRun)
            }
        }
        blackHole(alerts)
    }

    let fitConfig = Benchmark.Configuration(
        metrics: [.wallClock, .cpuUser, .mallocCountTotal],
        warmupIterations: 1, scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 20)
    Benchmark("PCA/baseline fit, 30 members, 2 lags, 1000 rounds", configuration: fitConfig) { benchmark in
        var monitor = PCAMonitor(configuration: PCAConfiguration(), dimension: members)
        flat.withUnsafeBufferPointer { values in
            let base = values.baseAddress!
            // Rounds 0 and 1 fill the lag history; rounds 2…1000 are 999 baseline vectors.
            for t in 0..<1_001 {
                _ = monitor.update(timestamp: Int64(t), vector: UnsafeBufferPointer(start: base + t * members, count: members), alertRaised: false)
            }
            precondition(!monitor.isMonitoring && monitor.baselineCount == 1_000 - 1)
            benchmark.startMeasurement()
            _ = monitor.update(timestamp: 1_001, vector: UnsafeBufferPointer(start: base + 1_001 * members, count: members), alertRaised: false)
            benchmark.stopMeasurement()
            precondition(monitor.isMonitoring)
        }
    }
}

/// `count` rounds through `monitor`, cycling over rounds 1500..<rounds (an `inout` parameter, so
/// no dynamic exclusivity checks of a captured variable are measured).
@inline(never)
private func monitorRounds(_ monitor: inout PCAMonitor, _ base: UnsafePointer<Double>, members: Int, rounds: Int, count: Int) -> Double {
    var sum = 0.0
    var t = 1_500
    for _ in 0..<count {
        let v = UnsafeBufferPointer(start: base + t * members, count: members)
        if let out = monitor.update(timestamp: Int64(t), vector: v, alertRaised: false) { sum += out.score }
        t += 1
        if t == rounds { t = 1_500 }
    }
    return sum
}

/// `count` rounds through `asset`, every member once per round (see `monitorRounds`).
@inline(never)
private func assetRounds(_ asset: inout AssetDetector, _ base: UnsafePointer<Double>, members: Int, rounds: Int, count: Int) -> Int {
    var alerts = 0
    var t = 1_500
    for _ in 0..<count {
        for i in 0..<members {
            asset.update(position: i, timestamp: Int64(t), value: base[t * members + i], score: { _, _ in }, emit: { _ in alerts += 1 })
        }
        t += 1
        if t == rounds { t = 1_500 }
    }
    return alerts
}
