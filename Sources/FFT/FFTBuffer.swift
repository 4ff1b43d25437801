// SPDX-License-Identifier: GPL-3.0-or-later
import CFFTW

/// An SIMD-aligned array owned by one object: `fftw_alloc_real` / `fftw_alloc_complex` on
/// creation, `fftw_free` in `deinit`. Contents start zeroed.
///
/// These are the only arrays `FFTPlan.execute` may be given: FFTW's new-array execution requires
/// the alignment of the planning arrays, which `fftw_alloc_*` guarantees.
///
/// Threading: not `Sendable`. A buffer belongs to one owner (a detector, a worker thread); plans
/// are shared, buffers are not. Allocation and release take the planner lock, because FFTW only
/// documents `fftw_execute*` as thread-safe; they happen at setup, never on the hot path.
public final class FFTBuffer<Element: BitwiseCopyable> {
    /// The storage, valid for the life of this object. Keep the buffer alive (a stored property
    /// of its owner, or `withExtendedLifetime`) while using the pointer.
    public let pointer: UnsafeMutableBufferPointer<Element>

    /// Number of elements.
    public var count: Int { pointer.count }

    private init(pointer: UnsafeMutableBufferPointer<Element>) {
        self.pointer = pointer
    }

    deinit {
        let raw = UnsafeMutableRawPointer(pointer.baseAddress!)
        FFTPlanner.serialized { fftw_free(raw) }
    }

    /// Element `i` (bounds-checked in debug builds only).
    @inline(__always)
    public subscript(i: Int) -> Element {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }
}

extension FFTBuffer where Element == Double {
    /// `count` (≥ 1) zeroed doubles from `fftw_alloc_real`.
    public convenience init(realCount count: Int) {
        precondition(count >= 1)
        let p = FFTPlanner.serialized { fftw_alloc_real(count) }
        guard let p else { fatalError("fftw_alloc_real(\(count)) failed") }
        p.initialize(repeating: 0, count: count)
        self.init(pointer: UnsafeMutableBufferPointer(start: p, count: count))
    }
}

extension FFTBuffer where Element == (Double, Double) {
    /// `count` (≥ 1) zeroed complex values (`fftw_complex`, imported as `(re, im)`) from
    /// `fftw_alloc_complex`.
    public convenience init(complexCount count: Int) {
        precondition(count >= 1)
        let p = FFTPlanner.serialized { fftw_alloc_complex(count) }
        guard let p else { fatalError("fftw_alloc_complex(\(count)) failed") }
        p.initialize(repeating: (0, 0), count: count)
        self.init(pointer: UnsafeMutableBufferPointer(start: p, count: count))
    }
}
