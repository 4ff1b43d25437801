// SPDX-License-Identifier: GPL-3.0-or-later

/// IEEE 754 binary16 ("half precision": 1 sign bit, 5 exponent bits, 10 fraction bits) as a
/// `UInt16`, converted in software so that it is the same on every platform (Swift's `Float16` is
/// missing on Intel Macs). Relative precision 2⁻¹¹, normal range 6.1·10⁻⁵ … 65504.
///
/// Used for the surprise detector's values that tolerate 3 significant digits: short means of
/// scores in [0, 1], and the seasonal block history and profile, which `SeasonalProfile` stores
/// centred and scaled so that their precision follows the signal's spread, not its level.
///
/// Threading: pure functions.
enum Binary16 {
    /// The largest finite value, 65504.
    static let greatest: Float = 65504

    /// `f` rounded to the nearest binary16 (ties to even); beyond the range ±infinity, NaN stays NaN.
    @inline(__always)
    static func bits(_ f: Float) -> UInt16 {
        let x = f.bitPattern
        let sign = UInt16(truncatingIfNeeded: (x >> 16) & 0x8000)
        let exponent = Int((x >> 23) & 0xFF)
        var fraction = x & 0x7F_FFFF
        if exponent == 0xFF { return sign | 0x7C00 | (fraction != 0 ? 0x200 : 0) }
        let e = exponent - 127 + 15
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            if e < -10 { return sign }   // below half the smallest subnormal: ±0
            fraction |= 0x80_0000
            let shift = UInt32(14 - e)
            var h = fraction >> shift
            let rest = fraction & ((1 << shift) - 1)
            let half = UInt32(1) << (shift - 1)
            if rest > half || (rest == half && h & 1 == 1) { h += 1 }
            return sign | UInt16(truncatingIfNeeded: h)
        }
        var h = UInt32(e) << 10 | fraction >> 13
        let rest = fraction & 0x1FFF
        if rest > 0x1000 || (rest == 0x1000 && h & 1 == 1) { h += 1 }   // a carry into the exponent is right (up to ∞)
        return sign | UInt16(truncatingIfNeeded: h)
    }

    /// The value of binary16 `h` (exact).
    @inline(__always)
    static func float(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32((h >> 10) & 0x1F)
        let fraction = UInt32(h & 0x3FF)
        if exponent == 0 {
            let magnitude = Float(fraction) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | fraction << 13) }
        return Float(bitPattern: sign | (exponent + 112) << 23 | fraction << 13)
    }

    /// `v` rounded to binary16 and clamped to ±`greatest` (NaN stays NaN).
    @inline(__always)
    static func saturating(_ v: Double) -> UInt16 {
        bits(Float(max(min(v, Double(greatest)), -Double(greatest))))
    }
}
