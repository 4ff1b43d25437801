// SPDX-License-Identifier: GPL-3.0-or-later

/// Forward and inverse real FFTs of one size with their own aligned buffers: the hot path
/// fills `real`, calls `forward()`, reads `spectrum` (or the reverse) and never allocates or plans.
///
/// Conventions are FFTW's: `forward` computes X[k] = Σ x[j] e^{−2πi jk/n} for k = 0…n/2;
/// `inverse` computes x[j] = Σ X[k] e^{+2πi jk/n} over the full Hermitian spectrum, i.e. n times
/// the inverse DFT (divide by `count` to round-trip).
///
/// Threading: the two plans are shared process-wide (`FFTPlan.shared`); the buffers belong to this
/// object, which one thread uses at a time (not `Sendable`). Create one per owner — a detector, a
/// worker thread — at setup. Memory: 8·n + 16·(n/2 + 1) bytes.
public final class RealFFT {
    /// Transform length n.
    public let count: Int
    /// Time-domain values (n): the input of `forward`, the output of `inverse`.
    public let real: FFTBuffer<Double>
    /// Spectrum bins k = 0…n/2 as `(re, im)`: the output of `forward`, the input of `inverse`.
    public let spectrum: FFTBuffer<(Double, Double)>
    private let forwardPlan: FFTPlan
    private let inversePlan: FFTPlan

    /// Buffers for length `count` (≥ 1); plans are looked up (or made) in the shared cache.
    public init(count: Int, rigor: FFTRigor = .estimate) {
        self.count = count
        forwardPlan = .shared(.realToComplex, count: count, rigor: rigor)
        inversePlan = .shared(.complexToReal, count: count, rigor: rigor)
        real = FFTBuffer(realCount: count)
        spectrum = FFTBuffer(complexCount: count / 2 + 1)
    }

    /// Number of spectrum bins, n/2 + 1.
    public var spectrumCount: Int { spectrum.count }

    /// `real` → `spectrum` (`fftw_execute_dft_r2c`); `real` is preserved.
    @inline(__always)
    public func forward() {
        forwardPlan.execute(real: real.pointer.baseAddress!, spectrum: spectrum.pointer.baseAddress!)
    }

    /// `spectrum` → `real`, unnormalised (`fftw_execute_dft_c2r`). **Overwrites `spectrum`.**
    /// The imaginary parts of bin 0 (and of bin n/2 when n is even) are ignored.
    @inline(__always)
    public func inverse() {
        inversePlan.execute(spectrum: spectrum.pointer.baseAddress!, real: real.pointer.baseAddress!)
    }
}
