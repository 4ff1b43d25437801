// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
@testable import VigilDetectors

@Suite("Symmetric eigensolver")
struct SymmetricEigensolverTests {
    /// A random symmetric matrix with entries in [−1, 1].
    static func randomSymmetric(_ n: Int, seed: UInt64) -> [Double] {
        var rng = Xoshiro256StarStar(seed: seed)
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in i..<n {
                let x = 2 * rng.nextUnit() - 1
                a[i * n + j] = x
                a[j * n + i] = x
            }
        }
        return a
    }

    /// max |A − V Λ Vᵀ| and max |V Vᵀ − I| of a decomposition.
    static func errors(_ a: [Double], _ s: SymmetricEigensolver) -> (reconstruction: Double, orthogonality: Double) {
        let n = s.order
        var rec = 0.0, orth = 0.0
        for i in 0..<n {
            for j in 0..<n {
                var x = 0.0, o = 0.0
                for k in 0..<n {
                    x += s.vectors[k * n + i] * s.values[k] * s.vectors[k * n + j]
                    o += s.vectors[i * n + k] * s.vectors[j * n + k]
                }
                rec = max(rec, abs(x - a[i * n + j]))
                orth = max(orth, abs(o - (i == j ? 1 : 0)))
            }
        }
        return (rec, orth)
    }

    @Test("a known decomposition")
    func known() {
        // [[2, 1], [1, 2]]: eigenvalues 3 and 1, vectors (1, 1)/√2 and (1, −1)/√2.
        var s = SymmetricEigensolver(capacity: 3)
        _ = [2.0, 1, 1, 2].withUnsafeBufferPointer { s.decompose($0, order: 2) }
        #expect(abs(s.values[0] - 3) < 1e-14 && abs(s.values[1] - 1) < 1e-14)
        let r = 1 / 2.0.squareRoot()
        #expect(abs(abs(s.vectors[0]) - r) < 1e-14 && abs(s.vectors[0] - s.vectors[1]) < 1e-14)
        #expect(abs(s.vectors[2] + s.vectors[3]) < 1e-14)
        // [[4, −2, 2], [−2, 2, −4], [2, −4, 11]], eigenvalues from LAPACK (numpy.linalg.eigvalsh).
        let m: [Double] = [4, -2, 2, -2, 2, -4, 2, -4, 11]
        _ = m.withUnsafeBufferPointer { s.decompose($0, order: 3) }
        let reference = [13.248885362943446, 3.668823351415328, 0.08229128564122347]
        for (v, e) in zip(s.values.prefix(3), reference) { #expect(abs(v - e) < 1e-12, "\(v) vs \(e)") }
        let (rec, orth) = Self.errors(m, s)
        #expect(rec < 1e-13 && orth < 1e-14)
    }

    @Test("random symmetric matrices are reconstructed", arguments: [1, 2, 5, 17, 40])
    func random(n: Int) {
        var s = SymmetricEigensolver(capacity: 40)
        for seed in 1...3 as ClosedRange<UInt64> {
            let a = Self.randomSymmetric(n, seed: seed &* 7919 &+ UInt64(n))
            _ = a.withUnsafeBufferPointer { s.decompose($0, order: n) }
            let (rec, orth) = Self.errors(a, s)
            #expect(rec < 1e-12 * Double(n), "n = \(n): reconstruction error \(rec)")
            #expect(orth < 1e-12 * Double(n), "n = \(n): orthogonality error \(orth)")
            for j in 1..<max(n, 1) { #expect(s.values[j - 1] >= s.values[j], "descending") }
            var trace = 0.0
            for i in 0..<n { trace += a[i * n + i] }
            #expect(abs(s.values.prefix(n).reduce(0, +) - trace) < 1e-11 * Double(n))
        }
    }

    @Test("a warm start from a nearby basis converges in fewer sweeps to the same result")
    func warmStart() {
        let n = 30
        let a = Self.randomSymmetric(n, seed: 42)
        var cold = SymmetricEigensolver(capacity: n)
        _ = a.withUnsafeBufferPointer { cold.decompose($0, order: n) }
        // Perturb the matrix slightly and start from the first decomposition's vectors.
        var b = a
        for i in 0..<n { b[i * n + i] += 1e-3 * Double(i % 3) }
        var fresh = SymmetricEigensolver(capacity: n)
        _ = b.withUnsafeBufferPointer { fresh.decompose($0, order: n) }
        var warm = SymmetricEigensolver(capacity: n)
        let start = cold.vectors
        _ = b.withUnsafeBufferPointer { m in start.withUnsafeBufferPointer { warm.decompose(m, order: n, start: $0) } }
        #expect(warm.sweeps < fresh.sweeps, "warm \(warm.sweeps) vs cold \(fresh.sweeps) sweeps")
        for j in 0..<n { #expect(abs(warm.values[j] - fresh.values[j]) < 1e-12) }
        let (rec, orth) = Self.errors(b, warm)
        #expect(rec < 1e-12 && orth < 1e-12)
    }

    @Test("degenerate and rank-deficient matrices")
    func degenerate() {
        var s = SymmetricEigensolver(capacity: 4)
        let identity: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        _ = identity.withUnsafeBufferPointer { s.decompose($0, order: 3) }
        #expect(s.values.prefix(3).allSatisfy { abs($0 - 1) < 1e-15 } && s.sweeps == 0)
        // Rank one: u uᵀ with u = (1, 2, 3, 4).
        let u: [Double] = [1, 2, 3, 4]
        let r1 = (0..<16).map { u[$0 / 4] * u[$0 % 4] }
        _ = r1.withUnsafeBufferPointer { s.decompose($0, order: 4) }
        #expect(abs(s.values[0] - 30) < 1e-12)
        #expect(s.values[1...3].allSatisfy { abs($0) < 1e-12 })
        let (rec, orth) = Self.errors(r1, s)
        #expect(rec < 1e-12 && orth < 1e-13)
    }
}
