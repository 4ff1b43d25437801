// SPDX-License-Identifier: GPL-3.0-or-later
import Benchmark
import FFT
import VigilDetectors

/// Spectral residual (`hop` 1: one forward and one backward FFT per sample) at three windows,
/// each next to the floor: bare FFTW r2c forward + complex backward of the same extended size
/// N = window + estimatedPoints (what the detector runs), r2c + c2r of N, and the same pair at
/// the power of two `window` (what N would cost if it were FFT-friendly), and the r2c + c2c pair
/// planned with `FFTW_MEASURE` instead of the detector's `FFTW_ESTIMATE`.
///
/// No in-run zero-allocation check here: FFTW's `fftw_execute_dft*` itself mallocs on every call
/// for sizes with a large prime factor (N = 69 = 3·23, 261 = 9·29), so the check would trap on
/// the library, not on Vigil. `mallocCountTotal` shows it per run instead (see the report).
func spectralBenchmarks() {
    let signal = testSignal(count: 8_192)
    for window in [64, 256, 1_024] {
        // Aim for a few milliseconds per run.
        let updates = max(256, (1 << 18) / window)
        let config = Benchmark.Configuration(
            metrics: [.mallocCountTotal, BenchMetric.itemsPerSecond],
            scalingFactor: .one, maxDuration: .seconds(2), maxIterations: 1_000)
        let configuration = SpectralResidualConfiguration(window: window)
        let n = window + configuration.estimatedPoints

        Benchmark("Spectral/residual update window \(window) (N=\(n))", configuration: config) { benchmark in
            var detector = SpectralResidualDetector(configuration: configuration)
            for k in 0..<(window + 8) { _ = detector.update(timestamp: 0, value: signal[k]) }
            var sum = 0.0
            signal.withUnsafeBufferPointer { values in
                benchmark.startMeasurement()
                measure(benchmark, items: updates) {
                        for k in 0..<updates {
                            if let out = detector.update(timestamp: Int64(k), value: values[k & 8_191]) { sum += out.score }
                        }
                }
            }
            blackHole(sum)
        }

        for (label, size, rigor) in [("N=\(n)", n, FFTRigor.estimate), ("N=\(n) FFTW_MEASURE", n, .measure),
                                     ("N=\(window) pow2", window, .estimate)] {
            Benchmark("FFT/r2c + c2c backward \(label) (floor of window \(window))", configuration: config) { benchmark in
                let forward = FFTPlan.shared(.realToComplex, count: size, rigor: rigor)
                let backward = FFTPlan.shared(.complexBackward, count: size, rigor: rigor)
                let input = FFTBuffer(realCount: size)
                let spectrum = FFTBuffer(complexCount: size)
                let output = FFTBuffer(complexCount: size)
                for k in 0..<size { input[k] = signal[k] }
                benchmark.startMeasurement()
                measure(benchmark, items: updates) {
                        for _ in 0..<updates {
                            forward.execute(real: input.pointer.baseAddress!, spectrum: spectrum.pointer.baseAddress!)
                            backward.execute(input: spectrum.pointer.baseAddress!, output: output.pointer.baseAddress!)
                        }
                }
                blackHole(output[1].0)
                withExtendedLifetime((input, spectrum, output)) {}
            }

            if rigor == .measure { continue }
            Benchmark("FFT/r2c + c2r \(label) (floor of window \(window))", configuration: config) { benchmark in
                let fft = RealFFT(count: size)
                for k in 0..<size { fft.real[k] = signal[k] }
                benchmark.startMeasurement()
                measure(benchmark, items: updates) {
                        for _ in 0..<updates {
                            fft.forward()
                            fft.inverse()
                        }
                }
                blackHole(fft.real[1])
            }
        }
    }
}
