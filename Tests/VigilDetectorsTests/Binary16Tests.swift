// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
@testable import VigilDetectors

@Suite("Binary16")
struct Binary16Tests {
    @Test("every binary16 value converts to Float and back unchanged")
    func roundTrip() {
        for h in 0...UInt16.max {
            let f = Binary16.float(h)
            if f.isNaN {
                #expect(Binary16.bits(f) & 0x7C00 == 0x7C00 && Binary16.bits(f) & 0x3FF != 0)
            } else {
                #expect(Binary16.bits(f) == h, "\(h)")
            }
        }
    }

    #if !(os(macOS) && arch(x86_64))
    @Test("Float → binary16 rounds as the hardware's Float16 does (ties to even, overflow to ∞)")
    func matchesFloat16() {
        var rng = Xoshiro256StarStar(seed: 16)
        var values: [Float] = [0, -0, 1, -1, 65504, 65519, 65520, -65520, 1e-8, 2.98e-8, 2.99e-8, 5.96e-8, 6.1e-5, 1e10, .infinity, -.infinity]
        for _ in 0..<100_000 {
            let exponent = Int(rng.nextUnit() * 60) - 30
            values.append(Float(rng.nextGaussian()) * Float(sign: .plus, exponent: exponent, significand: 1))
            values.append(Float(bitPattern: UInt32(truncatingIfNeeded: Int(rng.nextUnit() * Double(UInt32.max)))))
        }
        for f in values where !f.isNaN {
            #expect(Binary16.bits(f) == Float16(f).bitPattern, "\(f)")
        }
    }
    #endif

    @Test func saturatingClampsToTheLargestFiniteValue() {
        #expect(Binary16.float(Binary16.saturating(1e9)) == 65504)
        #expect(Binary16.float(Binary16.saturating(-1e300)) == -65504)
        #expect(Binary16.float(Binary16.saturating(.nan)).isNaN)
        #expect(Binary16.float(Binary16.saturating(0.1)) == Float(Float16(0.1)))
    }
}
