// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation

/// The Cholesky factor L of a symmetric positive-definite matrix A = L·Lᵀ, and the triangular
/// solves the Gaussian process needs. Small dense matrices (a few hundred rows), row-major.
///
/// Threading: an immutable value.
struct CholeskyFactor: Sendable {
    /// Rows and columns.
    let n: Int
    /// L, row-major, upper triangle zero.
    let lower: [Double]

    /// Factors the `n`×`n` row-major matrix `a`; nil when it is not (numerically) positive definite.
    init?(_ a: [Double], n: Int) {
        precondition(a.count == n * n)
        var l = [Double](repeating: 0, count: n * n)
        let ok = l.withUnsafeMutableBufferPointer { l in
            a.withUnsafeBufferPointer { a in
                for j in 0..<n {
                    var d = a[j * n + j]
                    for k in 0..<j { d -= l[j * n + k] * l[j * n + k] }
                    guard d > 0, d.isFinite else { return false }
                    let ljj = d.squareRoot()
                    l[j * n + j] = ljj
                    for i in (j + 1)..<max(n, j + 1) {
                        var s = a[i * n + j]
                        for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
                        l[i * n + j] = s / ljj
                    }
                }
                return true
            }
        }
        guard ok else { return nil }
        self.n = n
        self.lower = l
    }

    /// x with L·x = b.
    func solveLower(_ b: [Double]) -> [Double] {
        precondition(b.count == n)
        var x = b
        lower.withUnsafeBufferPointer { l in
            x.withUnsafeMutableBufferPointer { x in
                for i in 0..<n {
                    var s = x[i]
                    for k in 0..<i { s -= l[i * n + k] * x[k] }
                    x[i] = s / l[i * n + i]
                }
            }
        }
        return x
    }

    /// x with Lᵀ·x = b.
    func solveUpper(_ b: [Double]) -> [Double] {
        precondition(b.count == n)
        var x = b
        lower.withUnsafeBufferPointer { l in
            x.withUnsafeMutableBufferPointer { x in
                for i in stride(from: n - 1, through: 0, by: -1) {
                    var s = x[i]
                    for k in (i + 1)..<max(n, i + 1) { s -= l[k * n + i] * x[k] }
                    x[i] = s / l[i * n + i]
                }
            }
        }
        return x
    }

    /// |x|² for x with L·x = b, solving in place of `b` (no allocation).
    func squaredNormOfLowerSolve(_ b: inout [Double]) -> Double {
        precondition(b.count == n)
        var norm = 0.0
        lower.withUnsafeBufferPointer { l in
            b.withUnsafeMutableBufferPointer { x in
                for i in 0..<n {
                    var s = x[i]
                    let row = l.baseAddress! + i * n
                    for k in 0..<i { s -= row[k] * x[k] }
                    x[i] = s / row[i]
                    norm += x[i] * x[i]
                }
            }
        }
        return norm
    }

    /// x with A·x = b.
    func solve(_ b: [Double]) -> [Double] { solveUpper(solveLower(b)) }

    /// log det A = 2 Σ log Lᵢᵢ.
    var logDeterminant: Double {
        var s = 0.0
        for i in 0..<n { s += 2 * log(lower[i * n + i]) }
        return s
    }
}
