// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilDetectors
@testable import VigilReplay

/// `--nab-results` writes what Vigil would alert on (`NABResults.anomalyScore`), so that NAB's
/// threshold 0.5 reproduces the deployed alarms and the tuned score is never below the deployed one.
@Suite("NAB results")
struct NABResultsTests {
    typealias S = NABResults.DetectorScore
    func value(raising: [S] = [], held: Bool = false, scores: [S] = []) -> Double {
        NABResults.anomalyScore(raising: raising, held: held, scores: scores)
    }

    @Test func anAlarmMapsToHalfPlusHalfItsStrength() {
        // Raw threshold 5: a raise at 5 is strength 0, at 10 strength 1 − 5/10.
        #expect(value(raising: [S(detector: .zscore, score: 5, threshold: 5)]) == 0.5)
        #expect(value(raising: [S(detector: .zscore, score: 10, threshold: 5)]) == 0.75)
        // The strongest raise on the row counts.
        #expect(value(raising: [S(detector: .zscore, score: 10, threshold: 5), S(detector: .spectralResidual, score: 2, threshold: 0.5)]) == 0.875)
        // A combined probability counts in nines: threshold 1 − 1e-7 is 7 nines, 1 − 1e-14 is 14.
        let p = value(raising: [S(detector: .combined, score: 1 - 1e-14, threshold: 1 - 1e-7)])
        #expect(abs(p - 0.75) < 1e-3)
        // Never 1, even for a probability of exactly 1 or a huge raw score.
        #expect(value(raising: [S(detector: .combined, score: 1, threshold: 1 - 1e-7)]) < 1)
        #expect(value(raising: [S(detector: .zscore, score: 1e300, threshold: 5)]) < 1)
        // Monotone in how far the raising score exceeds the threshold.
        let raw = [5.0, 5.5, 8, 50, 5e5].map { value(raising: [S(detector: .zscore, score: $0, threshold: 5)]) }
        #expect(raw == raw.sorted() && Set(raw).count == raw.count)
        let probabilities = [1 - 1e-7, 1 - 1e-8, 1 - 1e-10, 1 - 1e-15].map { value(raising: [S(detector: .combined, score: $0, threshold: 1 - 1e-7)]) }
        #expect(probabilities == probabilities.sorted() && Set(probabilities).count == probabilities.count)
        #expect(probabilities.allSatisfy { $0 >= 0.5 && $0 < 1 })
    }

    @Test func otherRowsStayBelowHalf() {
        // No alarm: the score scaled so that the threshold maps to 0.49.
        #expect(value(scores: [S(detector: .zscore, score: 2.5, threshold: 5)]) == 0.245)
        #expect(value(scores: [S(detector: .zscore, score: 5, threshold: 5)]) == 0.49)
        #expect(value(scores: [S(detector: .zscore, score: 50, threshold: 5)]) == 0.49)   // above, not raised (yet)
        #expect(value(scores: [S(detector: .zscore, score: -3, threshold: 5)]) == 0)
        let calm = value(scores: [S(detector: .combined, score: 0.5, threshold: 1 - 1e-7)])
        #expect(abs(calm - 0.49 * log10(2) / 7) < 1e-9)
        #expect(value(scores: []) == 0)   // warm-up, or no sample on the row
        // While an alert is held: 0, whatever the score.
        #expect(value(held: true, scores: [S(detector: .zscore, score: 50, threshold: 5)]) == 0)
        // A new alarm while another is held is still a detection.
        #expect(value(raising: [S(detector: .zscore, score: 5, threshold: 5)], held: true) == 0.5)
    }

    /// The bundled NAB series through the shipped detectors.
    func shippedReport() throws -> (runs: [FixtureRun], report: EvaluationReport) {
        let labels = try NABLabels(path: repositoryRoot + "/Fixtures/nab/labels/combined_windows.json")
        let fixtures = try FixtureLoader(labels: labels).load([repositoryRoot + "/Fixtures/nab/data"])
        let runs = fixtures.map { Evaluator().run($0) }
        return (runs, EvaluationReport(files: runs.map(EvaluationReport.File.init)))
    }

    @Test func thresholdHalfReproducesTheDeployedAlarmsAndTunedIsNeverBelow() throws {
        let (runs, report) = try shippedReport()
        for run in runs {
            let (anomaly, deployed) = NABResults.series(run, sensor: 0)
            let alarmRows = Set(run.alarms.map(\.row))
            #expect(Set(anomaly.indices.filter { anomaly[$0] >= 0.5 }) == alarmRows)
            #expect(Set(deployed.indices.filter { deployed[$0] == 1 }) == alarmRows)
            #expect(deployed.allSatisfy { $0 == 0 || $0 == 1 })
        }
        #expect(runs.contains { !$0.alarms.isEmpty })
        let summary = try #require(report.nabSummary())
        #expect(summary.notScored.isEmpty && summary.files == 2 && summary.windows == 5)
        let scorer = NABScorer(series: try runs.map { try NABSeries($0.fixture) })
        let anomaly = scorer.rank(runs.map { NABResults.series($0, sensor: 0).anomalyScores })
        for p in NABProfile.all {
            let tuned = try #require(summary.score(p.name, "tuned"))
            let deployed = try #require(summary.score(p.name, "deployed"))
            #expect(deployed.threshold == 0.5)
            let tunedScore = try #require(tuned.normalised), deployedScore = try #require(deployed.normalised)
            #expect(tunedScore >= deployedScore, "\(p.name)")
            // The anomaly scores at 0.5 are exactly the deployed figure.
            #expect(anomaly.score(p, threshold: 0.5) == deployed, "\(p.name)")
        }
    }

    @Test func writtenResultsScoreAsInMemory() throws {
        let (runs, report) = try shippedReport()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-nabres-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let runner = EvaluationRunner(outputs: .init(nabResults: dir))
        for run in runs { try runner.write(run) }
        #expect(FileManager.default.fileExists(atPath: dir + "/vigil/realKnownCause/vigil_machine_temperature_system_failure.csv"))
        // Read back as any detector's results: the same figures as computed in memory.
        let fromFiles = NABSummary.scoring(.init(name: "vigil", path: dir + "/vigil"), fixtures: runs.map(\.fixture),
                                           thresholds: Dictionary(uniqueKeysWithValues: NABProfile.all.map { ($0.name, 0.5) }))
        let inMemory = try #require(report.nabSummary())
        #expect(fromFiles.notScored.isEmpty)
        for p in NABProfile.all {
            #expect(fromFiles.score(p.name, "optimised") == inMemory.score(p.name, "tuned"))
            #expect(fromFiles.score(p.name, "given") == inMemory.score(p.name, "deployed"))
        }
    }

    @Test func aLabelThatIsNoRowLeavesThatFileOutOfTheNABScoreOnly() throws {
        let (runs, _) = try shippedReport()
        var broken = runs[0]
        var windows = broken.fixture.windows
        windows[0] = LabelWindow(start: windows[0].start + 1, end: windows[0].end)
        broken.fixture.applyWindows(windows)
        let report = EvaluationReport(files: [broken, runs[1]].map(EvaluationReport.File.init))
        let summary = try #require(report.nabSummary())
        #expect(summary.notScored.map(\.code) == [.labelNotInData])
        #expect(summary.notScored.first?.file == broken.fixture.path)
        #expect(summary.files == 1)
        // The rest of the report is intact.
        #expect(report.files.count == 2 && report.total.event.windows == 5)
        #expect(report.json(extra: [("nab", summary.json())]).contains("\"not_scored\":[{\"file\":"))
    }

    @Test func noNABLabelsNoNABScore() {
        let report = EvaluationReport(files: [EvaluationReport.File(Evaluator(settings: { _ in testSettings }).run(smallFixture))])
        #expect(report.nabSummary() == nil)
    }
}
