// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilDetectors
import VigilTestKit
@testable import VigilReplay

/// Settings fixed here, so these tests do not move when the shipped defaults do.
let testSettings = DetectorSettings(
    zscore: .init(ZScoreSettings(mode: .rolling, window: 32, warmup: 16),
                  alerts: AlertPolicy(threshold: 4, criticalThreshold: 8, raiseAfter: 2, clearAfter: 5)),
    combine: nil, surprise: nil)

/// A small asset: two sensors, 400 rows a minute apart, a level shift on `a` (rows 200..<230)
/// and a spike on `b` (rows 300..<304).
let smallFixture: Fixture = {
    let g = SignalGenerator(
        seed: 42, start: Timestamp.parse("2021-06-01 00:00:00")!, interval: 60 * Timestamp.nanosecondsPerSecond,
        channels: [SignalGenerator.Channel(name: "a", baseline: 10, amplitude: 1, period: 3 * 3600, noise: 0.1),
                   SignalGenerator.Channel(name: "b", baseline: 0, amplitude: 0.5, period: 2 * 3600, noise: 0.05)],
        anomalies: [.levelShift(sensor: 0, rows: 200..<230, offset: 4), .spike(sensor: 1, rows: 300..<304, magnitude: 3)])
    let text = g.generate(rows: 400).wideCSV()
    return try! WideCSVReader().read(bytes: Array(text.utf8), name: "plant/small.csv")
}()

@Suite("Evaluator")
struct EvaluatorTests {
    let evaluator = Evaluator(settings: { _ in testSettings })

    @Test func sameAlertsAsDrivingSensorDetectorsDirectly() {
        let run = evaluator.run(smallFixture)
        // Reference: the daemon's per-sensor code, called by hand in the same order.
        var detectors = smallFixture.columns.indices.map { SensorDetectors(sensor: UInt32($0), settings: testSettings) }
        var events: [AlertEvent] = []
        for row in 0..<smallFixture.rowCount {
            for k in smallFixture.columns.indices where !smallFixture.values[k][row].isNaN {
                detectors[k].process(Sample(sensor: UInt32(k), timestamp: smallFixture.timestamps[row], value: smallFixture.values[k][row]),
                                     emit: { events.append($0) })
            }
        }
        #expect(run.alerts.map(\.event) == events)
        #expect(!events.isEmpty)
        // Alerting rows are exactly those between a raise and its clear.
        var raised = Set<String>()
        var expected: [Bool] = []
        var next = 0
        for row in 0..<smallFixture.rowCount {
            while next < run.alerts.count, run.alerts[next].row == row {
                let a = run.alerts[next]
                let id = a.event.id(sensorName: smallFixture.sensors[a.sensor])
                if a.event.event == .raised { raised.insert(id) } else { raised.remove(id) }
                next += 1
            }
            expected.append(!raised.isEmpty)
        }
        #expect(run.alerting == expected)
    }

    @Test func deterministic() {
        let a = evaluator.run(smallFixture), b = evaluator.run(smallFixture)
        #expect(a.alerts == b.alerts)
        #expect(ScoresCSV.text(a) == ScoresCSV.text(b))
        #expect(EvaluationReport(files: [.init(a)]).json() == EvaluationReport(files: [.init(b)]).json())
        // In parallel too.
        let runner = EvaluationRunner(evaluator: evaluator, concurrency: 2)
        let r1 = try! runner.run([smallFixture, smallFixture, smallFixture]).json()
        let r2 = try! EvaluationRunner(evaluator: evaluator, concurrency: 1).run([smallFixture, smallFixture, smallFixture]).json()
        #expect(r1 == r2)
    }

    @Test func scoresPerDetectorAndRowScore() {
        let run = evaluator.run(smallFixture)
        #expect(run.scoreColumns.map { "\($0.sensor):\($0.detector.rawValue)" } == ["0:zscore", "1:zscore"])
        #expect(run.scoreColumns.allSatisfy { $0.threshold == 4 })
        // Warm-up: the first 16 samples of each sensor have no score.
        #expect(run.score[0..<16].allSatisfy { $0.isNaN })
        #expect(run.score[16...].allSatisfy { !$0.isNaN })
        for row in [20, 210, 301] {
            #expect(run.score[row] == max(run.scoreColumns[0].values[row], run.scoreColumns[1].values[row]))
        }
    }

    @Test func metricsOfTheSmallFixture() {
        let m = evaluator.run(smallFixture).metrics()
        #expect(m.event.windows == 2)
        #expect(m.event.found == 2)              // both injected anomalies are found
        // Raised on the 2nd anomalous sample of each (raiseAfter 2): 60 s after the window starts.
        #expect(m.event.delays == [60, 60])
        #expect(m.event.falseAlarms == 0)
        // 34 labelled rows (30 + 4). The z-score does not learn while its alert is raised, so the
        // level shift stays flagged for as long as it lasts (it would adapt and catch 10 otherwise).
        #expect(m.point.truePositives + m.point.falseNegatives == 34)
        #expect(m.point.truePositives == 32)
        #expect(abs(m.days - 399.0 / 1440) < 1e-9)
        // Rows a minute apart, no gap: every row stands for 60 s, so the time-weighted rates are the
        // row rates: 32 of 34 fault minutes; 8 false rows (the alert clears after the shift ends:
        // precision 32/40) of 366 normal minutes.
        #expect(m.point.falsePositives == 8)
        #expect(m.time.faultTime == 34 * 60 * Timestamp.nanosecondsPerSecond)
        #expect(m.time.normalTime == 366 * 60 * Timestamp.nanosecondsPerSecond)
        #expect(m.time.detectionRate == m.point.recall)
        #expect(m.time.falseAlarmRate == 8.0 / 366)
        // And in the JSON, per file and in total.
        let json = EvaluationReport(files: [.init(evaluator.run(smallFixture))]).json()
        let time = "\"time\":{\"fault_s\":2040,\"detected_s\":1920,\"normal_s\":21960,\"false_alarm_s\":480,"
        #expect(json.components(separatedBy: time).count == 3)
        #expect(json.components(separatedBy: "\"detection_rate\":0.9411764705882353").count == 3)
    }

    @Test func goldenTable() {
        let report = EvaluationReport(files: [.init(evaluator.run(smallFixture))])
        let expected = """
        file                     samples  windows  found  alarms  false  FA/day   pt P   pt R  pt F1     DR    FAR  ROC AUC  PR AUC   ev P   ev R  ev F1  delay mean  delay med
        plant/small.csv              800        2      2       2      0    0.00  0.800  0.941  0.865  0.941  0.022    1.000   1.000  1.000  1.000  1.000       1m00s      1m00s
        -----------------------------------------------------------------------------------------------------------------------------------------------------------------------
        total (1 labelled file)      800        2      2       2      0    0.00  0.800  0.941  0.865  0.941  0.022    1.000   1.000  1.000  1.000  1.000       1m00s      1m00s

        pt = point-wise: a row is predicted anomalous while an alert of its asset is raised.
        DR, FAR = detection rate, false-alarm rate: the share of labelled time and of normal time
             during which an alert of the asset is raised (a row stands for the time to the next).
        ev = event-wise: a labelled window is found when an alert is raised inside it; alarms raised
             outside every window are false.
        ROC/PR AUC: of the per-row score (the total is the mean over files).
        delay: from a window's start to the first alert raised inside it.
        The total sums the counts of the labelled files; - = undefined or unlabelled.

        """
        #expect(report.table() == expected)
    }

    @Test func sweepPassesThroughTheConfiguredPoint() {
        let sweep = ThresholdSweep(fixtures: [smallFixture], evaluator: evaluator, factors: [1, 2, 4])
        let plain = try! EvaluationRunner(evaluator: evaluator).run([smallFixture]).total
        #expect(sweep.points.map(\.factor) == [1, 2, 4])
        #expect(sweep.points[0].total == plain)
        // Higher thresholds never raise more alarms here.
        #expect(sweep.points[0].total.event.alarms >= sweep.points[1].total.event.alarms)
        #expect(sweep.points[1].total.event.alarms >= sweep.points[2].total.event.alarms)
        #expect(sweep.bestEventF1 != nil)
        #expect(sweep.table().contains("best event-wise F1"))
        let scaled = testSettings.scalingThresholds(by: 2)
        #expect(scaled.zscore?.alerts.threshold == 8 && scaled.zscore?.alerts.criticalThreshold == 16)
        #expect(scaled.zscore?.configuration == testSettings.zscore?.configuration)
    }
}
