// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilReplay

@Suite("Replay stream")
struct ReplayStreamTests {
    @Test("files interleave by timestamp; a wide row gives one sample per sensor; empty cells give none")
    func interleave() {
        let a = Fixture(name: "a.csv", format: .nab, columns: ["value"], timestamps: [10, 30, 50], values: [[1, 3, 5]])
        let b = Fixture(name: "pump.csv", columns: ["x", "y"], timestamps: [20, 30, 40],
                        values: [[2, .nan, 4], [20, 30, 40]])
        let stream = ReplayStream(fixtures: [a, b])
        #expect(stream.sensors == ["a/value", "pump/x", "pump/y"])
        #expect(stream.sampleCount == 8)
        #expect(stream.firstTimestamp == 10)
        var events: [String] = []
        stream.forEach { e in
            events.append("\(e.timestamp) \(stream.sensors[e.sensor])=\(e.value)")
            return true
        }
        #expect(events == ["10 a/value=1.0", "20 pump/x=2.0", "20 pump/y=20.0", "30 a/value=3.0", "30 pump/y=30.0",
                           "40 pump/x=4.0", "40 pump/y=40.0", "50 a/value=5.0"], "ties go to the file named first")
        var count = 0
        stream.forEach { _ in count += 1; return count < 3 }
        #expect(count == 3, "returning false stops the stream")
    }

    @Test("loop passes keep timestamps rising, with and without rebasing")
    func offsets() throws {
        let f = Fixture(name: "a.csv", format: .nab, columns: ["value"], timestamps: [100, 200, 300], values: [[1, 2, 3]])
        let stream = ReplayStream(fixtures: [f])
        // Recorded time: pass 1 as recorded, pass 2 a gap after pass 1's last sample.
        var recorded = try #require(stream.timeline(rebase: false, speed: 0, gap: 10))
        try recorded.beginPass(now: 5_000)
        #expect(try [100, 200, 300].map { try recorded.stamp($0, now: 0) } == [100, 200, 300])
        try recorded.beginPass(now: 5_001)
        #expect(try [100, 200, 300].map { try recorded.stamp($0, now: 0) } == [310, 410, 510])
        // Rebased at 1x: the first sample at the pass's start, the recorded spacing kept.
        var paced = try #require(stream.timeline(rebase: true, speed: 1))
        try paced.beginPass(now: 5_000)
        #expect(try [100, 200, 300].map { try paced.stamp($0, now: 0) } == [5_000, 5_100, 5_200])
        // At 10x the spacing shrinks tenfold; a pass that starts before the previous ended
        // (the clock did not move) still rises.
        var fast = try #require(stream.timeline(rebase: true, speed: 10))
        try fast.beginPass(now: 5_000)
        #expect(try [100, 200, 300].map { try fast.stamp($0, now: 0) } == [5_000, 5_010, 5_020])
        try fast.beginPass(now: 5_001)
        #expect(try fast.stamp(100, now: 0) == 5_020)
        // As fast as possible: the clock at sending, never decreasing.
        var max = try #require(stream.timeline(rebase: true, speed: 0))
        try max.beginPass(now: 7_000)
        #expect(try [100, 200, 300].map { try max.stamp($0, now: 7_000 + $0) } == [7_100, 7_200, 7_300])
        #expect(try max.stamp(100, now: 6_000) == 7_300, "a clock stepping back does not make stamps decrease")
    }

    /// A recording spanning four years, as the NAB corpus does.
    static let years = Fixture(name: "nab.csv", format: .nab, columns: ["value"],
                               timestamps: [1_388_534_400_000_000_000, 1_420_070_400_000_000_000, 1_514_764_800_000_000_000],
                               values: [[1, 2, 3]])

    @Test("rebased passes of a recording spanning years loop without overflow and with monotone timestamps")
    func manyRebasedPasses() throws {
        let stream = ReplayStream(fixtures: [Self.years])
        let passes = 100_000
        for speed in [0.0, 1e12] {
            var timeline = try #require(stream.timeline(rebase: true, speed: speed))
            var clock: Int64 = 1_764_000_000_000_000_000
            var last = Int64.min
            var monotone = true, behindClock = true
            for _ in 0..<passes {
                try timeline.beginPass(now: clock)
                for recorded in Self.years.timestamps {
                    clock += 1_000  // a microsecond per sample
                    let t = try timeline.stamp(recorded, now: clock)
                    monotone = monotone && t >= last
                    behindClock = behindClock && t <= clock
                    // A paced replay sleeps until a sample is due (its stamp).
                    if speed > 0 { clock = max(clock, t) }
                    last = t
                }
            }
            #expect(monotone, "speed \(speed)")
            #expect(behindClock || speed > 0, "as fast as possible: never ahead of the clock")
            #expect(timeline.pass == passes)
            #expect(last > 1_764_000_000_000_000_000 && last <= clock)
        }
    }

    @Test("recorded-time passes end with a clear error where timestamps would pass 2262, never a trap")
    func recordedPassesStopAtTheEnd() throws {
        let stream = ReplayStream(fixtures: [Self.years])
        var timeline = try #require(stream.timeline(rebase: false, speed: 0))
        var last = Int64.min
        var failure: ReplayError?
        for _ in 0..<1_000 {
            do {
                try timeline.beginPass(now: 0)
            } catch {
                failure = error
                break
            }
            for recorded in Self.years.timestamps {
                let t = try timeline.stamp(recorded, now: 0)
                #expect(t > last)
                last = t
            }
        }
        let error = try #require(failure)
        #expect(error.code == .unrepresentableTimestamp)
        #expect(error.pass > 50 && error.pass < 100, "four years a pass from 2014: about 62 passes fit")
        #expect(error.description.contains("2262-04-11T23:47:16") && error.description.contains("--rebase-time"))
    }

    @Test("a rebased recording too long to stamp at its pace is an error, not a trap")
    func rebasedSpanTooLong() throws {
        let f = Fixture(name: "a.csv", format: .nab, columns: ["value"], timestamps: [.min + 1, .max - 1], values: [[1, 2]])
        var timeline = try #require(ReplayStream(fixtures: [f]).timeline(rebase: true, speed: 1))
        #expect(throws: ReplayError.self) { try timeline.beginPass(now: 1_764_000_000_000_000_000) }
    }
}
