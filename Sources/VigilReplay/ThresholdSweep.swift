// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore
import VigilDetectors

/// `vigil eval --sweep`: runs the whole evaluation again with every alert threshold scaled by
/// each factor of a grid (see `DetectorSettings.scalingThresholds(by:)`), through the same
/// detector code and alert state machines, and reports the precision/recall trade-off and the
/// factors with the best point-wise and event-wise F1.
public struct ThresholdSweep: Sendable {
    /// One grid point: the factor and the total metrics it gives.
    public struct Point: Sendable {
        /// Multiplier applied to every threshold.
        public var factor: Double
        /// Totals over the labelled files.
        public var total: Metrics
    }

    /// The default grid: 0.5× to 3× the configured thresholds.
    public static let defaultFactors: [Double] = [0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0]

    /// The results, in grid order.
    public var points: [Point]

    /// Sweeps `factors` over `fixtures` with `evaluator`'s settings as the 1× point.
    public init(fixtures: [Fixture], evaluator: Evaluator, factors: [Double] = defaultFactors,
                concurrency: Int = 2, progress: @escaping @Sendable (Int) -> Void = { _ in }) {
        points = factors.map { factor in
            let base = evaluator.settings
            let scaled = Evaluator(settings: { base($0).scalingThresholds(by: factor) })
            let runner = EvaluationRunner(evaluator: scaled, concurrency: concurrency)
            let report = (try? runner.run(fixtures, progress: progress)) ?? EvaluationReport(files: [])
            return Point(factor: factor, total: report.total)
        }
    }

    /// The grid point with the best point-wise F1 (the smaller factor on a tie).
    public var bestPointF1: Point? { best { $0.point.f1 } }
    /// The grid point with the best event-wise F1 (the smaller factor on a tie).
    public var bestEventF1: Point? { best { $0.event.f1 } }

    private func best(_ f1: (Metrics) -> Double?) -> Point? {
        var best: Point? = nil
        for p in points {
            guard let v = f1(p.total) else { continue }
            if best == nil || v > f1(best!.total)! { best = p }
        }
        return best
    }

    /// A table of the grid and the two best points.
    public func table() -> String {
        let headers = ["factor", "pt P", "pt R", "pt F1", "DR", "FAR", "ev P", "ev R", "ev F1", "alarms", "FA/day", "delay med"]
        var lines = [headers]
        for p in points {
            let m = p.total
            lines.append([EvaluationReport.fixed(p.factor, 2) + "x", EvaluationReport.fixed(m.point.precision, 3), EvaluationReport.fixed(m.point.recall, 3),
                          EvaluationReport.fixed(m.point.f1, 3), EvaluationReport.fixed(m.time.detectionRate, 3),
                          EvaluationReport.fixed(m.time.falseAlarmRate, 3), EvaluationReport.fixed(m.event.precision, 3), EvaluationReport.fixed(m.event.recall, 3),
                          EvaluationReport.fixed(m.event.f1, 3), String(m.event.alarms), EvaluationReport.fixed(m.falseAlarmsPerDay, 2),
                          EvaluationReport.duration(m.event.medianDelay)])
        }
        var widths = headers.map(\.count)
        for l in lines { for (i, c) in l.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = "Threshold sweep (every alert threshold × factor):\n"
        for l in lines {
            out += l.enumerated().map { i, c in String(repeating: " ", count: widths[i] - c.count) + c }.joined(separator: "  ") + "\n"
        }
        if let b = bestPointF1 { out += "best point-wise F1 \(EvaluationReport.fixed(b.total.point.f1, 3)) at \(EvaluationReport.fixed(b.factor, 2))x\n" }
        if let b = bestEventF1 { out += "best event-wise F1 \(EvaluationReport.fixed(b.total.event.f1, 3)) at \(EvaluationReport.fixed(b.factor, 2))x\n" }
        return out
    }

    /// The grid as a JSON array of `{"factor": …, <metrics>}`.
    public func json() -> String {
        var s = "["
        for (i, p) in points.enumerated() {
            if i > 0 { s += "," }
            s += "{\"factor\":"
            JSONText.appendNumber(p.factor, to: &s)
            s += ","
            EvaluationReport.appendMetrics(p.total, to: &s)
            s += "}"
        }
        return s + "]"
    }
}

