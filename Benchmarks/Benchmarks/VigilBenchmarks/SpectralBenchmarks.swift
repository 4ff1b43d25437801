// SPDX-License-Identifier: GPL-3.0-or-later
import Benchmark
import FFT
import VigilCore
import VigilDetectors

/// Spectral residual (`hop` 1: one forward and one backward FFT per sample) at four windows (59,
/// the shipped one, makes N = 64),
/// each next to the floor: bare FFTW r2c forward + complex backward of the same extended size
/// N = window + estimatedPoints (what the detector runs), r2c + c2r of N, and the same pair at
/// the power of two `window` (what N would cost if it were FFT-friendly), and the r2c + c2c pair
/// planned with `FFTW_MEASURE` instead of the detector's `FFTW_ESTIMATE`. Each residual run also
/// times the bare pair right after itself and records the ratio (`ratio to floor (‰)`).
///
/// No in-run zero-allocation check here: FFTW's `fftw_execute_dft*` itself mallocs on every call
/// for sizes with a large prime factor (N = 69 = 3·23, 261 = 9·29), so the check would trap on
/// the library, not on Vigil. `mallocCountTotal` shows it per run instead (see the report).
func spectralBenchmarks() {
    let signal = testSignal(count: 8_192)
    for window in [59, 64, 256, 1_024] {
        // Aim for a few milliseconds per run.
        let updates = max(256, (1 << 18) / window)
        let config = Benchmark.Configuration(
            metrics: [.mallocCountTotal, BenchMetric.itemsPerSecond],
            scalingFactor: .one, maxDuration: .seconds(2), maxIterations: 1_000)
        let configuration = SpectralResidualConfiguration(window: window)
        let n = window + configuration.estimatedPoints

        var withFloor = config
        withFloor.metrics += [Floor.floorRate, Floor.ratio]
        let name = "Spectral/residual update window \(window) (N=\(n))"
        Benchmark(name, configuration: withFloor) { benchmark in
            var detector = SpectralResidualDetector(configuration: configuration)
            for k in 0..<(window + 8) { _ = detector.update(timestamp: 0, value: signal[k]) }
            var sum = 0.0
            let rate = signal.withUnsafeBufferPointer { values in
                benchmark.startMeasurement()
                return measure(benchmark, items: updates) {
                        for k in 0..<updates {
                            if let out = detector.update(timestamp: Int64(k), value: values[k & 8_191]) { sum += out.score }
                        }
                }
            }
            blackHole(sum)
            // The floor in the same run: the bare FFTW pair the detector executes per update
            // (r2c forward + c2c backward of N points, the detector's plans and rigor).
            let forward = FFTPlan.shared(.realToComplex, count: n, rigor: .estimate)
            let backward = FFTPlan.shared(.complexBackward, count: n, rigor: .estimate)
            let input = FFTBuffer(realCount: n), spectrum = FFTBuffer(complexCount: n), output = FFTBuffer(complexCount: n)
            for k in 0..<n { input[k] = signal[k] }
            let start = SystemTime.monotonicNanoseconds()
            for _ in 0..<updates {
                forward.execute(real: input.pointer.baseAddress!, spectrum: spectrum.pointer.baseAddress!)
                backward.execute(input: spectrum.pointer.baseAddress!, output: output.pointer.baseAddress!)
            }
            let floor = Double(updates) * 1e9 / Double(max(SystemTime.monotonicNanoseconds() - start, 1))
            blackHole(output[1].0)
            withExtendedLifetime((input, spectrum, output)) {}
            Floor.record(benchmark, name, rate: rate, floor: floor, floorName: "FFTW r2c + c2c backward pair at N=\(n)")
        }

        var floors = [("N=\(n)", n, FFTRigor.estimate), ("N=\(n) FFTW_MEASURE", n, .measure)]
        if window & (window - 1) == 0 { floors.append(("N=\(window) pow2", window, .estimate)) }
        for (label, size, rigor) in floors {
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
