// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
@testable import VigilDetectors

/// Reference values from SciPy 1.17 (`scipy.stats.norm/chi2/f.ppf`, `scipy.special.betainc/gammainc`).
@Suite("Distributions")
struct DistributionsTests {
    static func close(_ a: Double, _ b: Double, _ relative: Double = 1e-10) -> Bool {
        abs(a - b) <= relative * max(abs(b), 1e-300)
    }

    @Test("normal quantile", arguments: [
        (0.975, 1.959963984540054), (0.99, 2.3263478740408408), (1e-10, -6.361340902404056),
        (0.999999, 4.753424308817087), (0.5, 0.0),
    ])
    func normalQuantile(p: Double, expected: Double) {
        let x = Distributions.normalQuantile(p)
        #expect(abs(x - expected) < 1e-12 * max(1, abs(expected)), "Φ⁻¹(\(p)) = \(x), expected \(expected)")
        #expect(abs(Distributions.normalCDF(x) - p) < 1e-14 + 1e-12 * p)
    }

    @Test("incomplete beta", arguments: [
        (0.3, 2.0, 5.0, 0.5798250000000003), (0.9, 0.5, 0.5, 0.7951672353008665),
        (0.01, 10.0, 3.0, 6.480550000000001e-19), (0.5, 200.0, 300.0, 0.9999964565197356),
    ])
    func incompleteBeta(x: Double, a: Double, b: Double, expected: Double) {
        let v = Distributions.regularizedIncompleteBeta(x, a: a, b: b)
        #expect(Self.close(v, expected, 1e-11), "I_\(x)(\(a), \(b)) = \(v), expected \(expected)")
    }

    @Test("incomplete gamma", arguments: [(1.0, 0.5, 0.8427007929497151), (5.0, 3.0, 0.8753479805169189), (50.0, 40.0, 0.935429631078867)])
    func incompleteGamma(x: Double, a: Double, expected: Double) {
        let v = Distributions.regularizedGammaP(a, x)
        #expect(Self.close(v, expected, 1e-12), "P(\(a), \(x)) = \(v), expected \(expected)")
    }

    @Test("chi-square quantile", arguments: [
        (0.95, 1.0, 3.841458820694124), (0.95, 10.0, 18.307038053275146), (0.99, 5.0, 15.08627246938899),
        (0.95, 100.0, 124.34211340400407), (0.99, 0.5, 4.867770844394062), (0.999, 3.7, 17.825651694608457),
        (0.01, 2.0, 0.020100671707002873),
    ])
    func chiSquareQuantile(p: Double, k: Double, expected: Double) {
        let x = Distributions.chiSquareQuantile(p, degreesOfFreedom: k)
        #expect(Self.close(x, expected, 1e-10), "χ²(\(p); \(k)) = \(x), expected \(expected)")
    }

    @Test("F quantile", arguments: [
        (0.95, 5.0, 10.0, 3.3258345304130104), (0.99, 3.0, 100.0, 3.98369531388089), (0.99, 20.0, 979.0, 1.8971266295259843),
        (0.999, 1.0, 2.0, 998.5002501250617), (0.5, 7.0, 7.0, 1.0), (0.9, 60.0, 500.0, 1.2599825719544815),
    ])
    func fQuantile(p: Double, d1: Double, d2: Double, expected: Double) {
        let x = Distributions.fQuantile(p, d1: d1, d2: d2)
        #expect(Self.close(x, expected, 1e-9), "F(\(p); \(d1), \(d2)) = \(x), expected \(expected)")
        #expect(abs(Distributions.fCDF(x, d1: d1, d2: d2) - p) < 1e-12)
    }

    /// Q of a residual space of `r` equal eigenvalues `l` is `l·χ²_r` exactly; Box's limit is then
    /// exact and Jackson–Mudholkar's close to it.
    @Test("Q limits against an exact case")
    func qLimits() {
        let r = 12.0, l = 0.3, alpha = 0.01
        let exact = l * Distributions.chiSquareQuantile(1 - alpha, degreesOfFreedom: r)
        let box = Distributions.boxLimit(mean: r * l, variance: 2 * r * l * l, alpha: alpha)
        #expect(Self.close(box, exact, 1e-9))
        let jm = Distributions.jacksonMudholkarLimit(theta1: r * l, theta2: r * l * l, theta3: r * l * l * l, alpha: alpha)
        #expect(abs(jm - exact) / exact < 0.01, "Jackson–Mudholkar \(jm) vs exact \(exact)")
    }
}
