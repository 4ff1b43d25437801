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

    // The bare detectors of the z-score family at their defaults (window 256, warm-up 64; EWMA
    // alpha 0.01), after warm-up. All three promise an allocation-free `update` (checked in-run).
    func zscoreFamily<D: StreamingDetector>(_ name: String, _ make: @escaping @Sendable () -> D) {
        Benchmark(name, configuration: config) { benchmark in
            var detector = make()
            for v in signal { _ = detector.update(timestamp: 0, value: v) }
            var sum = 0.0
            signal.withUnsafeBufferPointer { values in
                benchmark.startMeasurement()
                measure(benchmark, items: updatesPerRun, noAllocations: "z-score family update") {
                        var k = 0
                        for _ in 0..<updatesPerRun {
                            if let out = detector.update(timestamp: Int64(k), value: values[k & 4_095]) { sum += out.score }
                            k &+= 1
                        }
                }
            }
            blackHole(sum)
        }
    }
    zscoreFamily("ZScore/rolling update (window 256)") { ZScoreDetector() }
    zscoreFamily("ZScore/EWMA update (alpha 0.01)") { EWMAZScoreDetector() }
    zscoreFamily("ZScore/robust median+MAD update (window 256)") { RobustZScoreDetector() }

    // Raw score -> probability (default history 2000, short window 10, warm-up 200), fed |z|-like
    // scores, past its warm-up.
    Benchmark("Calibration/ScoreCalibrator.calibrate (history 2000)", configuration: config) { benchmark in
        let raw = signal.map { abs($0 - 10) }
        var calibrator = ScoreCalibrator()
        for r in raw { _ = calibrator.calibrate(r) }
        var sum = 0.0
        raw.withUnsafeBufferPointer { values in
            benchmark.startMeasurement()
            measure(benchmark, items: updatesPerRun, noAllocations: "ScoreCalibrator.calibrate") {
                    for k in 0..<updatesPerRun {
                        if let p = calibrator.calibrate(values[k & 4_095]) { sum += p }
                    }
            }
        }
        blackHole(sum)
    }
}
