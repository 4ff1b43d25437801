// SPDX-License-Identifier: GPL-3.0-or-later

/// Forward and backward complex FFTs of one size with their own aligned buffers.
///
/// `forward` computes output[k] = Σ input[j] e^{−2πi jk/n}; `backward` computes
/// output[j] = Σ input[k] e^{+2πi jk/n} (n times the inverse DFT). Both are out-of-place and
/// preserve `input`.
///
/// Threading: plans shared process-wide, buffers owned by this object (not `Sendable`), as for
/// `RealFFT`. Memory: 32·n bytes.
public final class ComplexFFT {
    /// Transform length n.
    public let count: Int
    /// Input values (n) as `(re, im)`.
    public let input: FFTBuffer<(Double, Double)>
    /// Output values (n) as `(re, im)`.
    public let output: FFTBuffer<(Double, Double)>
    private let forwardPlan: FFTPlan
    private let backwardPlan: FFTPlan

    /// Buffers for length `count` (≥ 1); plans come from the shared cache.
    public init(count: Int, rigor: FFTRigor = .estimate) {
        self.count = count
        forwardPlan = .shared(.complexForward, count: count, rigor: rigor)
        backwardPlan = .shared(.complexBackward, count: count, rigor: rigor)
        input = FFTBuffer(complexCount: count)
        output = FFTBuffer(complexCount: count)
    }

    /// `input` → `output`, sign −1 (`fftw_execute_dft` with an `FFTW_FORWARD` plan).
    @inline(__always)
    public func forward() {
        forwardPlan.execute(input: input.pointer.baseAddress!, output: output.pointer.baseAddress!)
    }

    /// `input` → `output`, sign +1, unnormalised (`fftw_execute_dft` with an `FFTW_BACKWARD` plan).
    @inline(__always)
    public func backward() {
        backwardPlan.execute(input: input.pointer.baseAddress!, output: output.pointer.baseAddress!)
    }
}
