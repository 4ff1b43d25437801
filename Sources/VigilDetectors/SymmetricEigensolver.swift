// SPDX-License-Identifier: GPL-3.0-or-later

/// Eigenvalues and eigenvectors of a real symmetric matrix by the cyclic Jacobi method
/// (Rutishauser's formulation, as in Golub & Van Loan §8.5 and Numerical Recipes' `jacobi`):
/// sweeps of plane rotations, each zeroing one off-diagonal element, until the off-diagonal mass
/// is negligible against the diagonal. Quadratically convergent, unconditionally stable, and
/// accurate for small eigenvalues too, which the squared prediction error depends on.
///
/// For the PCA monitor's sizes (a few hundred variables at most) Jacobi is simple and fast
/// enough: a 90 × 90 correlation matrix takes about 7 sweeps. Starting from a good basis
/// (`decompose(_:order:start:)` with the eigenvectors of a nearby matrix) it needs one or two.
///
/// All storage is allocated once, for the largest `capacity` × `capacity` matrix; `decompose`
/// allocates nothing. Results: `values` in descending order, `vectors` row-major with row `j`
/// the unit eigenvector of `values[j]` (so a score is a dot product with a contiguous row).
///
/// Threading: a value owned by one thread.
public struct SymmetricEigensolver: Sendable {
    /// The largest matrix order this solver takes.
    public let capacity: Int
    /// The order of the last decomposition.
    public private(set) var order = 0
    /// Eigenvalues of the last decomposition, descending (first `order` entries).
    public private(set) var values: [Double]
    /// Eigenvectors of the last decomposition, row-major `order` × `order`: row `j` (entries
    /// `j·order ..< (j+1)·order`) is the unit eigenvector of `values[j]`.
    public private(set) var vectors: [Double]
    /// Sweeps the last decomposition took.
    public private(set) var sweeps = 0
    private var a: [Double]
    private var scratch: [Double]

    /// A solver for matrices of order up to `capacity`.
    public init(capacity: Int) {
        precondition(capacity >= 1)
        self.capacity = capacity
        values = Array(repeating: 0, count: capacity)
        vectors = Array(repeating: 0, count: capacity * capacity)
        a = Array(repeating: 0, count: capacity * capacity)
        scratch = Array(repeating: 0, count: capacity * capacity)
    }

    /// Decomposes the symmetric `n` × `n` matrix `matrix` (row-major; only symmetric input is
    /// meaningful, the upper triangle is what is read). `start`, when given, is an orthonormal
    /// basis (row-major, rows are vectors) close to the eigenvectors: the matrix is first
    /// transformed into it, so that few sweeps remain. The sweeps stop when the squared
    /// off-diagonal mass is at most `tolerance` times the squared diagonal (the default is
    /// rounding level; `1e-18` leaves off-diagonal elements of about 1e-9 relative, plenty for
    /// tracking a slowly changing matrix) or after `maximumSweeps`. Returns the number of sweeps.
    @discardableResult
    public mutating func decompose(_ matrix: UnsafeBufferPointer<Double>, order n: Int,
                                   start: UnsafeBufferPointer<Double>? = nil, maximumSweeps: Int = 60,
                                   tolerance: Double = 1e-30) -> Int {
        precondition(n >= 1 && n <= capacity && matrix.count >= n * n)
        order = n
        let swept: Int = a.withUnsafeMutableBufferPointer { aBuf in
            vectors.withUnsafeMutableBufferPointer { vBuf in
                scratch.withUnsafeMutableBufferPointer { sBuf in
                    let a = aBuf.baseAddress!, v = vBuf.baseAddress!, s = sBuf.baseAddress!
                    let m = matrix.baseAddress!
                    for i in 0..<n {
                        for j in i..<n {
                            let x = m[i * n + j]
                            a[i * n + j] = x
                            a[j * n + i] = x
                        }
                    }
                    if let start {
                        precondition(start.count >= n * n)
                        let b = start.baseAddress!
                        // s = B A (rows of B times A), then a = s Bᵀ.
                        for i in 0..<n {
                            for j in 0..<n { s[i * n + j] = 0 }
                            for k in 0..<n {
                                let bik = b[i * n + k]
                                if bik == 0 { continue }
                                let row = a + k * n
                                let out = s + i * n
                                for j in 0..<n { out[j] += bik * row[j] }
                            }
                        }
                        for i in 0..<n {
                            for j in i..<n {
                                let sum = VectorKernels.dot(s + i * n, b + j * n, n)
                                a[i * n + j] = sum
                                a[j * n + i] = sum
                            }
                        }
                        v.update(from: b, count: n * n)
                    } else {
                        for i in 0..<(n * n) { v[i] = 0 }
                        for i in 0..<n { v[i * n + i] = 1 }
                    }
                    return Self.jacobi(a, v, n, maximumSweeps, tolerance)
                }
            }
        }
        sweeps = swept
        sortDescending()
        return swept
    }

    /// Cyclic Jacobi on the full symmetric `a` (both triangles kept), accumulating the rotations
    /// into the rows of `v` (each row an eigenvector estimate).
    private static func jacobi(_ a: UnsafeMutablePointer<Double>, _ v: UnsafeMutablePointer<Double>,
                               _ n: Int, _ maximumSweeps: Int, _ tolerance: Double) -> Int {
        guard n > 1 else { return 0 }
        var sweep = 0
        while sweep < maximumSweeps {
            var off = 0.0, diag = 0.0
            for i in 0..<n {
                diag += a[i * n + i] * a[i * n + i]
                for j in (i + 1)..<n { off += a[i * n + j] * a[i * n + j] }
            }
            // Converged when the off-diagonal mass is at rounding level of the diagonal's.
            if off <= tolerance * diag || off == 0 { break }
            sweep += 1
            // Rutishauser's threshold for the first three sweeps skips tiny elements early.
            let threshold = sweep < 4 ? 0.2 * off.squareRoot() / Double(n * n) : 0
            for p in 0..<(n - 1) {
                for q in (p + 1)..<n {
                    let apq = a[p * n + q]
                    let app = a[p * n + p], aqq = a[q * n + q]
                    let g = 100 * abs(apq)
                    if sweep > 4, abs(app) + g == abs(app), abs(aqq) + g == abs(aqq) {
                        a[p * n + q] = 0
                        a[q * n + p] = 0
                        continue
                    }
                    if abs(apq) <= threshold || apq == 0 { continue }
                    let h = aqq - app
                    let t: Double
                    if abs(h) + g == abs(h) {
                        t = apq / h
                    } else {
                        let theta = 0.5 * h / apq
                        t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    }
                    let c = 1 / (t * t + 1).squareRoot()
                    let s = t * c
                    let tau = s / (1 + c)
                    // Rows and columns p and q of the rest (kept symmetric): the rows are read and
                    // written contiguously, the columns mirrored from them.
                    let rowP = a + p * n, rowQ = a + q * n
                    for r in 0..<n {
                        let arp = rowP[r], arq = rowQ[r]
                        rowP[r] = arp - s * (arq + tau * arp)
                        rowQ[r] = arq + s * (arp - tau * arq)
                    }
                    // The four elements of the pair itself (the loop's values there are not used).
                    rowP[p] = app - t * apq
                    rowQ[q] = aqq + t * apq
                    rowP[q] = 0
                    rowQ[p] = 0
                    for r in 0..<n {
                        a[r * n + p] = rowP[r]
                        a[r * n + q] = rowQ[r]
                    }
                    let vp = v + p * n, vq = v + q * n
                    for r in 0..<n {
                        let x = vp[r], y = vq[r]
                        vp[r] = x - s * (y + tau * x)
                        vq[r] = y + s * (x - tau * y)
                    }
                }
            }
        }
        for i in 0..<n { a[i] = a[i * n + i] }  // the diagonal, gathered for sorting
        return sweep
    }

    /// Sorts eigenvalues (descending) and their vector rows, by selection (n swaps of rows).
    private mutating func sortDescending() {
        let n = order
        a.withUnsafeMutableBufferPointer { aBuf in
            values.withUnsafeMutableBufferPointer { val in
                vectors.withUnsafeMutableBufferPointer { vBuf in
                    let d = aBuf.baseAddress!, v = vBuf.baseAddress!
                    for i in 0..<n { val[i] = d[i] }
                    for i in 0..<n {
                        var best = i
                        for j in (i + 1)..<n where val[j] > val[best] { best = j }
                        guard best != i else { continue }
                        val.swapAt(i, best)
                        let ri = v + i * n, rb = v + best * n
                        for r in 0..<n {
                            let x = ri[r]
                            ri[r] = rb[r]
                            rb[r] = x
                        }
                    }
                }
            }
        }
    }
}
