// SPDX-License-Identifier: GPL-3.0-or-later
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import FFT

/// Spectral residual saliency and scores (Ren et al., "Time-Series Anomaly Detection Service at
/// Microsoft", KDD 2019), exactly as the public reference implementation's AnomalyOnly path
/// (`msanomalydetector`, `SpectralResidual`), which the vectors under
/// `Tests/VigilDetectorsTests/Vectors/spectral_residual` pin down:
///
/// 1. extend the series with `estimatedPoints` copies of one predicted value, the prediction
///    using the `lookAhead + 1` points that end at the second-to-last point:
///    `v[1] + Σ (v_last − v_i) / (m − 1 − i)`;
/// 2. FFT the extended series (length N); amplitudes ≤ 1e-8 count as 1e-8 with log 0 and their
///    bins are zeroed;
/// 3. multiply each bin by `exp(log A − avg_q(log A)) / A`, where `avg_q` is the trailing average
///    over `magWindow` bins of the *full* N-bin spectrum (so the result is not Hermitian);
/// 4. saliency = magnitude of the inverse FFT (normalised by 1/N);
/// 5. `raw = |S − avg_z(S)| / max(avg_z(S), 1e-8)` with the trailing average over `scoreWindow`
///    points, `score = clip(raw / 10, 0, 1)`.
///
/// A trailing average of width q at index i is the mean of the q values ending at i, or of all
/// i + 1 values so far when i < q; a width beyond the series length is cut to that length.
public enum SpectralResidual {
    /// Amplitudes and averages at or below this are treated as zero (the reference's `EPS`).
    public static let epsilon = 1e-8

    /// Per-point results of `batch`, each as long as the input.
    public struct BatchResult: Sendable, Equatable {
        /// Saliency map S (magnitude of the inverse transform of the spectral residual).
        public var saliency: [Double]
        /// `|S − avg_z(S)| / max(avg_z(S), 1e-8)`.
        public var rawScore: [Double]
        /// `clip(rawScore / 10, 0, 1)`.
        public var score: [Double]
    }

    /// Scores a whole series at once (offline use and parity with the reference).
    ///
    /// - Parameters:
    ///   - values: the series, at least 3 values (the prediction needs two points before the last).
    ///   - magWindow: width q (≥ 1) of the trailing average of the log amplitude spectrum.
    ///   - scoreWindow: width z (≥ 1) of the trailing average of the saliency.
    ///   - estimatedPoints: predicted points appended before the transform (≥ 0).
    ///   - lookAhead: m (≥ 1); the prediction uses the m + 1 points ending at the second-to-last.
    ///
    /// Allocates its own buffers (the plans are the shared ones): not for the hot path.
    public static func batch(_ values: [Double], magWindow: Int = 3, scoreWindow: Int = 21,
                             estimatedPoints: Int = 5, lookAhead: Int = 5) -> BatchResult {
        let n = values.count
        precondition(n >= 3, "spectral residual needs at least 3 values")
        precondition(magWindow >= 1 && scoreWindow >= 1 && estimatedPoints >= 0 && lookAhead >= 1)
        let kernel = SpectralResidualKernel(count: n + estimatedPoints)
        values.withUnsafeBufferPointer { kernel.input.pointer.baseAddress!.update(from: $0.baseAddress!, count: n) }
        kernel.extend(valueCount: n, lookAhead: lookAhead)
        _ = kernel.transform(magWindow: magWindow)

        var saliency = [Double](repeating: 0, count: n)
        var raw = [Double](repeating: 0, count: n)
        var score = [Double](repeating: 0, count: n)
        for t in 0..<n { saliency[t] = kernel.saliency(at: t) }
        let z = min(scoreWindow, kernel.count)
        var sum = 0.0
        for t in 0..<n {
            sum += saliency[t]
            if t >= z { sum -= saliency[t - z] }
            // Recompute exactly now and then so the running sum cannot drift.
            if t % 1024 == 1023 {
                sum = 0
                for j in max(0, t - z + 1)...t { sum += saliency[j] }
            }
            let average = sum / Double(min(t + 1, z))
            raw[t] = rawScore(saliency: saliency[t], average: average)
            score[t] = clippedScore(raw[t])
        }
        return BatchResult(saliency: saliency, rawScore: raw, score: score)
    }

    /// `batch` with the widths of a detector configuration (`window` and `hop` are not used).
    public static func batch(_ values: [Double], configuration: SpectralResidualConfiguration) -> BatchResult {
        batch(values, magWindow: configuration.magWindow, scoreWindow: configuration.scoreWindow,
              estimatedPoints: configuration.estimatedPoints, lookAhead: configuration.lookAhead)
    }

    /// `|S − a| / max(a, ε)`; an average of exactly zero (an all-zero saliency) gives 0.
    @inline(__always)
    static func rawScore(saliency: Double, average: Double) -> Double {
        abs(saliency - average) / max(average, epsilon)
    }

    /// `clip(raw / 10, 0, 1)`.
    @inline(__always)
    static func clippedScore(_ raw: Double) -> Double {
        min(max(raw / 10, 0), 1)
    }
}

/// The transform behind `SpectralResidual.batch` and `SpectralResidualDetector`: buffers for one
/// extended length N and the shared FFTW plans (real-to-complex forward, complex backward: the
/// spectral residual spectrum is not Hermitian, so the inverse is a complex transform).
///
/// Memory: 8·N (input) + 2·16·N (spectrum, signal) + 2·8·N (log amplitudes, gains) = 56·N bytes.
///
/// Threading: one thread at a time (the detector keeps one per thread, see
/// `SpectralResidualDetector`). Nothing in it survives between calls except the buffers.
final class SpectralResidualKernel: @unchecked Sendable {
    /// Extended length N.
    let count: Int
    /// Real input: the window's values followed by the estimated points.
    let input: FFTBuffer<Double>
    /// Spectrum of `input`, then the spectral residual spectrum (all N bins).
    let spectrum: FFTBuffer<(Double, Double)>
    /// Inverse transform of `spectrum` (×N).
    let signal: FFTBuffer<(Double, Double)>
    /// Log amplitude of each of the N bins (0 for bins at or below ε); then, for magWindow ≤ 32,
    /// the factors exp(−log A / q) of the gains.
    let logAmplitude: FFTBuffer<Double>
    /// Per-bin gain exp(−avg_q(log A)).
    let gain: FFTBuffer<Double>
    private let forward: FFTPlan
    private let backward: FFTPlan

    init(count: Int) {
        precondition(count >= 1)
        self.count = count
        forward = .shared(.realToComplex, count: count)
        backward = .shared(.complexBackward, count: count)
        input = FFTBuffer(realCount: count)
        spectrum = FFTBuffer(complexCount: count)
        signal = FFTBuffer(complexCount: count)
        logAmplitude = FFTBuffer(realCount: count)
        gain = FFTBuffer(realCount: count)
    }

    /// Writes the estimated value into `input[n..<count]`; `input[0..<n]` holds the values.
    /// The prediction uses `input[max(0, n − lookAhead − 2) ..< n − 1]` (≥ 2 points).
    @inline(__always)
    func extend(valueCount n: Int, lookAhead: Int) {
        guard n < count else { return }
        let x = input.pointer
        let start = max(0, n - lookAhead - 2), end = n - 1
        let m = end - start
        precondition(m >= 2, "the prediction needs at least two points")
        let last = x[end - 1]
        var slopes = 0.0
        for i in 0..<(m - 1) {
            slopes += (last - x[start + i]) / Double(m - 1 - i)
        }
        let predicted = x[start + 1] + slopes
        for t in n..<count { x[t] = predicted }
    }

    /// Transforms `input` into the saliency map (read it with `saliency(at:)`).
    /// Returns the bin 1…N/2 of largest amplitude (0 when every amplitude is at most ε).
    @inline(__always)
    func transform(magWindow: Int) -> Int {
        let n = count, half = n / 2 + 1
        let c = spectrum.pointer, logs = logAmplitude.pointer, g = gain.pointer
        forward.execute(real: input.pointer.baseAddress!, spectrum: c.baseAddress!)

        // Log amplitudes of bins 0…N/2, mirrored onto N/2+1…N−1 (|X[N−k]| = |X[k]|).
        var dominant = 0
        var dominantPower = SpectralResidual.epsilon * SpectralResidual.epsilon
        for k in 0..<half {
            let (re, im) = c[k]
            let power = re * re + im * im
            let amplitude = power.squareRoot()
            let l: Double
            if amplitude <= SpectralResidual.epsilon {
                l = 0
                c[k] = (0, 0)
            } else {
                l = log(amplitude)
                if k > 0, power > dominantPower { dominantPower = power; dominant = k }
            }
            logs[k] = l
            if k > 0, n - k >= half { logs[n - k] = l }
        }

        // Gains exp(−avg_q(log A)) over the full spectrum: spectral / A with spectral = exp(log A − avg).
        let q = min(magWindow, n)
        // The first q − 1 bins average over the k + 1 bins so far.
        var s = 0.0
        for k in 0..<(q - 1) {
            s += logs[k]
            g[k] = exp(-s / Double(k + 1))
        }
        if q <= 32 {
            // Full windows: exp(−Σ L / q) = Π exp(−L / q), so one exp per distinct amplitude
            // (bins 0…N/2; the upper half mirrors them) instead of one per bin. The factors are
            // kept in `logs` itself, which is not needed any more.
            let scale = -1 / Double(q)
            for k in 0..<half { logs[k] = exp(logs[k] * scale) }
            for k in half..<n { logs[k] = logs[n - k] }
            for k in (q - 1)..<n {
                var product = logs[k]
                for j in (k - q + 1)..<k { product *= logs[j] }
                g[k] = product
            }
        } else {
            for k in (q - 1)..<n {
                s += logs[k]
                if k >= q { s -= logs[k - q] }
                g[k] = exp(-s / Double(q))
            }
        }

        // Residual spectrum: bins above N/2 from the conjugates of the untouched lower bins first,
        // then the lower bins in place.
        if half < n {
            for k in half..<n {
                let (re, im) = c[n - k]
                c[k] = (re * g[k], -im * g[k])
            }
        }
        for k in 0..<half {
            let (re, im) = c[k]
            c[k] = (re * g[k], im * g[k])
        }
        backward.execute(input: c.baseAddress!, output: signal.pointer.baseAddress!)
        return dominant
    }

    /// Saliency at time index `t` (0 ≤ t < N) after `transform`.
    @inline(__always)
    func saliency(at t: Int) -> Double {
        let (re, im) = signal.pointer[t]
        return (re * re + im * im).squareRoot() / Double(count)
    }
}
