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
    func offsets() {
        let f = Fixture(name: "a.csv", format: .nab, columns: ["value"], timestamps: [100, 200, 300], values: [[1, 2, 3]])
        let stream = ReplayStream(fixtures: [f])
        #expect(stream.offset(rebase: false, now: 5_000, previousLast: nil) == 0)
        #expect(stream.offset(rebase: true, now: 5_000, previousLast: nil) == 4_900)
        // Second pass without rebase: starts a gap after the first pass's last sample.
        let second = stream.offset(rebase: false, now: 0, previousLast: stream.lastTimestamp(offset: 0), gap: 10)
        #expect(100 + second == 310)
        // Rebased passes that run faster than recorded time still rise.
        let first = stream.offset(rebase: true, now: 5_000, previousLast: nil)
        let next = stream.offset(rebase: true, now: 5_001, previousLast: stream.lastTimestamp(offset: first), gap: 10)
        #expect(100 + next > 300 + first)
    }
}
