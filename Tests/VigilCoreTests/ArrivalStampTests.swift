// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilCore

/// The arrival stamp in a sample's spare bytes: no size cost, and the full time comes back.
@Suite("ArrivalStamp")
struct ArrivalStampTests {
    @Test func sampleStaysTwentyFourBytes() {
        #expect(MemoryLayout<Sample>.stride == 24)
        #expect(MemoryLayout<Sample>.size == 24)
    }

    @Test("the arrival time is recovered within two ticks, across a wrap of the 32-bit stamp",
          arguments: [UInt64(5_000), 1_000_000_007, (UInt64(1) << 40) - 1_000, (UInt64(1) << 40) + 3, 987_654_321_012_345])
    func recovered(at arrival: UInt64) throws {
        let stamp = ArrivalStamp.stamp(monotonicNanoseconds: arrival)
        #expect(stamp != 0)
        for age: UInt64 in [0, 255, 256, 1_000, 3_000_000, 60_000_000_000, 900_000_000_000] {
            let seen = try #require(ArrivalStamp.nanoseconds(of: stamp, now: arrival + age))
            let error = seen > arrival ? seen - arrival : arrival - seen
            #expect(error < 512, "age \(age): \(seen) vs \(arrival)")
        }
    }

    @Test func unstampedMeansUnknown() {
        #expect(ArrivalStamp.nanoseconds(of: 0, now: 123_456_789) == nil)
        #expect(Sample(sensor: 1, timestamp: 2, value: 3).arrival == 0)
        // A time whose tick is 0 modulo 2^32 is still stamped (as 1).
        #expect(ArrivalStamp.stamp(monotonicNanoseconds: UInt64(1) << 40) == 1)
    }
}
