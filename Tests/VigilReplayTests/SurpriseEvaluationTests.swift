// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilDetectors
@testable import VigilReplay

/// The shipped surprise detector through `vigil eval`'s code (the Evaluator), on a NAB-style
/// series: 5-minute samples of a daily cycle with noise, a level shift inside a labelled window.
@Suite("Surprise detector through the evaluator")
struct SurpriseEvaluationTests {
    static let rows = 5_000
    static let shiftRows = 3_000..<3_120

    /// `timestamp,value` text and the labels of one window around the shift.
    static func nabFixture() throws -> Fixture {
        var rng = Xoshiro256StarStar(seed: 77)
        let start = Timestamp.parse("2021-01-01 00:00:00")!
        let step = 300 * Timestamp.nanosecondsPerSecond
        func time(_ row: Int) -> String {
            let t = Timestamp.rfc3339(start + Int64(row) * step)   // 2021-01-01T00:05:00Z
            return t.prefix(10) + " " + t.dropFirst(11).prefix(8)
        }
        var text = "timestamp,value\n"
        for row in 0..<rows {
            var v = 40 + 8 * sin(2 * Double.pi * Double(row) / 288) + rng.nextGaussian()
            if shiftRows.contains(row) { v += 6 }
            text += "\(time(row)),\(v)\n"
        }
        let labels = try NABLabels(json: Data("""
            {"synthetic/level_shift.csv": [["\(time(2_960)).000000", "\(time(3_080)).000000"]]}
            """.utf8), file: "labels.json")
        return try NABReader().read(bytes: Array(text.utf8), name: "synthetic/level_shift.csv", labels: labels)
    }

    @Test func alertsInTheWindowAndScoresWhatItRaised() throws {
        let fixture = try Self.nabFixture()
        #expect(fixture.windows.count == 1)
        let run = Evaluator().run(fixture)
        #expect(run.scoreColumns.map(\.detector) == [.surprise])
        #expect(run.scoreColumns.first?.threshold == 4)
        let inWindow = run.alarms.filter { (2_960...3_080).contains($0.row) }
        let alarm = try #require(inWindow.first)
        #expect((3_000...3_010).contains(alarm.row), "raised at the shift: row \(alarm.row)")
        #expect(alarm.detector == .surprise)
        let outside = run.alarms.filter { !(2_960...3_080).contains($0.row) && $0.row > 300 }
        #expect(outside.count <= 2, "false alarms after warm-up: \(outside.map(\.row))")

        // NAB's anomaly score: 0.5 + 0.5·(1 − 4/S) at the raise, 0 while held, below 0.5 elsewhere.
        let (anomaly, deployed) = NABResults.series(run, sensor: 0)
        let raise = try #require(run.alerts.first { $0.row == alarm.row && $0.event.event == .raised })
        #expect(abs(anomaly[alarm.row] - (0.5 + 0.5 * (1 - 4 / raise.event.score))) < 1e-12)
        #expect(deployed[alarm.row] == 1)
        let clear = try #require(run.alerts.first { $0.event.event == .cleared && $0.event.raisedAt == raise.event.raisedAt })
        #expect(anomaly[(alarm.row + 1)..<clear.row].allSatisfy { $0 == 0 }, "held rows score 0")
        #expect(anomaly.indices.filter { anomaly[$0] >= 0.5 } == run.alarms.map(\.row))

        // NAB's scorer on it: the alarm near the window's start scores well.
        let summary = try #require(EvaluationReport(files: [.init(run)]).nabSummary())
        let standard = try #require(summary.score("standard", "deployed")?.normalised)
        #expect(standard > 50, "NAB standard \(standard)")
        let tuned = try #require(summary.score("standard", "tuned")?.normalised)
        #expect(tuned >= standard)
    }

    @Test func evidenceReachesTheAlertRecord() throws {
        let run = Evaluator().run(try Self.nabFixture())
        let raise = try #require(run.alerts.first { $0.event.event == .raised && $0.row >= 3_000 })
        let record = AlertRecord(seq: 1, event: raise.event, sensorName: "synthetic/level_shift")
        let channel = try #require(record.context["channel"])
        #expect([AlertRecord.ContextValue.string("level"), .string("range"), .string("recent_range"), .string("seasonal"),
                 .string("change")].contains(channel))
        #expect(record.context["surprise"]?.number == raise.event.score)
        #expect(record.detector == .surprise)
    }
}
