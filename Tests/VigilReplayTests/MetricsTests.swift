// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
@testable import VigilReplay

/// Every figure here is computed by hand in the comments.
@Suite("Metrics")
struct MetricsTests {
    let s = 1_000_000_000 as Int64  // one second in ns

    @Test func pointWise() {
        // predicted: T T F F T, labels: T F T F F → TP 1, FP 2, FN 1, TN 1.
        let m = PointMetrics(predicted: [true, true, false, false, true], labels: [true, false, true, false, false])
        #expect((m.truePositives, m.falsePositives, m.falseNegatives, m.trueNegatives) == (1, 2, 1, 1))
        #expect(m.precision == 1.0 / 3)      // 1 / (1 + 2)
        #expect(m.recall == 0.5)             // 1 / (1 + 1)
        #expect(m.f1 == 0.4)                 // 2·1 / (2·1 + 2 + 1)
    }

    @Test func pointWiseNoAlertsAndNoLabels() {
        // No alerts: precision undefined, recall 0, F1 0.
        let noAlerts = PointMetrics(predicted: [false, false, false], labels: [true, false, false])
        #expect(noAlerts.precision == nil && noAlerts.recall == 0 && noAlerts.f1 == 0)
        // Empty labels with an alert: precision 0, recall undefined, F1 0.
        let noLabels = PointMetrics(predicted: [true, false], labels: [false, false])
        #expect(noLabels.precision == 0 && noLabels.recall == nil && noLabels.f1 == 0)
        // Neither: everything undefined.
        let neither = PointMetrics(predicted: [false], labels: [false])
        #expect(neither.precision == nil && neither.recall == nil && neither.f1 == nil)
    }

    @Test func rocAUC() {
        // scikit-learn's example: positives 0.35 and 0.8; 0.8 beats both negatives, 0.35 beats 0.1
        // only → 3 of 4 pairs.
        #expect(Metrics.rocAUC(scores: [0.1, 0.4, 0.35, 0.8], labels: [false, false, true, true]) == 0.75)
        // Ties count one half: scores 1 2 2 3, labels 0 0 1 1. Pairs (pos, neg): (2,1)=1 (2,2)=½
        // (3,1)=1 (3,2)=1 → 3.5 / 4.
        #expect(Metrics.rocAUC(scores: [1, 2, 2, 3], labels: [false, false, true, true]) == 0.875)
        // All tied: 0.5.
        #expect(Metrics.rocAUC(scores: [5, 5, 5, 5], labels: [false, true, false, true]) == 0.5)
        // NaN (no score) ranks lowest: positive 1 vs negatives NaN and 2 → 1 of 2.
        #expect(Metrics.rocAUC(scores: [.nan, 1, 2], labels: [false, true, false]) == 0.5)
        // Perfectly inverted: 0.
        #expect(Metrics.rocAUC(scores: [3, 1], labels: [false, true]) == 0)
        // One class only: undefined.
        #expect(Metrics.rocAUC(scores: [1, 2], labels: [false, false]) == nil)
        #expect(Metrics.rocAUC(scores: [1, 2], labels: [true, true]) == nil)
        #expect(Metrics.rocAUC(scores: [], labels: []) == nil)
    }

    @Test func averagePrecision() {
        // scikit-learn's example: thresholds 0.8 (P 1, R ½), 0.4 (P ½, R ½), 0.35 (P ⅔, R 1),
        // 0.1 (P ½, R 1) → ½·1 + 0 + ½·⅔ + 0 = 5/6.
        let ap = Metrics.averagePrecision(scores: [0.1, 0.4, 0.35, 0.8], labels: [false, false, true, true])!
        #expect(abs(ap - 5.0 / 6) < 1e-15)
        // Ties enter together: scores 1 2 2 3, labels 0 0 1 1 → threshold 3 (P 1, R ½), threshold 2
        // takes both 2s (P ⅔, R 1), threshold 1 (P ½, R 1) → ½ + ½·⅔ = 5/6.
        let tied = Metrics.averagePrecision(scores: [1, 2, 2, 3], labels: [false, false, true, true])!
        #expect(abs(tied - 5.0 / 6) < 1e-15)
        // All tied: precision of the whole set, ½.
        #expect(Metrics.averagePrecision(scores: [5, 5, 5, 5], labels: [false, true, false, true]) == 0.5)
        // No positives: undefined; all positives: 1.
        #expect(Metrics.averagePrecision(scores: [1, 2], labels: [false, false]) == nil)
        #expect(Metrics.averagePrecision(scores: [1, 2], labels: [true, true]) == 1)
    }

    @Test func eventWise() {
        // Windows [10 s, 20 s] and [30 s, 40 s]; alarms at 5 (false), 12 (first in window 1:
        // delay 2 s), 15 (also in window 1), 50 (false). Window 2 is missed.
        let w = [LabelWindow(start: 10 * s, end: 20 * s), LabelWindow(start: 30 * s, end: 40 * s)]
        let m = EventMetrics(windows: w, alarms: [50 * s, 12 * s, 5 * s, 15 * s])
        #expect((m.windows, m.found, m.alarms, m.trueAlarms, m.falseAlarms) == (2, 1, 4, 2, 2))
        #expect(m.precision == 0.5)   // 2 of 4 alarms inside a window
        #expect(m.recall == 0.5)      // 1 of 2 windows
        #expect(m.f1 == 0.5)
        #expect(m.delays == [2])
        // Window ends are inclusive: an alarm exactly at the end finds it with delay 10 s.
        let atEnd = EventMetrics(windows: [w[0]], alarms: [20 * s])
        #expect(atEnd.found == 1 && atEnd.delays == [10])
    }

    @Test func delaysMeanAndMedian() {
        var m = EventMetrics()
        m.delays = [60, 120, 600]
        #expect(m.meanDelay == 260)
        #expect(m.medianDelay == 120)
        m.delays = [60, 120, 600, 1200]
        #expect(m.medianDelay == 360)   // (120 + 600) / 2
        #expect(EventMetrics().meanDelay == nil && EventMetrics().medianDelay == nil)
    }

    @Test func eventWiseEmptyLabelsAndNoAlerts() {
        // No windows: every alarm is false, recall undefined.
        let noWindows = EventMetrics(windows: [], alarms: [1 * s, 2 * s])
        #expect(noWindows.falseAlarms == 2 && noWindows.precision == 0 && noWindows.recall == nil && noWindows.f1 == nil)
        // No alarms: precision undefined, recall 0.
        let noAlarms = EventMetrics(windows: [LabelWindow(start: 0, end: s)], alarms: [])
        #expect(noAlarms.precision == nil && noAlarms.recall == 0 && noAlarms.f1 == nil && noAlarms.meanDelay == nil)
        // Precision and recall both 0: F1 0.
        let zero = EventMetrics(windows: [LabelWindow(start: 0, end: s)], alarms: [5 * s])
        #expect(zero.f1 == 0)
    }

    @Test func falseAlarmsPerDayAndTotals() {
        // 2 false alarms over 12 hours → 4 a day.
        var a = Metrics()
        a.event = EventMetrics(windows: [], alarms: [1 * s, 2 * s])
        a.days = 0.5
        #expect(a.falseAlarmsPerDay == 4)
        var b = Metrics()
        b.event = EventMetrics(windows: [LabelWindow(start: 0, end: 10 * s)], alarms: [5 * s])
        b.days = 1.5
        b.rocAUC = 0.5
        a.rocAUC = 1
        let t = Metrics.total([a, b])
        // Counts add up: 3 alarms, 2 false, 2 days → 1 a day; AUC is the mean over files.
        #expect(t.event.alarms == 3 && t.event.falseAlarms == 2 && t.days == 2 && t.falseAlarmsPerDay == 1)
        #expect(t.rocAUC == 0.75)
        #expect(t.prAUC == nil)
        #expect(Metrics().falseAlarmsPerDay == nil)
    }

    @Test func timeWeightedRatesOnRegularRows() {
        // Six rows a minute apart: each stands for 60 s (the last for the median step, 60 s).
        // labels   F F T T T F
        // alerting F T T F T F → fault 180 s, 120 s of it alerting; normal 180 s, 60 s alerting.
        let t = TimeMetrics(timestamps: (0..<6).map { Int64($0) * 60 * s },
                            alerting: [false, true, true, false, true, false],
                            labels: [false, false, true, true, true, false])
        #expect((t.faultTime, t.detectedTime, t.normalTime, t.falseAlarmTime) == (180 * s, 120 * s, 180 * s, 60 * s))
        #expect(t.detectionRate == 2.0 / 3)
        #expect(t.falseAlarmRate == 1.0 / 3)
    }

    @Test func timeWeightingFollowsIrregularSampling() {
        // Rows at 0, 10, 20, 80, 90 s: they stand for 10, 10, 60, 10 s and the last for the
        // median step (10 s). Labels F F T T F, alerting only on row 2: by rows half the fault
        // rows are flagged, by time 60 of 70 s.
        let ts = [0, 10, 20, 80, 90].map { Int64($0) * s }
        #expect(TimeMetrics.rowDurations(ts) == [10, 10, 60, 10, 10].map { Int64($0) * s })
        let alerting = [false, false, true, false, false], labels = [false, false, true, true, false]
        let t = TimeMetrics(timestamps: ts, alerting: alerting, labels: labels)
        #expect(t.detectionRate == 6.0 / 7)
        #expect(PointMetrics(predicted: alerting, labels: labels).recall == 0.5)
        #expect(t.falseAlarmRate == 0)
        #expect(t.normalTime == 30 * s)
    }

    @Test func aRecordingGapCountsAsOneMedianStep() {
        // A minute apart, then two hours of nothing (more than 10 median steps): the row before
        // the gap, raised and normal, stands for 60 s, not 7200 s.
        let ts: [Int64] = [0, 60, 120, 7320, 7380].map { Int64($0) * s }
        #expect(TimeMetrics.rowDurations(ts) == [60, 60, 60, 60, 60].map { Int64($0) * s })
        let t = TimeMetrics(timestamps: ts, alerting: [false, false, true, false, false], labels: [false, false, false, true, true])
        #expect(t.falseAlarmTime == 60 * s && t.normalTime == 180 * s)
        #expect(t.falseAlarmRate == 1.0 / 3)
        #expect(t.detectionRate == 0)
        // Ten median steps is still sampling, not a gap.
        #expect(TimeMetrics.rowDurations([0, 60 * s, 660 * s, 720 * s]) == [60 * s, 600 * s, 60 * s, 60 * s])
    }

    @Test func repeatedAndOutOfOrderTimestampsStandForNoTime() {
        // Steps 60, 0, -30, 90 s: positive steps 60 and 90, median 75 s (the last row).
        let ts: [Int64] = [0, 60, 60, 30, 120].map { Int64($0) * s }
        #expect(TimeMetrics.rowDurations(ts) == [60, 0, 0, 90, 75].map { Int64($0) * s })
    }

    @Test func timeWeightedRatesUndefined() {
        // One row (no step), no rows: no time at all.
        let one = TimeMetrics(timestamps: [5 * s], alerting: [true], labels: [true])
        #expect(one.detectionRate == nil && one.falseAlarmRate == nil && one.faultTime == 0)
        #expect(TimeMetrics(timestamps: [], alerting: [], labels: []).detectionRate == nil)
        // Nothing labelled: detection rate undefined, false-alarm rate defined.
        let normal = TimeMetrics(timestamps: [0, 60 * s], alerting: [true, false], labels: [false, false])
        #expect(normal.detectionRate == nil && normal.falseAlarmRate == 0.5)
        // Everything labelled: the converse.
        let faulty = TimeMetrics(timestamps: [0, 60 * s], alerting: [false, false], labels: [true, true])
        #expect(faulty.detectionRate == 0 && faulty.falseAlarmRate == nil)
    }

    @Test func timeWeightedTotalsAddTheTimes() {
        // File a: 1 min of fault, flagged; 3 min normal, 1 flagged. File b: 3 min of fault, none
        // flagged; 1 min normal. Total: 1 of 4 fault minutes, 1 of 4 normal minutes — not the
        // mean of the files' rates (0.5 and 1/6).
        var a = Metrics(), b = Metrics()
        a.time = TimeMetrics(timestamps: (0..<4).map { Int64($0) * 60 * s }, alerting: [true, true, false, false],
                             labels: [true, false, false, false])
        b.time = TimeMetrics(timestamps: (0..<4).map { Int64($0) * 60 * s }, alerting: [false, false, false, false],
                             labels: [true, true, true, false])
        #expect(a.time.detectionRate == 1 && a.time.falseAlarmRate == 1.0 / 3)
        let t = Metrics.total([a, b])
        #expect(t.time.faultTime == 240 * s && t.time.normalTime == 240 * s)
        #expect(t.time.detectionRate == 0.25 && t.time.falseAlarmRate == 0.25)
    }
}
