// SPDX-License-Identifier: GPL-3.0-or-later

/// The dense kernels of the PCA monitor and its eigensolver, written so that the compiler
/// vectorises them: a floating-point sum is a chain of dependent additions unless it is split
/// (the compiler may not reassociate it), so `dot` keeps four independent SIMD sums.
///
/// Threading: pure functions on caller-owned memory.
enum VectorKernels {
    /// `Σ a[i]·b[i]` over `n` values.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ n: Int) -> Double {
        var s0 = SIMD4<Double>(), s1 = SIMD4<Double>()
        var i = 0
        let rawA = UnsafeRawPointer(a), rawB = UnsafeRawPointer(b)
        while i + 8 <= n {
            s0 += rawA.loadUnaligned(fromByteOffset: i * 8, as: SIMD4<Double>.self)
                * rawB.loadUnaligned(fromByteOffset: i * 8, as: SIMD4<Double>.self)
            s1 += rawA.loadUnaligned(fromByteOffset: (i + 4) * 8, as: SIMD4<Double>.self)
                * rawB.loadUnaligned(fromByteOffset: (i + 4) * 8, as: SIMD4<Double>.self)
            i += 8
        }
        var s = ((s0 + s1).sum())
        while i < n {
            s += a[i] * b[i]
            i += 1
        }
        return s
    }
}
