// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilCore

/// The wait between tries of a failing write: doubling, capped, and sane for long outages.
@Suite("RetryDelay")
struct RetryDelayTests {
    @Test func doublesUpToTheMaximum() {
        let d = RetryDelay(firstMilliseconds: 50, maximumMilliseconds: 1000)
        #expect((1...7).map { d.milliseconds(afterFailures: $0) } == [50, 100, 200, 400, 800, 1000, 1000])
    }

    @Test("an outage of any length keeps the maximum (no shift overflow)", arguments: [17, 64, 1_000_000, Int.max])
    func longOutages(failures: Int) {
        let d = RetryDelay(firstMilliseconds: 50, maximumMilliseconds: 2000)
        #expect(d.milliseconds(afterFailures: failures) == 2000)
    }

    @Test func noFailureYetWaitsTheFirstDelay() {
        #expect(RetryDelay(firstMilliseconds: 25, maximumMilliseconds: 100).milliseconds(afterFailures: 0) == 25)
    }
}
