// SPDX-License-Identifier: GPL-3.0-or-later

/// Point-wise confusion counts over rows: a row is predicted anomalous while an alert of its
/// asset is raised, and is truly anomalous when it is labelled so. Every row counts once,
/// whatever time it stands for; the time-weighted detection and false-alarm rates are
/// `TimeMetrics`.
///
/// Undefined ratios are nil (precision with no predicted row, recall with no labelled row),
/// never a made-up 0 or 1.
public struct PointMetrics: Sendable, Equatable {
    public var truePositives = 0
    public var falsePositives = 0
    public var falseNegatives = 0
    public var trueNegatives = 0

    /// Zero counts.
    public init() {}

    /// Counts over `predicted` against `labels` (same length).
    public init(predicted: [Bool], labels: [Bool]) {
        precondition(predicted.count == labels.count)
        for (p, l) in zip(predicted, labels) {
            switch (p, l) {
            case (true, true): truePositives += 1
            case (true, false): falsePositives += 1
            case (false, true): falseNegatives += 1
            case (false, false): trueNegatives += 1
            }
        }
    }

    /// TP / (TP + FP); nil when nothing was predicted.
    public var precision: Double? { Metrics.ratio(truePositives, truePositives + falsePositives) }
    /// TP / (TP + FN); nil when nothing is labelled.
    public var recall: Double? { Metrics.ratio(truePositives, truePositives + falseNegatives) }
    /// 2TP / (2TP + FP + FN), the harmonic mean of precision and recall; nil when there is
    /// neither a prediction nor a label.
    public var f1: Double? { Metrics.ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives) }

    /// Sums of the counts (micro-averaging over files).
    public static func + (a: PointMetrics, b: PointMetrics) -> PointMetrics {
        var s = a
        s.truePositives += b.truePositives
        s.falsePositives += b.falsePositives
        s.falseNegatives += b.falseNegatives
        s.trueNegatives += b.trueNegatives
        return s
    }
}

/// Event-wise results: a labelled window is found when an alarm is raised inside it (both
/// ends inclusive); an alarm raised outside every window is a false alarm.
///
/// An alarm is one raised alert (an escalation of a raised alert to critical is the same
/// alarm). An alert already raised before a window starts does not find it.
public struct EventMetrics: Sendable, Equatable {
    /// Labelled windows.
    public var windows = 0
    /// Windows with at least one alarm raised inside.
    public var found = 0
    /// Alarms raised.
    public var alarms = 0
    /// Alarms raised inside some window.
    public var trueAlarms = 0
    /// For each found window, seconds from its start to the first alarm raised inside it.
    public var delays: [Double] = []

    /// Zero counts.
    public init() {}

    /// Matches alarm times (ns) against windows.
    public init(windows: [LabelWindow], alarms: [Int64]) {
        self.windows = windows.count
        self.alarms = alarms.count
        let sorted = alarms.sorted()
        for w in windows {
            // First alarm at or after the window's start.
            var lo = 0, hi = sorted.count
            while lo < hi { let mid = (lo + hi) / 2; if sorted[mid] < w.start { lo = mid + 1 } else { hi = mid } }
            if lo < sorted.count, sorted[lo] <= w.end {
                found += 1
                delays.append(Double(sorted[lo] - w.start) / 1e9)
            }
        }
        trueAlarms = alarms.reduce(0) { n, a in windows.contains { $0.contains(a) } ? n + 1 : n }
    }

    /// Alarms raised outside every window.
    public var falseAlarms: Int { alarms - trueAlarms }
    /// Alarms inside windows / alarms; nil when nothing was raised.
    public var precision: Double? { Metrics.ratio(trueAlarms, alarms) }
    /// Windows found / windows; nil when there are no windows.
    public var recall: Double? { Metrics.ratio(found, windows) }
    /// Harmonic mean of precision and recall; 0 when both are 0; nil when either is undefined.
    public var f1: Double? {
        guard let p = precision, let r = recall else { return nil }
        return p + r == 0 ? 0 : 2 * p * r / (p + r)
    }
    /// Mean detection delay in seconds over found windows.
    public var meanDelay: Double? { delays.isEmpty ? nil : delays.reduce(0, +) / Double(delays.count) }
    /// Median detection delay in seconds over found windows (mean of the middle two when even).
    public var medianDelay: Double? { Metrics.median(delays) }

    /// Sums (micro-averaging over files); delays are pooled.
    public static func + (a: EventMetrics, b: EventMetrics) -> EventMetrics {
        var s = a
        s.windows += b.windows
        s.found += b.found
        s.alarms += b.alarms
        s.trueAlarms += b.trueAlarms
        s.delays += b.delays
        return s
    }
}

/// Everything measured for one file (or in total).
///
/// Point-wise figures come in two weightings, kept apart on purpose: `point` counts rows
/// (precision, recall and F1 of rows, as NAB-style tools report them) and `time` weighs each row
/// by the time it stands for (the detection rate, the share of fault time flagged, and the
/// false-alarm rate, the share of normal time flagged, as process engineers judge a monitor; see
/// `TimeMetrics` for how gaps and irregular sampling count). On regularly sampled files without
/// gaps the two agree (`time.detectionRate` = `point.recall`).
public struct Metrics: Sendable, Equatable {
    /// Point-wise counts, by rows.
    public var point = PointMetrics()
    /// Point-wise detection and false-alarm time, by the time each row stands for.
    public var time = TimeMetrics()
    /// Event-wise counts.
    public var event = EventMetrics()
    /// Area under the ROC curve of the row scores; for a total, the mean over files where defined.
    public var rocAUC: Double?
    /// Area under the precision-recall curve (average precision) of the row scores; for a total,
    /// the mean over files where defined.
    public var prAUC: Double?
    /// Time covered, in days (last timestamp − first; summed for a total).
    public var days = 0.0
    /// Whether there was ground truth; when false only `event.alarms` and `days` mean anything.
    public var isLabelled = true

    /// Empty metrics.
    public init() {}

    /// False alarms per day of recording; nil when the recording spans no time.
    public var falseAlarmsPerDay: Double? { days > 0 ? Double(event.falseAlarms) / days : nil }

    /// Totals over files: counts and times summed (micro), AUCs averaged over the files that have
    /// them (macro: scores of different files are not on one scale), days summed.
    public static func total(_ files: [Metrics]) -> Metrics {
        var t = Metrics()
        for m in files {
            t.point = t.point + m.point
            t.time = t.time + m.time
            t.event = t.event + m.event
            t.days += m.days
        }
        t.rocAUC = mean(files.compactMap(\.rocAUC))
        t.prAUC = mean(files.compactMap(\.prAUC))
        return t
    }

    // MARK: - Definitions

    /// `numerator / denominator`, nil when the denominator is 0.
    public static func ratio(_ numerator: Int, _ denominator: Int) -> Double? {
        denominator == 0 ? nil : Double(numerator) / Double(denominator)
    }

    /// Arithmetic mean; nil for no values.
    public static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    /// Median; the mean of the middle two for an even count; nil for no values.
    public static func median(_ values: [Double]) -> Double? {
        if values.isEmpty { return nil }
        let s = values.sorted()
        let m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }

    /// ROC AUC: the probability that a random anomalous row scores above a random normal row,
    /// ties counting one half (Mann–Whitney U with average ranks). NaN scores (no score yet)
    /// rank below every score, tied with each other. Nil without both classes.
    public static func rocAUC(scores: [Double], labels: [Bool]) -> Double? {
        precondition(scores.count == labels.count)
        let positives = labels.reduce(0) { $1 ? $0 + 1 : $0 }
        let negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        let order = sortedIndices(scores, descending: false)
        var rankSum = 0.0
        var i = 0
        while i < order.count {
            var j = i
            let s = key(scores[order[i]])
            while j + 1 < order.count, key(scores[order[j + 1]]) == s { j += 1 }
            let averageRank = Double(i + j + 2) / 2  // ranks are 1-based
            for k in i...j where labels[order[k]] { rankSum += averageRank }
            i = j + 1
        }
        let p = Double(positives)
        return (rankSum - p * (p + 1) / 2) / (p * Double(negatives))
    }

    /// PR AUC as average precision: Σ (Rₖ − Rₖ₋₁) · Pₖ over the distinct score thresholds from
    /// the highest down, tied rows entering together (as scikit-learn's `average_precision_score`).
    /// NaN scores rank lowest. Nil when no row is labelled anomalous.
    public static func averagePrecision(scores: [Double], labels: [Bool]) -> Double? {
        precondition(scores.count == labels.count)
        let positives = labels.reduce(0) { $1 ? $0 + 1 : $0 }
        guard positives > 0 else { return nil }
        let order = sortedIndices(scores, descending: true)
        var tp = 0, fp = 0
        var ap = 0.0, lastRecall = 0.0
        var i = 0
        while i < order.count {
            let s = key(scores[order[i]])
            while i < order.count, key(scores[order[i]]) == s {
                if labels[order[i]] { tp += 1 } else { fp += 1 }
                i += 1
            }
            let recall = Double(tp) / Double(positives)
            ap += (recall - lastRecall) * Double(tp) / Double(tp + fp)
            lastRecall = recall
        }
        return ap
    }

    @inline(__always)
    private static func key(_ s: Double) -> Double { s.isNaN ? -.infinity : s }

    private static func sortedIndices(_ scores: [Double], descending: Bool) -> [Int] {
        let keys = scores.map(key)
        return keys.indices.sorted { a, b in
            keys[a] != keys[b] ? (descending ? keys[a] > keys[b] : keys[a] < keys[b]) : a < b
        }
    }
}
