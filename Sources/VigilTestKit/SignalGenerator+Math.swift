// SPDX-License-Identifier: GPL-3.0-or-later

extension SignalGenerator {
    /// eˣ from basic arithmetic only (reduction by ln 2, Taylor to r¹⁴ on |r| ≤ ln 2 / 2, exact
    /// scaling by 2ᵏ), so it is identical on every platform, unlike the C library's `exp`;
    /// relative error about 1e-15. Defined for |x| < 700.
    static func exponential(_ x: Double) -> Double {
        precondition(abs(x) < 700, "exponential(\(x)) out of range")
        let ln2Hi = 6.93147180369123816490e-01, ln2Lo = 1.90821492927058770002e-10
        let k = (x / (ln2Hi + ln2Lo)).rounded()
        let r = (x - k * ln2Hi) - k * ln2Lo
        // Horner form of Σ rⁿ / n! for n ≤ 14.
        var sum = 1.0
        for n in stride(from: 14, through: 1, by: -1) { sum = 1 + r / Double(n) * sum }
        return sum * Double(sign: .plus, exponent: Int(k), significand: 1)
    }

    /// ln x for x > 0 from basic arithmetic only: x = m · 2ᵉ with m in [√½, √2), then
    /// ln m = 2 atanh((m − 1)/(m + 1)) by its series to z²³; identical on every platform,
    /// relative error about 1e-15.
    static func logarithm(_ x: Double) -> Double {
        precondition(x > 0 && x.isFinite, "logarithm(\(x)) out of range")
        var e = Int(x.exponent)
        var m = x.significand
        if m > 1.4142135623730951 { m /= 2; e += 1 }
        let z = (m - 1) / (m + 1), z2 = z * z
        var sum = 0.0
        for n in stride(from: 23, through: 1, by: -2) { sum = 1 / Double(n) + z2 * sum }
        let ln2 = 0.6931471805599453
        return Double(e) * ln2 + 2 * z * sum
    }
}
