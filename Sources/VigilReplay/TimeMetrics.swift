// SPDX-License-Identifier: GPL-3.0-or-later

/// Point-wise rates weighted by time, as process engineers judge a monitor: the **detection
/// rate** is the share of fault time (labelled anomalous) during which an alert of the asset is
/// raised, the **false-alarm rate** the share of normal time during which one is raised.
///
/// A row stands for the time from its timestamp to the next row's: the alert state after a row
/// (`FixtureRun.alerting`) and the row's label hold until the next row arrives. So irregular
/// sampling counts each stretch of time once, whatever the number of rows in it. Two cases do not
/// follow that rule:
/// - a step longer than `maxStepFactor` median sampling steps of the file is a recording gap
///   (nothing is known about it): the row before it stands for one median step;
/// - the last row stands for one median step; a row whose successor has the same or an earlier
///   timestamp stands for no time.
/// The median is over the file's positive steps; a file without one (a single row, or all rows on
/// one timestamp) has no time and its rates are undefined.
///
/// Times are summed exactly in nanoseconds; totals over files add them up (micro-averaging).
/// Undefined rates (no fault time, no normal time) are nil, never a made-up 0 or 1.
public struct TimeMetrics: Sendable, Equatable {
    /// A step longer than this many median steps is a recording gap.
    public static let maxStepFactor: Int64 = 10

    /// Labelled-anomalous time, nanoseconds.
    public var faultTime: Int64 = 0
    /// Labelled-anomalous time during which an alert was raised, nanoseconds.
    public var detectedTime: Int64 = 0
    /// Normal (not labelled) time, nanoseconds.
    public var normalTime: Int64 = 0
    /// Normal time during which an alert was raised, nanoseconds.
    public var falseAlarmTime: Int64 = 0

    /// No time.
    public init() {}

    /// The times of rows at `timestamps` (nanoseconds, file order) with the alert state after
    /// each row (`alerting`) against `labels`; all three the same length.
    public init(timestamps: [Int64], alerting: [Bool], labels: [Bool]) {
        precondition(timestamps.count == alerting.count && alerting.count == labels.count)
        let weights = Self.rowDurations(timestamps)
        for row in timestamps.indices {
            let w = weights[row]
            switch (labels[row], alerting[row]) {
            case (true, true): faultTime += w; detectedTime += w
            case (true, false): faultTime += w
            case (false, true): normalTime += w; falseAlarmTime += w
            case (false, false): normalTime += w
            }
        }
    }

    /// The time each row stands for, nanoseconds (see the type's comment).
    public static func rowDurations(_ timestamps: [Int64]) -> [Int64] {
        let steps = zip(timestamps, timestamps.dropFirst()).map { $1 - $0 }
        let positive = steps.filter { $0 > 0 }.sorted()
        guard !positive.isEmpty else { return [Int64](repeating: 0, count: timestamps.count) }
        let m = positive.count / 2
        let median = positive.count % 2 == 1 ? positive[m] : (positive[m - 1] + positive[m]) / 2
        var out = steps.map { step -> Int64 in
            if step <= 0 { return 0 }
            return step > maxStepFactor * median ? median : step
        }
        out.append(median)
        return out
    }

    /// Detected / fault time; nil when no time is labelled.
    public var detectionRate: Double? { Self.ratio(detectedTime, faultTime) }
    /// False-alarm / normal time; nil when no time is normal.
    public var falseAlarmRate: Double? { Self.ratio(falseAlarmTime, normalTime) }

    /// Sums of the times (micro-averaging over files).
    public static func + (a: TimeMetrics, b: TimeMetrics) -> TimeMetrics {
        var s = a
        s.faultTime += b.faultTime
        s.detectedTime += b.detectedTime
        s.normalTime += b.normalTime
        s.falseAlarmTime += b.falseAlarmTime
        return s
    }

    private static func ratio(_ numerator: Int64, _ denominator: Int64) -> Double? {
        denominator == 0 ? nil : Double(numerator) / Double(denominator)
    }
}
