// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilConfig
import VigilCore
import VigilDetectors
import VigilTestKit
@testable import VigilReplay

/// Six one-sensor recordings, 1200 rows a minute apart, each with a level shift or a spike at
/// its own place and its own noise: enough files for three folds of two.
let tuningFixtures: [Fixture] = (0..<6).map { i in
    let rows = 300 + 130 * i
    let anomaly: SignalGenerator.Anomaly = i % 2 == 0
        ? .levelShift(sensor: 0, rows: rows..<(rows + 40), offset: 1.5 + 0.2 * Double(i))
        : .spike(sensor: 0, rows: rows..<(rows + 6), magnitude: 2 + 0.3 * Double(i))
    let g = SignalGenerator(
        seed: 100 + UInt64(i), start: Timestamp.parse("2022-01-0\(i + 1) 00:00:00")!, interval: 60 * Timestamp.nanosecondsPerSecond,
        channels: [SignalGenerator.Channel(name: "v", baseline: 5, amplitude: 1, period: 4 * 3600, noise: 0.1 + 0.02 * Double(i))],
        anomalies: [anomaly])
    return try! WideCSVReader().read(bytes: Array(g.generate(rows: 1200).wideCSV().utf8), name: "unit\(i).csv")
}

/// A base that never alerts: raw z-score (no calibration) at 40σ.
let badBase = try! VigilConfiguration.parse(yaml: """
    detectors:
      surprise: {enabled: false}
      zscore: {enabled: true, threshold: 40, critical: 50}
      combine: {enabled: false}
    """, file: "bad.yaml")

let tuningSpaceText = """
    budget: 8
    folds: 3
    objective: event_f1
    parameters:
      detectors.zscore.threshold: {min: 2, max: 30, scale: log}
      detectors.zscore.window: {min: 16, max: 256, scale: log}
      detectors.alerts.raise_after: {min: 1, max: 4}
    """

func tuningSpace(_ text: String = tuningSpaceText) throws -> TuningSpace {
    try TuningSpace.parse(yaml: text, file: "space.yaml")
}

/// The file runs a report implies when each file runs once per distinct settings: the
/// baseline's (which `base`, the base configuration's point, shares), then each trial's
/// training files and each fold's held-out files not run yet.
func expectedFileRuns(_ report: TuningReport, base: [Double]?) -> Int {
    var seen: [[Double]: Set<Int>] = [:]
    if let base { seen[base] = Set(report.files.indices) }
    var runs = report.files.count
    func run(_ point: [Double], _ files: Set<Int>) {
        let new = files.subtracting(seen[point, default: []])
        runs += new.count
        seen[point, default: []].formUnion(new)
    }
    for (f, fold) in report.folds.enumerated() {
        let training = Set(report.folds.indices.filter { $0 != f }.flatMap { report.folds[$0].files })
        for t in fold.trials { run(t.point, training) }
        run(BayesianOptimizer.best(fold.trials)!.point, Set(fold.files))
    }
    for t in report.finalTrials { run(t.point, Set(report.files.indices)) }
    return runs
}

@Suite("Tuner")
struct TunerTests {
    @Test("folds partition the files, spread the files with anomalies, and follow the seed")
    func foldAssignment() {
        let anomalies = [true, false, true, true, false, false, true, false]
        let a = FoldAssignment(hasAnomalies: anomalies, count: 3, seed: 7)
        #expect(a.folds.flatMap { $0 }.sorted() == Array(0..<8))
        #expect(a.folds.map(\.count).sorted() == [2, 3, 3])
        #expect(a.folds.allSatisfy { fold in fold.contains { anomalies[$0] } }, "every fold has an anomaly to find")
        for f in 0..<3 {
            #expect(Set(a.training(excluding: f)).isDisjoint(with: a.folds[f]))
            #expect(a.training(excluding: f).count + a.folds[f].count == 8)
            for file in a.folds[f] { #expect(a.fold(of: file) == f) }
        }
        #expect(FoldAssignment(hasAnomalies: anomalies, count: 3, seed: 7) == a)
        let others = (8..<40).map { FoldAssignment(hasAnomalies: anomalies, count: 3, seed: UInt64($0)) }
        #expect(others.contains { $0 != a }, "the seed shuffles the files")
    }

    @Test("no held-out score is taken on a file its settings were tuned on")
    func crossValidationIsClean() throws {
        let space = try tuningSpace()
        let report = try Tuner(space: space, base: badBase, seed: 3, concurrency: 2).run(tuningFixtures)
        let folds = report.folds.map(\.files)
        #expect(folds.flatMap { $0 }.sorted() == Array(0..<6), "the folds partition the files")
        #expect(report.evaluations.first == .init(search: nil, purpose: .baseline, files: Array(0..<6)))
        for e in report.evaluations where e.purpose != .baseline {
            let search = try #require(e.search)
            switch (e.purpose, search) {
            case (.search, folds.count), (.final, folds.count):
                #expect(e.files == Array(0..<6))
            case (.search, _):
                #expect(Set(e.files).isDisjoint(with: folds[search]), "search \(search) evaluated a held-out file: \(e.files)")
                #expect(Set(e.files).union(folds[search]) == Set(0..<6))
            case (.heldOut, _):
                #expect(e.files == folds[search])
            default:
                Issue.record("unexpected evaluation \(e)")
            }
        }
        #expect(report.evaluations.filter { $0.purpose == .heldOut }.map(\.search) == [0, 1, 2])
        #expect(report.searchEvaluations == 4 * space.budget)
        #expect(report.fileRuns == expectedFileRuns(report, base: nil), "each file runs once per distinct settings")

        // Each fold's settings are its own search's best, and its held-out score is what those
        // settings score on the fold's files evaluated afresh.
        let objective = EventF1Objective()
        for (f, fold) in report.folds.enumerated() {
            let best = try #require(BayesianOptimizer.best(fold.trials))
            #expect(fold.chosen == space.candidate(at: best.point, over: badBase))
            #expect(fold.trainingScore == -best.value)
            let runner = EvaluationRunner(evaluator: Evaluator(configuration: fold.chosen.configuration), concurrency: 1)
            let fresh = runner.map(fold.files.map { tuningFixtures[$0] }) { objective.measure($0) }
            #expect(fold.heldOutScore == objective.score(fresh), "fold \(f)")
        }
    }

    @Test("improves on a base configuration that never alerts, held out and in-sample")
    func improvesOnABadBase() throws {
        let report = try Tuner(space: try tuningSpace(), base: badBase, seed: 1, concurrency: 2).run(tuningFixtures)
        #expect(report.baseHeldOutScore == 0 && report.baseScore == 0)
        #expect(try #require(report.heldOutScore) > 0.5, "\(report.text())")
        #expect(report.finalScore > 0.5)
        #expect(report.notes.contains("the base configuration's values lie outside the space, so the searches did not start from them"))
        // The snippet gives exactly the final settings: the base's raw z-score and the tuned keys.
        let parsed = try VigilConfiguration.parse(yaml: report.snippet(), file: "snippet.yaml")
        #expect(parsed.detectors == report.final.configuration.detectors)
        #expect(!parsed.detectors.combine.enabled)
        let values = report.final.settings.map(\.value)
        let threshold = try #require(Double(values[0]))
        #expect(threshold >= 2 && threshold <= 30 && threshold < 40)
    }

    @Test("the same seed gives the same report byte for byte, whatever the concurrency; another seed another valid one")
    func deterministic() throws {
        let space = try tuningSpace()
        let a = try Tuner(space: space, base: badBase, seed: 5, concurrency: 2).run(tuningFixtures)
        let b = try Tuner(space: space, base: badBase, seed: 5, concurrency: 1).run(tuningFixtures)
        #expect(a.text() == b.text())
        #expect(a.json() == b.json())
        let c = try Tuner(space: space, base: badBase, seed: 6, concurrency: 2).run(tuningFixtures)
        #expect(c.finalTrials != a.finalTrials, "another seed searches other points")
        for report in [a, c] {
            let parsed = try VigilConfiguration.parse(yaml: report.snippet(), file: "snippet.yaml")
            #expect(parsed.detectors == report.final.configuration.detectors)
            #expect(report.searchEvaluations == 4 * space.budget)
        }
    }

    @Test("starts from the base configuration's values when they lie in the space, and never ends below them in-sample")
    func startsFromTheBase() throws {
        let base = try VigilConfiguration.parse(yaml: "detectors:\n  zscore: {threshold: 6, window: 64, warmup: 16}\n  combine: {enabled: false}\n",
                                                file: "base.yaml")
        let space = try tuningSpace()
        let report = try Tuner(space: space, base: base, seed: 2, concurrency: 2).run(tuningFixtures)
        let start = try #require(space.point(of: base))
        #expect(report.finalTrials.first?.point == start)
        #expect(report.folds.allSatisfy { $0.trials.first?.point == start })
        #expect(report.finalScore >= report.baseScore!)
        // The base's files ran once for the baseline and are reused by every search's first trial
        // (the space's raise_after is inherited from alerts in the base: the same settings).
        #expect(report.fileRuns == expectedFileRuns(report, base: start))
        #expect(report.fileRuns < expectedFileRuns(report, base: nil), "the first trials cost no run")
    }

    @Test("too many folds, no labels: each a clear error")
    func errors() throws {
        let seven = try tuningSpace(tuningSpaceText.replacingOccurrences(of: "folds: 3", with: "folds: 7"))
        do {
            _ = try Tuner(space: seven, base: badBase).run(tuningFixtures)
            Issue.record("7 folds of 6 files")
        } catch let error as ConfigError {
            #expect(error.description == "space.yaml:2:8: folds: 7 folds need at least 7 files with labelled anomalies, got 6")
        }
        let unlabelled = try WideCSVReader().read(bytes: Array("timestamp,v\n2022-01-01 00:00:00,1\n2022-01-01 00:01:00,2\n".utf8),
                                                  name: "plain.csv")
        do {
            _ = try Tuner(space: try tuningSpace(), base: badBase).run([unlabelled])
            Issue.record("no labels")
        } catch let error as TuningError {
            #expect(error.code == .noLabelledFiles)
            #expect(error.description == "vigil eval --tune: none of the 1 file has labels (NAB-style files take theirs from --labels; wide files need an anomaly column)")
        }
    }
}

@Suite("Tuning objectives")
struct TuningObjectiveTests {
    func counts(tp: Int, fp: Int, fn: Int, tn: Int) -> PointMetrics {
        var m = PointMetrics()
        m.truePositives = tp
        m.falsePositives = fp
        m.falseNegatives = fn
        m.trueNegatives = tn
        return m
    }

    @Test("event F1 pools counts; silence scores 0; no window is no score")
    func eventF1() {
        let o = EventF1Objective()
        let w = [LabelWindow(start: 100, end: 200)]
        let found = EventMetrics(windows: w, alarms: [150, 500])   // 1/1 found, 1 false
        let missed = EventMetrics(windows: w, alarms: [])
        #expect(o.score([found]) == 2 * 0.5 * 1 / 1.5)
        #expect(o.score([found, missed]) == 2 * 0.5 * 0.5 / 1.0)
        #expect(o.score([missed]) == 0)
        #expect(o.score([EventMetrics(windows: [], alarms: [5])]) == nil)
        #expect(o.summary([found, missed]) == "P 0.500 R 0.500 (1/2 windows, 2 alarms)")
    }

    @Test("point F1 and detection at a false-alarm rate, with infeasible candidates below every feasible one")
    func pointObjectives() {
        #expect(PointF1Objective().score([counts(tp: 3, fp: 1, fn: 1, tn: 95)]) == 0.75)
        #expect(PointF1Objective().score([counts(tp: 0, fp: 0, fn: 0, tn: 10)]) == nil)
        #expect(PointF1Objective().score([counts(tp: 0, fp: 0, fn: 4, tn: 10)]) == 0)
        let o = DetectionAtFalseAlarmRateObjective(maxFalseAlarmRate: 0.05)
        let feasible = counts(tp: 6, fp: 4, fn: 4, tn: 96)       // detection 0.6, rate 0.04
        let infeasible = counts(tp: 10, fp: 10, fn: 0, tn: 90)   // detection 1.0, rate 0.10
        let worse = counts(tp: 10, fp: 30, fn: 0, tn: 70)        // rate 0.30
        #expect(o.score([feasible]) == 0.6)
        let penalty = try! #require(o.score([infeasible]))
        #expect(penalty < 0 && abs(penalty - -(0.10 - 0.05) / 0.95) < 1e-12)
        #expect(o.score([worse])! < penalty, "farther from the constraint scores lower")
        #expect(o.score([counts(tp: 0, fp: 0, fn: 10, tn: 90)]) == 0, "flagging nothing is feasible and detects nothing")
        #expect(o.score([counts(tp: 0, fp: 1, fn: 0, tn: 10)]) == nil)
        #expect(o.summary([feasible]) == "detection 0.600, false-alarm rate 0.040 (≤ 0.05)")
        #expect(o.summary([infeasible]) == "detection 1.000, false-alarm rate 0.100 (> 0.05: infeasible)")
    }
}

@Suite("NAB tuning objective")
struct NABObjectiveTests {
    static func bundledNAB() throws -> [Fixture] {
        let labels = try NABLabels(path: repositoryRoot + "/Fixtures/nab/labels/combined_windows.json")
        return try FixtureLoader(labels: labels).load([repositoryRoot + "/Fixtures/nab/data"])
    }

    @Test("the objective is the deployed NAB score vigil eval reports, per profile")
    func equalsTheReportedDeployedScore() throws {
        let fixtures = try Self.bundledNAB()
        let runner = EvaluationRunner(evaluator: Evaluator(configuration: VigilConfiguration()))
        let report = try runner.run(fixtures)
        let summary = try #require(report.nabSummary())
        for (profile, name) in [(NABProfile.standard, "nab_standard"), (.rewardLowFPRate, "nab_low_fp"), (.rewardLowFNRate, "nab_low_fn")] {
            let objective = NABObjective(profile: profile)
            #expect(objective.name == name)
            let measures = runner.map(fixtures) { objective.measure($0) }
            let expected = try #require(summary.score(profile.name, "deployed")?.normalised)
            let got = try #require(objective.score(measures))
            #expect(abs(got - expected) < 1e-9, "\(name): \(got) vs \(expected)")
        }
    }

    @Test("files without NAB windows take no part; no windows at all is nothing to score")
    func nonNABFiles() throws {
        let objective = NABObjective(profile: .standard)
        let wide = objective.measure(Evaluator().run(tuningFixtures[0]))
        #expect(wide.windows == 0 && wide.raw == 0)
        #expect(objective.score([wide]) == nil)
        let nab = EvaluationRunner().map(try Self.bundledNAB()) { objective.measure($0) }
        #expect(objective.score(nab + [wide]) == objective.score(nab))
    }

    @Test("a space naming nab_standard tunes on NAB files")
    func tunes() throws {
        let space = try tuningSpace("""
            budget: 4
            folds: 2
            objective: nab_standard
            parameters:
              detectors.zscore.window: {min: 32, max: 512, scale: log}
            """)
        #expect(try TuningObjectives.objective(for: space).name == "nab_standard")
        let report = try Tuner(space: space, base: VigilConfiguration(), seed: 1).run(try Self.bundledNAB())
        #expect(report.text().contains("NAB "))
    }
}
