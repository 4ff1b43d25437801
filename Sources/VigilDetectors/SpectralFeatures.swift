// SPDX-License-Identifier: GPL-3.0-or-later
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import FFT

/// A frequency band `[lower, upper)`, in cycles per sample, or in hertz when the extractor has a
/// sample rate. A band whose `upper` reaches the Nyquist frequency also holds the Nyquist bin.
public struct FrequencyBand: Sendable, Equatable, Codable {
    public var lower: Double
    public var upper: Double

    public init(lower: Double, upper: Double) {
        precondition(lower >= 0 && upper > lower, "a band needs 0 ≤ lower < upper")
        self.lower = lower
        self.upper = upper
    }
}

/// Scalar spectral features of one window (band energies are written separately, see
/// `SpectralFeatureExtractor.compute(_:bandEnergies:)`).
public struct SpectralFeatures: Sendable, Equatable {
    /// Root mean square of the raw values (offset included): A/√2 for a sine of amplitude A.
    public var rms: Double
    /// Mean square of the fluctuation (the whole one-sided spectrum, DC removed): the sum of all
    /// band energies when the bands tile 0…Nyquist; A²/2 for a sine of amplitude A.
    public var energy: Double
    /// Frequency of the strongest bin above DC, refined by Gaussian (log-parabolic) interpolation
    /// between its neighbours; 0 when the window is flat.
    public var dominantFrequency: Double
    /// Power-weighted mean frequency of the one-sided spectrum; 0 when the window is flat.
    public var centroid: Double
}

/// Spectral features of fixed-length windows: RMS, energies in configured bands, dominant
/// frequency and spectral centroid, the feature vector an isolation forest can use.
///
/// Method: the window's mean is removed, a periodic Hann window w[t] = ½ − ½cos(2πt/n) applied,
/// and a real FFT taken. One-sided power is `P[k] = c_k |X[k]|² / (n Σw²)` with `c_k = 2` except
/// at DC and (n even) Nyquist, so power is in squared signal units and sums to the windowed mean
/// square (Parseval). Bin k has frequency k/n cycles per sample (× the sample rate in hertz).
/// Frequency resolution is one bin, 1/n; the dominant frequency is interpolated within it.
///
/// Cost: one real FFT of n points plus O(n) work; no allocation per call. The Hann weights and
/// band bin ranges are computed once (immutable, shared by copies). The FFT buffers are per-thread
/// scratch (`ThreadScratch`), so per-extractor memory is the 8·n bytes of weights.
///
/// Threading: a value may be used from any thread; concurrent use of copies is safe.
public struct SpectralFeatureExtractor: Sendable {
    /// Values per window, n ≥ 1.
    public let windowLength: Int
    /// The configured bands, in the unit of `sampleRate` (cycles per sample when nil).
    public let bands: [FrequencyBand]
    /// Samples per second, or nil for frequencies in cycles per sample.
    public let sampleRate: Double?
    private let tables: Tables
    private var scratch: ThreadScratch.Handle<RealFFT>?

    /// Immutable per-extractor tables.
    private final class Tables: Sendable {
        let hann: [Double]
        /// Σ w², the window's power gain.
        let hannPower: Double
        /// Bin ranges of the bands, `lower..<upper` (empty when a band holds no bin).
        let bandBins: [Range<Int>]

        init(n: Int, bands: [FrequencyBand], unit: Double) {
            hann = n == 1 ? [1] : (0..<n).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(n)) }
            hannPower = hann.reduce(0) { $0 + $1 * $1 }
            let half = n / 2
            let nyquist = 0.5 * unit
            bandBins = bands.map { band in
                // Bin k is in the band when lower ≤ k·unit/n < upper (or k is Nyquist and upper ≥ it);
                // the 1e-9 keeps a bound that is a bin frequency, up to rounding, exact.
                let lo = min(half + 1, max(0, Int((band.lower * Double(n) / unit - 1e-9).rounded(.up))))
                var hi = min(half + 1, max(0, Int((band.upper * Double(n) / unit - 1e-9).rounded(.up))))
                if band.upper >= nyquist { hi = half + 1 }
                return lo..<max(lo, hi)
            }
        }
    }

    /// An extractor for windows of `windowLength` values and the given bands (in hertz when
    /// `sampleRate` is given, else cycles per sample). Plans are looked up in the shared cache.
    public init(windowLength: Int, bands: [FrequencyBand], sampleRate: Double? = nil) {
        precondition(windowLength >= 1)
        precondition(sampleRate.map { $0 > 0 && $0.isFinite } ?? true, "sample rate must be positive")
        self.windowLength = windowLength
        self.bands = bands
        self.sampleRate = sampleRate
        tables = Tables(n: windowLength, bands: bands, unit: sampleRate ?? 1)
        _ = FFTPlan.shared(.realToComplex, count: windowLength)
    }

    /// Length of `featureVector`: RMS, dominant frequency, centroid, then one energy per band.
    public var featureCount: Int { 3 + bands.count }

    /// Features of `window` (exactly `windowLength` values, oldest first); the energy of band i
    /// goes to `bandEnergies[i]` (`bandEnergies.count` ≥ `bands.count`). Allocates nothing once
    /// the calling thread's scratch exists.
    public mutating func compute(_ window: UnsafeBufferPointer<Double>,
                                 bandEnergies: UnsafeMutableBufferPointer<Double>) -> SpectralFeatures {
        precondition(window.count == windowLength)
        return compute(segments: window, UnsafeBufferPointer(start: nil, count: 0), bandEnergies: bandEnergies)
    }

    /// Features of a ring buffer's contents: `ring[oldest…]` then `ring[..<oldest]`
    /// (`ring.count == windowLength`), with band energies as in `compute(_:bandEnergies:)`.
    public mutating func compute(ring: UnsafeBufferPointer<Double>, oldest: Int,
                                 bandEnergies: UnsafeMutableBufferPointer<Double>) -> SpectralFeatures {
        precondition(ring.count == windowLength && oldest >= 0 && oldest < max(1, ring.count))
        return compute(segments: UnsafeBufferPointer(rebasing: ring[oldest...]),
                       UnsafeBufferPointer(rebasing: ring[..<oldest]), bandEnergies: bandEnergies)
    }

    /// Writes `[rms, dominantFrequency, centroid, bandEnergy₀, …]` (`featureCount` values) for
    /// `window` into `vector`. Allocates nothing once the calling thread's scratch exists.
    public mutating func featureVector(_ window: UnsafeBufferPointer<Double>, into vector: UnsafeMutableBufferPointer<Double>) {
        precondition(vector.count >= featureCount)
        let f = compute(window, bandEnergies: UnsafeMutableBufferPointer(rebasing: vector[3...]))
        vector[0] = f.rms
        vector[1] = f.dominantFrequency
        vector[2] = f.centroid
    }

    /// Convenience for tests and tools (allocates the result array).
    public mutating func compute(_ window: [Double]) -> (features: SpectralFeatures, bandEnergies: [Double]) {
        var energies = [Double](repeating: 0, count: bands.count)
        let f = window.withUnsafeBufferPointer { w in
            energies.withUnsafeMutableBufferPointer { compute(w, bandEnergies: $0) }
        }
        return (f, energies)
    }

    private mutating func compute(segments first: UnsafeBufferPointer<Double>, _ second: UnsafeBufferPointer<Double>,
                                  bandEnergies: UnsafeMutableBufferPointer<Double>) -> SpectralFeatures {
        precondition(bandEnergies.count >= bands.count)
        let n = windowLength
        let fft = ThreadScratch.object(count: n, cached: &scratch) { RealFFT(count: $0) }
        let x = fft.real.pointer

        var sum = 0.0, squares = 0.0
        for v in first { sum += v; squares += v * v }
        for v in second { sum += v; squares += v * v }
        let mean = sum / Double(n)
        let rms = (squares / Double(n)).squareRoot()

        tables.hann.withUnsafeBufferPointer { w in
            var t = 0
            for v in first { x[t] = (v - mean) * w[t]; t += 1 }
            for v in second { x[t] = (v - mean) * w[t]; t += 1 }
        }
        fft.forward()

        // One-sided power, in place of the spectrum's real parts (the spectrum is scratch).
        let spectrum = fft.spectrum.pointer
        let half = n / 2
        let scale = 1 / (Double(n) * tables.hannPower)
        let unit = (sampleRate ?? 1) / Double(n)
        var total = 0.0, weighted = 0.0, peak = 0, peakPower = 0.0
        for k in 0...half {
            let (re, im) = spectrum[k]
            let single = k == 0 || (n % 2 == 0 && k == half) ? 1.0 : 2.0
            let p = single * (re * re + im * im) * scale
            spectrum[k].0 = p
            total += p
            weighted += Double(k) * p
            if k > 0, p > peakPower { peakPower = p; peak = k }
        }
        for (i, bins) in tables.bandBins.enumerated() {
            var e = 0.0
            for k in bins { e += spectrum[k].0 }
            bandEnergies[i] = e
        }

        // Flat (or numerically flat) window: no dominant frequency, no centroid.
        guard total > 0, peakPower > total * 1e-24 else {
            return SpectralFeatures(rms: rms, energy: max(total, 0), dominantFrequency: 0, centroid: 0)
        }
        var bin = Double(peak)
        if peak >= 1, peak < half {
            let a = spectrum[peak - 1].0, b = peakPower, c = spectrum[peak + 1].0
            if a > 0, c > 0 {
                let la = log(a), lb = log(b), lc = log(c)
                let denominator = la - 2 * lb + lc
                if denominator < 0 { bin += min(0.5, max(-0.5, 0.5 * (la - lc) / denominator)) }
            }
        }
        return SpectralFeatures(rms: rms, energy: total, dominantFrequency: bin * unit,
                                centroid: weighted / total * unit)
    }
}
