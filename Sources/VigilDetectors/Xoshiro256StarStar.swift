// SPDX-License-Identifier: GPL-3.0-or-later
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// xoshiro256** (Blackman & Vigna, 2018), seeded through SplitMix64: the small, fast and fully
/// deterministic generator behind Vigil's randomised detectors (isolation forests).
///
/// Every derived draw (`nextUnit`, `nextIndex`, `nextGaussian`) is implemented here rather than
/// through the standard library's `random(in:using:)`, so that a seed gives the same trees on every
/// platform and toolchain. Not cryptographic.
///
/// Threading: a plain value; each thread uses its own copy. No allocation.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// A generator whose 256-bit state is four successive SplitMix64 outputs of `seed` (the
    /// seeding the authors recommend; it never yields the forbidden all-zero state in practice).
    public init(seed: UInt64) {
        var sm = seed
        s0 = Self.splitMix64(&sm)
        s1 = Self.splitMix64(&sm)
        s2 = Self.splitMix64(&sm)
        s3 = Self.splitMix64(&sm)
    }

    /// One step of SplitMix64 (Steele, Lea & Flood 2014): advances `state` and returns a well mixed
    /// 64-bit value. Also used to derive independent seeds (per tree, per retraining) from one seed.
    @inline(__always)
    public static func splitMix64(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A seed derived from `seed` and a stream number (e.g. a tree index), decorrelated by SplitMix64.
    @inline(__always)
    public static func derivedSeed(_ seed: UInt64, stream: UInt64) -> UInt64 {
        var s = seed ^ (stream &* 0xD1B5_4A32_D192_ED03)
        return splitMix64(&s)
    }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Uniform integer in `0..<bound` (Lemire's multiply-high; bias below `bound / 2⁶⁴`).
    @inline(__always)
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0)
        return Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Standard normal variate (Marsaglia's polar method).
    public mutating func nextGaussian() -> Double {
        while true {
            let u = 2 * nextUnit() - 1
            let v = 2 * nextUnit() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 {
                return u * (-2 * log(s) / s).squareRoot()
            }
        }
    }

    @inline(__always)
    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }
}
