// SPDX-License-Identifier: GPL-3.0-or-later
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The probability distributions the PCA monitor's theoretical control limits need: the standard
/// normal, chi-square and F distributions (CDFs and quantiles), and the Jackson–Mudholkar and Box
/// limits of the squared prediction error. Written here rather than taken from a package: a few
/// dozen lines each, with tests against published values.
///
/// Methods:
/// - normal quantile: Acklam's rational approximation (relative error < 1.2e-9) refined by one
///   Halley step on `erfc`, which brings it to full double precision;
/// - regularized incomplete beta `I_x(a, b)`: the continued fraction evaluated by the modified
///   Lentz method (Numerical Recipes, 3rd ed., §6.4), using the symmetry
///   `I_x(a, b) = 1 − I_{1−x}(b, a)` where the fraction converges slowly;
/// - regularized lower incomplete gamma `P(a, x)`: its series for `x < a + 1`, else the continued
///   fraction of `Q(a, x)` (Numerical Recipes §6.2);
/// - quantiles: bracketed Newton iteration on the CDF (bisection whenever a Newton step would leave
///   the bracket), to a relative tolerance of 1e-13.
///
/// Threading: pure functions.
public enum Distributions {
    // MARK: Normal

    /// `Φ(x)`, the standard normal CDF.
    public static func normalCDF(_ x: Double) -> Double {
        0.5 * erfc(-x / 2.0.squareRoot())
    }

    /// `Φ⁻¹(p)` for `p` in (0, 1); ±infinity at 0 and 1, NaN outside.
    public static func normalQuantile(_ p: Double) -> Double {
        guard p > 0, p < 1 else {
            if p == 0 { return -.infinity }
            if p == 1 { return .infinity }
            return .nan
        }
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        var x: Double
        if p < low {
            let q = (-2 * log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - low {
            let q = p - 0.5
            let r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log1p(-p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        // One Halley step on e = Φ(x) − p, computed on the tail nearer to p (for p ≥ ½ as
        // (1 − p) − Q(x)), so its error is relative to the small side.
        let e = p < 0.5 ? normalCDF(x) - p : (1 - p) - 0.5 * erfc(x / 2.0.squareRoot())
        let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        x -= u / (1 + x * u / 2)
        return x
    }

    // MARK: Incomplete beta and gamma

    /// `ln Γ(x)` for `x > 0`.
    public static func logGamma(_ x: Double) -> Double {
        lgamma(x)
    }

    /// The regularized incomplete beta function `I_x(a, b)` for `a, b > 0`, `x` in [0, 1].
    public static func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        precondition(a > 0 && b > 0, "the incomplete beta needs a, b > 0")
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * log(x) + b * log1p(-x)
        if x < (a + 1) / (a + b + 2) {
            return exp(lnFront) * betaContinuedFraction(x, a: a, b: b) / a
        }
        return 1 - exp(lnFront) * betaContinuedFraction(1 - x, a: b, b: a) / b
    }

    /// The continued fraction of the incomplete beta (modified Lentz).
    private static func betaContinuedFraction(_ x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        let qab = a + b, qap = a + 1, qam = a - 1
        var c = 1.0
        var d = 1 - qab * x / qap
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...10_000 {
            let m = Double(m)
            let m2 = 2 * m
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let del = d * c
            h *= del
            if abs(del - 1) < 1e-16 { break }
        }
        return h
    }

    /// The regularized lower incomplete gamma function `P(a, x)` for `a > 0`, `x ≥ 0`.
    public static func regularizedGammaP(_ a: Double, _ x: Double) -> Double {
        precondition(a > 0, "the incomplete gamma needs a > 0")
        if x <= 0 { return 0 }
        if x.isInfinite { return 1 }
        let lnFront = a * log(x) - x - logGamma(a)
        if x < a + 1 {
            var sum = 1 / a
            var term = sum
            var ap = a
            for _ in 0..<100_000 {
                ap += 1
                term *= x / ap
                sum += term
                if abs(term) < abs(sum) * 1e-17 { break }
            }
            return min(1, sum * exp(lnFront))
        }
        let tiny = 1e-300
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        for i in 1...100_000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let del = d * c
            h *= del
            if abs(del - 1) < 1e-16 { break }
        }
        return max(0, 1 - exp(lnFront) * h)
    }

    // MARK: Chi-square and F

    /// The chi-square CDF with `k > 0` degrees of freedom (not necessarily an integer).
    public static func chiSquareCDF(_ x: Double, degreesOfFreedom k: Double) -> Double {
        x <= 0 ? 0 : regularizedGammaP(k / 2, x / 2)
    }

    /// The chi-square quantile: the `x` with `chiSquareCDF(x, k) = p`, `p` in (0, 1).
    public static func chiSquareQuantile(_ p: Double, degreesOfFreedom k: Double) -> Double {
        precondition(k > 0, "chi-square needs k > 0 degrees of freedom")
        guard p > 0, p < 1 else { return p <= 0 ? 0 : .infinity }
        // Wilson–Hilferty start.
        let z = normalQuantile(p)
        let h = 2 / (9 * k)
        var start = k * pow(max(1 - h + z * h.squareRoot(), 1e-3), 3)
        if !start.isFinite || start <= 0 { start = k }
        let lnNorm = (k / 2) * log(2.0) + logGamma(k / 2)
        return solve(p, start: start, lower: 0, upper: .infinity,
                     cdf: { chiSquareCDF($0, degreesOfFreedom: k) },
                     density: { x in x <= 0 ? 0 : exp((k / 2 - 1) * log(x) - x / 2 - lnNorm) })
    }

    /// The CDF of the F distribution with `d1, d2 > 0` degrees of freedom.
    public static func fCDF(_ x: Double, d1: Double, d2: Double) -> Double {
        guard x > 0 else { return 0 }
        return regularizedIncompleteBeta(d1 * x / (d1 * x + d2), a: d1 / 2, b: d2 / 2)
    }

    /// The F quantile: the `x` with `fCDF(x, d1, d2) = p`, `p` in (0, 1). Solved on the beta
    /// variable `y = d1 x / (d1 x + d2)` in (0, 1), then mapped back.
    public static func fQuantile(_ p: Double, d1: Double, d2: Double) -> Double {
        precondition(d1 > 0 && d2 > 0, "F needs positive degrees of freedom")
        guard p > 0, p < 1 else { return p <= 0 ? 0 : .infinity }
        let a = d1 / 2, b = d2 / 2
        let lnBeta = logGamma(a) + logGamma(b) - logGamma(a + b)
        let y = solve(p, start: a / (a + b), lower: 0, upper: 1,
                      cdf: { regularizedIncompleteBeta($0, a: a, b: b) },
                      density: { y in y <= 0 || y >= 1 ? 0 : exp((a - 1) * log(y) + (b - 1) * log1p(-y) - lnBeta) })
        return d2 * y / (d1 * (1 - y))
    }

    /// Solves `cdf(x) = p` for an increasing `cdf` on (lower, upper) by Newton steps kept inside a
    /// shrinking bracket (bisection when a step would leave it).
    private static func solve(_ p: Double, start: Double, lower: Double, upper: Double,
                              cdf: (Double) -> Double, density: (Double) -> Double) -> Double {
        var lo = lower, hi = upper
        var x = min(max(start, lower), upper)
        if !(x > lo && x < hi) { x = hi.isFinite ? (lo + hi) / 2 : lo + 1 }
        for _ in 0..<400 {
            let f = cdf(x) - p
            if f == 0 { return x }
            if f < 0 { lo = x } else { hi = x }
            let g = density(x)
            var next = g > 0 ? x - f / g : .nan
            if !(next > lo && next < hi) {
                next = hi.isFinite ? (lo + hi) / 2 : max(2 * x, lo + 1)
            }
            if abs(next - x) <= 1e-13 * max(abs(x), 1e-300) { return next }
            x = next
        }
        return x
    }

    // MARK: Limits of the squared prediction error

    /// Jackson & Mudholkar's (1979) `1 − α` limit of `Q = ‖residual‖²` given the sums of the
    /// residual eigenvalues and of their squares and cubes (θ₁, θ₂, θ₃).
    public static func jacksonMudholkarLimit(theta1: Double, theta2: Double, theta3: Double, alpha: Double) -> Double {
        guard theta1 > 0, theta2 > 0 else { return 0 }
        let h0 = 1 - 2 * theta1 * theta3 / (3 * theta2 * theta2)
        let c = normalQuantile(1 - alpha)
        let inner = c * (2 * theta2 * h0 * h0).squareRoot() / theta1 + 1 + theta2 * h0 * (h0 - 1) / (theta1 * theta1)
        guard h0 > 0.01, inner > 0 else { return boxLimit(mean: theta1, variance: 2 * theta2, alpha: alpha) }
        return theta1 * pow(inner, 1 / h0)
    }

    /// Box's (1954) approximation of a nonnegative statistic with the given mean and variance by a
    /// scaled chi-square `g·χ²_h` (g = variance / (2·mean), h = 2·mean² / variance): its `1 − α`
    /// quantile. For `Q`, mean θ₁ and variance 2θ₂.
    public static func boxLimit(mean: Double, variance: Double, alpha: Double) -> Double {
        guard mean > 0, variance > 0 else { return max(mean, 0) }
        let g = variance / (2 * mean)
        let h = 2 * mean * mean / variance
        return g * chiSquareQuantile(1 - alpha, degreesOfFreedom: h)
    }
}
