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

    /// `y[i] = α·y[i] + β·x[i]` over `n` values.
    @inline(__always)
    static func scaleAdd(_ y: UnsafeMutablePointer<Double>, _ alpha: Double, _ beta: Double,
                         _ x: UnsafePointer<Double>, _ n: Int) {
        let ry = UnsafeMutableRawPointer(y), rx = UnsafeRawPointer(x)
        let a = SIMD4<Double>(repeating: alpha), b = SIMD4<Double>(repeating: beta)
        var i = 0
        while i + 4 <= n {
            let v = ry.loadUnaligned(fromByteOffset: i * 8, as: SIMD4<Double>.self) * a
                + rx.loadUnaligned(fromByteOffset: i * 8, as: SIMD4<Double>.self) * b
            ry.storeBytes(of: v, toByteOffset: i * 8, as: SIMD4<Double>.self)
            i += 4
        }
        while i < n {
            y[i] = alpha * y[i] + beta * x[i]
            i += 1
        }
    }

    /// `r[i] −= a·x[i]` and `w[i] += b·x[i]` over `n` values (one pass over `x`).
    @inline(__always)
    static func subtractAdd(_ r: UnsafeMutablePointer<Double>, _ a: Double, _ w: UnsafeMutablePointer<Double>, _ b: Double,
                            _ x: UnsafePointer<Double>, _ n: Int) {
        let rr = UnsafeMutableRawPointer(r), rw = UnsafeMutableRawPointer(w), rx = UnsafeRawPointer(x)
        let va = SIMD4<Double>(repeating: a), vb = SIMD4<Double>(repeating: b)
        var i = 0
        while i + 4 <= n {
            let xv = rx.loadUnaligned(fromByteOffset: i * 8, as: SIMD4<Double>.self)
            rr.storeBytes(of: rr.loadUnaligned(fromByteOffset: i * 8, as: SIMD4<Double>.self) - va * xv, toByteOffset: i * 8, as: SIMD4<Double>.self)
            rw.storeBytes(of: rw.loadUnaligned(fromByteOffset: i * 8, as: SIMD4<Double>.self) + vb * xv, toByteOffset: i * 8, as: SIMD4<Double>.self)
            i += 4
        }
        while i < n {
            r[i] -= a * x[i]
            w[i] += b * x[i]
            i += 1
        }
    }
}
