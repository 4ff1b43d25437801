// SPDX-License-Identifier: GPL-3.0-or-later

extension SignalGenerator {
    /// SplitMix64 (Steele, Lea & Flood 2014): a small, fast, seeded generator whose output is
    /// the same on every platform. Not for cryptography.
    public struct Random: RandomNumberGenerator, Sendable {
        private var state: UInt64

        /// A generator starting from `seed`.
        public init(seed: UInt64) { state = seed }

        /// The next 64 random bits.
        public mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        /// Uniform in [0, 1), 53 random bits.
        public mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

        /// Approximately standard normal: the Irwin–Hall sum of 12 uniforms minus 6 (mean 0,
        /// variance 1, tails cut at ±6). Basic arithmetic only, so identical everywhere.
        public mutating func gaussian() -> Double {
            var s = 0.0
            for _ in 0..<12 { s += uniform() }
            return s - 6
        }
    }
}
