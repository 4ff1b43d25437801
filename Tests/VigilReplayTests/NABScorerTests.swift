// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilDetectors
@testable import VigilReplay

/// The pieces of NAB's scoring against cases worked out by hand. The series is 100 rows (NAB's
/// probationary period is then ⌊0.15 · 100⌋ = 15 rows) with one window on rows 40…49.
@Suite("NAB scorer")
struct NABScorerTests {
    let oneWindow = NABSeries(name: "a.csv", rowCount: 100, windows: [40...49])

    /// Anomaly scores of `rows` rows: 1 on `detections`, 0 elsewhere.
    func detections(_ rows: [Int], count: Int = 100) -> [Double] {
        var s = [Double](repeating: 0, count: count)
        for r in rows { s[r] = 1 }
        return s
    }

    func score(_ rows: [Int], _ profile: NABProfile = .standard, series: NABSeries? = nil) -> NABScore {
        let series = series ?? oneWindow
        return NABScorer(series: [series]).score([detections(rows, count: series.rowCount)], profile: profile, threshold: 0.5)
    }

    @Test func scaledSigmoid() {
        #expect(NABScorer.scaledSigmoid(0) == 0)
        #expect(abs(NABScorer.scaledSigmoid(-1) - 0.9866142981514305) < 1e-15)   // 2/(1+e^-5) − 1
        #expect(NABScorer.scaledSigmoid(3) > -1)                                 // 2/(1+e^15) − 1, just above −1
        #expect(NABScorer.scaledSigmoid(3.000001) == -1)
        #expect(NABScorer.scaledSigmoid(.infinity) == -1)
    }

    @Test("probation: min(⌊0.15 n⌋, 750) rows", arguments: [(100, 15), (7, 1), (20, 3), (5000, 750), (4999, 749), (22695, 750), (0, 0)])
    func probation(rows: Int, expected: Int) {
        #expect(NABSeries.probation(rows: rows) == expected)
    }

    @Test func detectionOnAWindowsFirstRowEarnsExactlyTheTruePositiveWeight() {
        let s = score([40])
        #expect(s.raw == 1)
        #expect(s.truePositives == 1 && s.falseNegatives == 9 && s.falsePositives == 0 && s.trueNegatives == 75)
        #expect(s.normalised == 100)
        let heavy = NABProfile(name: "heavy", tpWeight: 2.5, fpWeight: 0.11, fnWeight: 1)
        #expect(abs(score([40], heavy).raw - 2.5) < 1e-15)
    }

    @Test func onlyTheEarliestDetectionInAWindowCounts() {
        // Row 42 of 40…49: x = −(49 − 42 + 1)/10 = −0.8, reward (2σ(4) − 1)/(2σ(5) − 1).
        #expect(abs(score([42]).raw - 0.9771068409226045) < 1e-15)
        #expect(score([42, 45, 49]).raw == score([42]).raw)
        #expect(score([42, 45, 49]).truePositives == 3)
        // The last row of the window: x = −0.1.
        #expect(abs(score([49]).raw - 0.24824154977542992) < 1e-15)
    }

    @Test func detectionsInTheProbationaryPeriodAreNotScored() {
        let none = score([])
        #expect(none.raw == -1)
        #expect(none.normalised == 0)
        let early = score([0, 5, 14])
        #expect(early == none)
        #expect(early.truePositives + early.falsePositives + early.falseNegatives + early.trueNegatives == 85)
        // Row 15 is the first scored row: before any window, so it costs fpWeight.
        #expect(abs(score([15]).raw - (-1.11)) < 1e-15)
    }

    @Test func falsePositiveBeforeAnyWindowCostsTheFullWeight() {
        #expect(abs(score([20]).raw - (-1 - 0.11)) < 1e-15)
        #expect(abs(score([20], .rewardLowFPRate).raw - (-1 - 0.22)) < 1e-15)
        #expect(score([20, 30]).falsePositives == 2)
        #expect(abs(score([20, 30]).raw - (-1 - 0.22)) < 1e-15)
    }

    @Test func falsePositiveJustAfterAWindowCostsLittle() {
        // Row 50, one row past the window's last row 49: x = |49 − 50| / (10 − 1) = 1/9,
        // cost 0.11 · (2σ(−5/9) − 1) = −0.029793183036839352, plus the missed window.
        #expect(abs(score([50]).raw - (-1.0297931830368394)) < 1e-15)
        // Further away costs more, up to fpWeight beyond three window widths.
        #expect(score([60]).raw < score([50]).raw)
        #expect(abs(score([99]).raw - (-1.11)) < 1e-15)   // x = 50/9 > 3
        // A detected window and a detection just after it.
        #expect(abs(score([40, 50]).raw - (1 - 0.029793183036839352)) < 1e-15)
    }

    @Test func eachMissedWindowCostsTheFalseNegativeWeight() {
        let two = NABSeries(name: "b.csv", rowCount: 200, windows: [60...69, 120...139])
        #expect(score([], series: two).raw == -2)
        #expect(score([], .rewardLowFNRate, series: two).raw == -4)
        #expect(score([60], .rewardLowFNRate, series: two).raw == 1 - 2)
        // Normalised between null (−fn · 2) and perfect (tp · 2).
        #expect(score([60], .rewardLowFNRate, series: two).normalised == 50)   // 100 · (−1 − −4) / (2 − −4)
    }

    @Test func windowOfOneRowThenADetection() {
        // NAB divides by the window width − 1 = 0 here; Vigil counts the detection as far away.
        let narrow = NABSeries(name: "c.csv", rowCount: 100, windows: [40...40])
        #expect(abs(score([40, 41], series: narrow).raw - (1 - 0.11)) < 1e-15)
    }

    @Test("NAB's rule for the row a threshold selects", arguments: [
        (0.9, NABScorer.Selection.atLeast(0.9)), (0.8, .atLeast(0.9)), (0.7, .atLeast(0.7)), (0.70000001, .atLeast(0.9)),
        (0.5, .atLeast(0.7)), (0.3, .atLeast(0.3)), (0.2, .atLeast(0.3)), (1.0, .nothing), (1.1, .nothing), (2.0, .nothing),
    ])
    func thresholdSelection(threshold: Double, expected: NABScorer.Selection) {
        #expect(NABScorer.selection(descending: [0.9, 0.7, 0.7, 0.3], threshold: threshold) == expected)
    }

    @Test func thresholdSelectionEdges() {
        // A score equal to the start threshold: NAB records no empty row first.
        #expect(NABScorer.selection(descending: [1.1, 0.5], threshold: 1.1) == .atLeast(1.1))
        // No scored row at all.
        #expect(NABScorer.selection(descending: [Double](), threshold: 0.5) == .nothing)
        // Every score above the threshold (NAB finds no row): everything is detected.
        #expect(NABScorer.selection(descending: [0.9, 0.8], threshold: 0.1) == .atLeast(0.8))
    }

    @Test func thresholdsBetweenEqualScores() {
        // Rows 40 and 41 in the window, rows 60 and 61 after it, with tied scores.
        var s = [Double](repeating: 0, count: 100)
        s[40] = 0.6; s[41] = 0.6; s[60] = 0.6; s[61] = 0.8
        let scorer = NABScorer(series: [oneWindow])
        let at = { (t: Double) in scorer.score([s], profile: .standard, threshold: t) }
        #expect(at(0.6).truePositives == 2 && at(0.6).falsePositives == 2)
        #expect(at(0.59).truePositives == 2 && at(0.59).falsePositives == 2)
        #expect(at(0.61).truePositives == 0 && at(0.61).falsePositives == 1)
        #expect(at(0.8) == at(0.61).with(threshold: 0.8))
        #expect(at(0.81).falsePositives == 0 && at(0.81).raw == -1)
        #expect(at(0).falsePositives == 100 - 15 - 10)
    }

    @Test func optimiserPicksTheFirstBestRowOfTheCorpusSweep() {
        // File a: a detection on the window's first row scores 0.7; a false positive 0.9.
        // File b (no window): a false positive at 0.8.
        var a = [Double](repeating: 0, count: 100)
        a[40] = 0.7; a[20] = 0.9
        var b = [Double](repeating: 0, count: 100)
        b[50] = 0.8
        let scorer = NABScorer(series: [oneWindow, NABSeries(name: "b.csv", rowCount: 100, windows: [])])
        // Rows: 1.1 → −1; 0.9 → −1.11; 0.8 → −1.22; 0.7 → 1 − 0.22 = 0.78 (best); 0 → worse.
        let best = scorer.optimise([a, b], profile: .standard)
        #expect(best.threshold == 0.7)
        #expect(abs(best.raw - 0.78) < 1e-15)
        // A heavy false-positive cost makes detecting nothing best: NAB reports its start threshold.
        let costly = NABProfile(name: "costly", tpWeight: 1, fpWeight: 2, fnWeight: 1)
        let none = scorer.optimise([a, b], profile: costly)
        #expect(none.threshold == NABScorer.startThreshold)
        #expect(none.raw == -1 && none.truePositives == 0 && none.falsePositives == 0)
    }

    @Test func corpusScoreIsTheSumOfTheFiles() {
        let other = NABSeries(name: "b.csv", rowCount: 200, windows: [60...69, 120...139])
        var a = detections([42, 55]), b = detections([64, 150], count: 200)
        a[30] = 0.4; b[30] = 0.45
        let both = NABScorer(series: [oneWindow, other])
        for profile in NABProfile.all {
            for t in [0.3, 0.5, 1.0] {
                let sum = NABScorer(series: [oneWindow]).score([a], profile: profile, threshold: t).raw
                    + NABScorer(series: [other]).score([b], profile: profile, threshold: t).raw
                #expect(abs(both.score([a, b], profile: profile, threshold: t).raw - sum) < 1e-12)
            }
        }
        #expect(both.windowCount == 3 && both.scoredWindowCount == 3)
    }

    @Test func sweepOrderIsADescendingStableSort() {
        var rng = Xoshiro256StarStar(seed: 7)
        var scores: [Double] = []
        for _ in 0..<5000 {
            switch rng.next() % 5 {
            case 0: scores.append(Double(rng.next() % 7) / 4)   // many ties
            case 1: scores.append(-Double(rng.next() % 1000) / 3)
            case 2: scores.append(rng.next() % 2 == 0 ? 0.0 : -0.0)
            default: scores.append(Double(bitPattern: rng.next() >> 2) * (rng.next() % 2 == 0 ? 1 : -1))
            }
        }
        let reference = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        #expect(NABScorer.Ranking.descendingOrder(scores).map(Int.init) == reference)
    }

    // MARK: Matching labels to rows

    @Test func windowsAreMatchedToRowsExactly() throws {
        let t0 = Timestamp.parse("2014-04-01 00:00:00")!, step = 300 * Timestamp.nanosecondsPerSecond
        let ts = (0..<100).map { t0 + Int64($0) * step }
        let s = try NABSeries(name: "x.csv", file: "data/x.csv", timestamps: ts,
                              windows: [LabelWindow(start: ts[40], end: ts[49]), LabelWindow(start: ts[70], end: ts[70])])
        #expect(s.windows == [40...49, 70...70])
        // A label between two rows is refused, naming the data file.
        do throws(FixtureError) {
            _ = try NABSeries(name: "x.csv", file: "data/x.csv", timestamps: ts, windows: [LabelWindow(start: ts[40] + 1, end: ts[49])])
            Issue.record("a label between rows was accepted")
        } catch {
            #expect(error.code == .labelNotInData)
            #expect(error.file == "data/x.csv")
            #expect(error.description.contains("2014-04-01T03:20:00.000000001Z"), "\(error)")
        }
        #expect(throws: FixtureError.self) {
            try NABSeries(name: "x.csv", file: "x.csv", timestamps: ts, windows: [LabelWindow(start: ts[40], end: ts[50]), LabelWindow(start: ts[50], end: ts[60])])
        }
    }
}

extension NABScore {
    func with(threshold: Double) -> NABScore {
        var s = self
        s.threshold = threshold
        return s
    }
}
