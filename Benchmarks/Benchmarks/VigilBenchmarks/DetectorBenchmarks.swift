// SPDX-License-Identifier: GPL-3.0-or-later
import Benchmark
import VigilCore
import VigilDetectors
#if canImport(Glibc)
import Glibc
#endif

/// Deterministic pseudo-normal values (sum of uniforms) so every run sees the same stream.
func testSignal(count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [Double] {
    var state = seed
    func next() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 11) / Double(1 << 53)
    }
    return (0..<count).map { k in
        var s = 0.0
        for _ in 0..<4 { s += next() }
        return 10 + (s - 2) + 0.5 * sin(Double(k) * 0.05)
    }
}

/// Updates per run for the z-score benchmarks.
private let updatesPerRun = 1 << 20

func zscoreBenchmarks() {
    let config = Benchmark.Configuration(
        metrics: [.mallocCountTotal, BenchMetric.itemsPerSecond],
        scalingFactor: .one, maxDuration: .seconds(2), maxIterations: 200)
    let signal = testSignal(count: 4_096)

    // The bare detector (the default window 256, warm-up 64).
    Benchmark("ZScore/rolling update (window 256)", configuration: config) { benchmark in
        var detector = ZScoreDetector()
        for v in signal { _ = detector.update(timestamp: 0, value: v) }
        var sum = 0.0
        signal.withUnsafeBufferPointer { values in
            benchmark.startMeasurement()
            measure(benchmark, items: updatesPerRun, noAllocations: "zscore update") {
                    var k = 0
                    for _ in 0..<updatesPerRun {
                        if let out = detector.update(timestamp: Int64(k), value: values[k & 4_095]) { sum += out.score }
                        k &+= 1
                    }
            }
        }
        blackHole(sum)
    }

    // What a worker runs per sample: the detector plus its alert state machine, default
    // settings; one sensor (hot cache) and 1000 sensors in turn (2 MB of windows).
    for sensors in [1, 1_000] {
        Benchmark("ZScore/SensorDetectors.process default settings, \(sensors) sensor(s)", configuration: config) { benchmark in
            var states = (0..<sensors).map { SensorDetectors(sensor: UInt32($0), settings: DetectorSettings()) }
            var events = 0
            let emit: (AlertEvent) -> Void = { _ in events &+= 1 }
            for k in 0..<(sensors * 300) {
                states[k % sensors].process(Sample(sensor: UInt32(k % sensors), timestamp: Int64(k), value: signal[k & 4_095]), emit: emit)
            }
            signal.withUnsafeBufferPointer { values in
                states.withUnsafeMutableBufferPointer { states in
                    benchmark.startMeasurement()
                    measure(benchmark, items: updatesPerRun, noAllocations: "SensorDetectors.process") {
                            var s = 0
                            for k in 0..<updatesPerRun {
                                states[s].process(Sample(sensor: UInt32(s), timestamp: Int64(k), value: values[k & 4_095]), emit: emit)
                                s += 1
                                if s == sensors { s = 0 }
                            }
                    }
                }
            }
            blackHole(events)
        }
    }
    // EWMA and robust z-score: `ZScoreMode.ewma` / `.robust` exist as configuration values, but no
    // detector implements them yet (`SensorDetectors` builds `ZScoreDetector` for every mode), so
    // there is nothing separate to measure. Add them here when their detectors land.
}
