// SPDX-License-Identifier: GPL-3.0-or-later
import Benchmark
import VigilCore
import VigilDetectors

/// Samples processed per run of the chain benchmarks.
private let samplesPerRun = 1 << 20

/// What a worker runs per sample: `SensorDetectors.process`, sensors in turn (round-robin), after
/// every detector and calibrator has warmed up.
///
/// - shipped defaults (`DetectorSettings()`: rolling z-score, its score calibrated, combined by
///   max, alerts on the combination) over 1, 1000 and 10 000 sensors;
/// - the rolling z-score alone alerting on its raw score (`combine: nil`), the chain before
///   calibration, for comparison;
/// - z-score + spectral residual (window 64) + isolation forest (shingle 8, background training
///   on the shared trainer) calibrated and combined, over 1 and 100 sensors.
///
/// `SensorDetectors.process` promises no allocation. The defaults are checked process-wide; the
/// forest chain only on this (the worker's) thread, as its trainer allocates by design on its own
/// queue (reported by `mallocCountTotal`), and not asserted, because the spectral residual at
/// window 64 transforms N = 69 points and FFTW mallocs on every such execute (see the spectral
/// benchmarks): the `mallocs (this thread)` metric shows it.
func chainBenchmarks() {
    let config = Benchmark.Configuration(
        metrics: [.mallocCountTotal, BenchMetric.itemsPerSecond],
        scalingFactor: .one, maxDuration: .seconds(2), maxIterations: 200)
    let signal = testSignal(count: 4_096)

    func chain(_ name: String, sensors: Int, settings: DetectorSettings, warmup: Int, forest: Bool,
               metrics: [BenchmarkMetric]? = nil) {
        var configuration = config
        if let metrics { configuration.metrics = metrics }
        Benchmark(name, configuration: configuration) { benchmark in
            var states = (0..<sensors).map { SensorDetectors(sensor: UInt32($0), settings: settings) }
            var events = 0
            let emit: (AlertEvent) -> Void = { _ in events &+= 1 }
            var k = 0
            func feed(_ perSensor: Int) {
                for _ in 0..<(sensors * perSensor) {
                    let s = k % sensors
                    states[s].process(Sample(sensor: UInt32(s), timestamp: Int64(k), value: signal[k & 4_095]), emit: emit)
                    k += 1
                }
            }
            feed(warmup)
            if forest {
                // Let every sensor's first background forest be trained and adopted.
                IsolationForestTrainer.shared.waitUntilIdle()
                feed(2)
                IsolationForestTrainer.shared.waitUntilIdle()
                feed(300)
            }
            signal.withUnsafeBufferPointer { values in
                states.withUnsafeMutableBufferPointer { states in
                    benchmark.startMeasurement()
                    measure(benchmark, items: samplesPerRun, noAllocations: forest ? nil : "SensorDetectors.process",
                            threadOnly: forest) {
                        var s = 0
                        for j in 0..<samplesPerRun {
                            states[s].process(Sample(sensor: UInt32(s), timestamp: Int64(j), value: values[j & 4_095]), emit: emit)
                            s += 1
                            if s == sensors { s = 0 }
                        }
                    }
                }
            }
            blackHole(events)
        }
    }

    // Defaults: z-score warm-up 64 + calibrator warm-up 200 scores before the combination runs.
    for sensors in [1, 1_000, 10_000] {
        chain("Chain/SensorDetectors.process DetectorSettings() (rolling z + calibrated combine), \(sensors) sensor(s)",
              sensors: sensors, settings: DetectorSettings(), warmup: 400, forest: false)
    }
    chain("Chain/SensorDetectors.process rolling z-score raw alerts (no combine), 1 sensor",
          sensors: 1, settings: DetectorSettings(combine: nil), warmup: 400, forest: false)

    // Everything on: the first forest is requested after 1024 vectors (retrain_every).
    let all = DetectorSettings(
        spectralResidual: .init(SpectralResidualConfiguration(window: 64), alerts: AlertPolicy(threshold: 0.5, criticalThreshold: 0.8)),
        isolationForest: .init(IsolationForestConfiguration(), alerts: AlertPolicy(threshold: 0.65, criticalThreshold: 0.75)))
    for sensors in [1, 100] {
        chain("Chain/SensorDetectors.process z + SR(w=64) + IForest(shingle 8, background) combined, \(sensors) sensor(s)",
              sensors: sensors, settings: all, warmup: 1_100, forest: true,
              metrics: [.mallocCountTotal, BenchMetric.itemsPerSecond, BenchMetric.threadMallocs])
    }
}
