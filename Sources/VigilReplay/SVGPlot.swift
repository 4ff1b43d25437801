// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// One SVG chart per series (`vigil eval --plot DIR`), readable without knowing Vigil:
///
/// - top panel: the sensor's values over time;
/// - bottom panel: each detector's score with its alert threshold as a dashed line of the same
///   colour (scores above the panel's top are clipped; the panel covers the thresholds);
/// - alerts of the sensor as bands from raised to cleared (a strip between the panels, and a
///   faint band over both), one colour per detector;
/// - labelled anomaly windows shaded red over both panels;
/// - time axis with UTC labels, value and score axes, a title and a legend.
///
/// Long series are reduced to a min/max envelope per pixel column, so files stay small;
/// recording gaps (more than 5 × the median sampling interval) break the lines.
/// Elements carry ids (`values`, `scores`, `thresholds`, `alerts`, `windows`, `x-axis`,
/// `legend`) for tools and tests.
public enum SVGPlot {
    static let width = 1200.0, height = 660.0
    static let left = 80.0, right = 24.0
    static let valuesTop = 56.0, valuesBottom = 300.0
    static let alertsTop = 312.0, alertsBottom = 330.0
    static let scoresTop = 342.0, scoresBottom = 560.0
    static let palette: [DetectorKind: String] = [.zscore: "#1f77b4", .spectralResidual: "#2ca02c",
                                                   .isolationForest: "#9467bd", .combined: "#ff7f0e",
                                                   .pca: "#8c564b", .surprise: "#d62728"]

    /// Path of the chart of one series, relative to the plot directory: the fixture's name
    /// without `.csv` plus `.svg`; for a multi-sensor file, a folder named after it with one
    /// chart per column.
    public static func relativePath(_ fixture: Fixture, sensor: Int) -> String {
        var base = fixture.name
        if base.lowercased().hasSuffix(".csv") { base.removeLast(4) }
        return fixture.columns.count > 1 ? base + "/" + fixture.columns[sensor] + ".svg" : base + ".svg"
    }

    /// The SVG document of one sensor of a run.
    public static func render(_ run: FixtureRun, sensor: Int) -> String {
        let f = run.fixture
        let ts = f.timestamps
        let values = f.values[sensor]
        let plotRight = width - right
        let t0 = ts.min() ?? 0, t1 = max(ts.max() ?? 1, t0 + 1)
        func x(_ t: Int64) -> Double { left + (plotRight - left) * Double(t - t0) / Double(t1 - t0) }

        var svg = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(n(width))" height="\(n(height))" viewBox="0 0 \(n(width)) \(n(height))" font-family="sans-serif" font-size="12">
        <title>\(escape(f.sensors[sensor])) — \(escape(f.name))</title>
        <defs><clipPath id="plot-values"><rect x="\(n(left))" y="\(n(valuesTop))" width="\(n(plotRight - left))" height="\(n(valuesBottom - valuesTop))"/></clipPath><clipPath id="plot-scores"><rect x="\(n(left))" y="\(n(scoresTop))" width="\(n(plotRight - left))" height="\(n(scoresBottom - scoresTop))"/></clipPath></defs>
        <rect width="100%" height="100%" fill="white"/>
        <text id="title" x="\(n(left))" y="24" font-size="16" font-weight="bold">\(escape(f.sensors[sensor]))</text>
        <text x="\(n(left))" y="42" fill="#555">\(escape(f.name)) · \(f.rowCount) rows · \(escape(utc(t0))) to \(escape(utc(t1))) UTC</text>

        """

        // Labelled windows.
        svg += "<g id=\"windows\" fill=\"#d62728\" fill-opacity=\"0.15\">\n"
        for w in f.windows where w.end >= t0 && w.start <= t1 {
            let a = x(max(w.start, t0)), b = max(x(min(w.end, t1)), a + 1)
            svg += "<rect class=\"window\" x=\"\(n(a))\" y=\"\(n(valuesTop))\" width=\"\(n(b - a))\" height=\"\(n(scoresBottom - valuesTop))\"><title>labelled anomaly \(escape(utc(w.start))) – \(escape(utc(w.end)))</title></rect>\n"
        }
        svg += "</g>\n"

        // Alerts raised → cleared.
        svg += "<g id=\"alerts\">\n<text x=\"\(n(left - 6))\" y=\"\(n(alertsBottom - 5))\" text-anchor=\"end\" fill=\"#555\">alerts</text>\n"
        var open: [AlarmKey: (Int64, Severity)] = [:]
        var bands: [(DetectorKind, Int64, Int64, Severity, Bool)] = []
        for a in run.alerts where a.sensor == sensor {
            let key = AlarmKey(sensor: sensor, detector: a.event.detector, raisedAt: a.event.raisedAt)
            if a.event.event == .raised { open[key] = (a.event.raisedAt, a.event.severity) } else if let o = open.removeValue(forKey: key) {
                bands.append((a.event.detector, o.0, a.event.timestamp, o.1, true))
            }
        }
        for (key, o) in open.sorted(by: { $0.value.0 < $1.value.0 }) { bands.append((key.detector, o.0, t1, o.1, false)) }
        for (detector, start, end, severity, cleared) in bands {
            let a = x(start), b = max(x(end), a + 1.5)
            let colour = palette[detector] ?? "#ff7f0e"
            let what = "\(detector.rawValue) \(severity.rawValue) alert raised \(utc(start))" + (cleared ? ", cleared \(utc(end))" : ", still raised at the end")
            svg += "<rect class=\"alert\" data-detector=\"\(detector.rawValue)\" x=\"\(n(a))\" y=\"\(n(alertsTop))\" width=\"\(n(b - a))\" height=\"\(n(alertsBottom - alertsTop))\" fill=\"\(colour)\"\(severity == .critical ? "" : " fill-opacity=\"0.6\"")><title>\(escape(what))</title></rect>\n"
            svg += "<rect class=\"alert-span\" x=\"\(n(a))\" y=\"\(n(valuesTop))\" width=\"\(n(b - a))\" height=\"\(n(scoresBottom - valuesTop))\" fill=\"\(colour)\" fill-opacity=\"0.08\"/>\n"
        }
        svg += "</g>\n"

        // Values.
        let finite = values.filter { !$0.isNaN }
        var vMin = finite.min() ?? 0, vMax = finite.max() ?? 1
        if vMax - vMin < 1e-12 { vMin -= 1; vMax += 1 }
        let vPad = (vMax - vMin) * 0.05
        vMin -= vPad; vMax += vPad
        func yValue(_ v: Double) -> Double { valuesBottom - (valuesBottom - valuesTop) * (v - vMin) / (vMax - vMin) }
        let gap = gapThreshold(ts)
        svg += "<path id=\"values\" fill=\"none\" stroke=\"#333\" stroke-width=\"1\" clip-path=\"url(#plot-values)\" d=\"\(path(ts, values, gap: gap, x: x, y: yValue))\"/>\n"
        svg += axis(id: "y-axis-values", low: vMin, high: vMax, top: valuesTop, bottom: valuesBottom, y: yValue, label: f.columns[sensor])

        // Scores and thresholds.
        let columns = run.scoreColumns.filter { $0.sensor == sensor }
        var sMax = columns.compactMap(\.threshold).max().map { $0 * 1.5 } ?? 0
        let allScores = columns.flatMap { $0.values.filter { !$0.isNaN } }.sorted()
        if !allScores.isEmpty { sMax = max(sMax, allScores[min(allScores.count - 1, Int(Double(allScores.count) * 0.995))] * 1.05) }
        if sMax <= 0 { sMax = 1 }
        func yScore(_ v: Double) -> Double { scoresBottom - (scoresBottom - scoresTop) * min(max(v, 0), sMax * 1.02) / sMax }
        svg += "<g id=\"scores\" fill=\"none\" stroke-width=\"1\" clip-path=\"url(#plot-scores)\">\n"
        for c in columns {
            svg += "<path class=\"score\" data-detector=\"\(c.detector.rawValue)\" stroke=\"\(palette[c.detector] ?? "#000")\" d=\"\(path(ts, c.values, gap: gap, x: x, y: yScore))\"/>\n"
        }
        svg += "</g>\n<g id=\"thresholds\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\">\n"
        for c in columns {
            guard let t = c.threshold else { continue }
            svg += "<line class=\"threshold\" data-detector=\"\(c.detector.rawValue)\" x1=\"\(n(left))\" x2=\"\(n(plotRight))\" y1=\"\(n(yScore(t)))\" y2=\"\(n(yScore(t)))\" stroke=\"\(palette[c.detector] ?? "#000")\"><title>\(c.detector.rawValue) alert threshold \(n(t))</title></line>\n"
        }
        svg += "</g>\n"
        svg += axis(id: "y-axis-scores", low: 0, high: sMax, top: scoresTop, bottom: scoresBottom, y: yScore, label: "score")

        // Time axis.
        svg += "<g id=\"x-axis\" fill=\"#333\">\n<line x1=\"\(n(left))\" x2=\"\(n(plotRight))\" y1=\"\(n(scoresBottom))\" y2=\"\(n(scoresBottom))\" stroke=\"#333\"/>\n"
        let span = Double(t1 - t0) / 1e9
        let steps: [Double] = [1, 5, 15, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 2 * 86_400, 7 * 86_400, 14 * 86_400, 28 * 86_400, 91 * 86_400, 365 * 86_400]
        let step = steps.first { span / $0 <= 8 } ?? span / 8
        let stepNs = Int64(step * 1e9)
        var tick = (t0 / stepNs + (t0 % stepNs > 0 ? 1 : 0)) * stepNs
        while tick <= t1 {
            let tx = x(tick)
            let text = utc(tick)
            let label = step >= 86_400 ? String(text.prefix(10)) : String(text.dropFirst(5).prefix(11))
            svg += "<line class=\"tick\" x1=\"\(n(tx))\" x2=\"\(n(tx))\" y1=\"\(n(scoresBottom))\" y2=\"\(n(scoresBottom + 5))\" stroke=\"#333\"/><line x1=\"\(n(tx))\" x2=\"\(n(tx))\" y1=\"\(n(valuesTop))\" y2=\"\(n(scoresBottom))\" stroke=\"#000\" stroke-opacity=\"0.06\"/><text class=\"tick-label\" x=\"\(n(tx))\" y=\"\(n(scoresBottom + 18))\" text-anchor=\"middle\">\(escape(label))</text>\n"
            tick += stepNs
        }
        svg += "<text x=\"\(n((left + plotRight) / 2))\" y=\"\(n(scoresBottom + 36))\" text-anchor=\"middle\" fill=\"#555\">time (UTC)</text>\n</g>\n"

        // Legend.
        var entries: [(String, String)] = [("line:#333", f.columns[sensor])]
        for c in columns {
            entries.append(("line:" + (palette[c.detector] ?? "#000"), "\(c.detector.rawValue) score"))
            if c.threshold != nil { entries.append(("dash:" + (palette[c.detector] ?? "#000"), "\(c.detector.rawValue) threshold")) }
        }
        let alertDetectors = Set(bands.map(\.0))
        for d in DetectorKind.allCases where alertDetectors.contains(d) { entries.append(("box:" + (palette[d] ?? "#000"), "\(d.rawValue) alert")) }
        entries.append(("shade:#d62728", f.columns.count > 1 ? "labelled anomaly (asset)" : "labelled anomaly"))
        svg += "<g id=\"legend\">\n"
        var lx = left
        let ly = height - 34
        for (symbol, label) in entries {
            let parts = symbol.split(separator: ":")
            let kind = parts[0], colour = String(parts[1])
            switch kind {
            case "line": svg += "<line x1=\"\(n(lx))\" x2=\"\(n(lx + 22))\" y1=\"\(n(ly))\" y2=\"\(n(ly))\" stroke=\"\(colour)\" stroke-width=\"2\"/>"
            case "dash": svg += "<line x1=\"\(n(lx))\" x2=\"\(n(lx + 22))\" y1=\"\(n(ly))\" y2=\"\(n(ly))\" stroke=\"\(colour)\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>"
            case "box": svg += "<rect x=\"\(n(lx))\" y=\"\(n(ly - 6))\" width=\"22\" height=\"12\" fill=\"\(colour)\" fill-opacity=\"0.6\"/>"
            default: svg += "<rect x=\"\(n(lx))\" y=\"\(n(ly - 6))\" width=\"22\" height=\"12\" fill=\"\(colour)\" fill-opacity=\"0.15\"/>"
            }
            svg += "<text class=\"legend-entry\" x=\"\(n(lx + 28))\" y=\"\(n(ly + 4))\">\(escape(label))</text>\n"
            lx += 40 + Double(label.count) * 7
        }
        svg += "</g>\n</svg>\n"
        return svg
    }

    /// A vertical axis with about five round ticks.
    static func axis(id: String, low: Double, high: Double, top: Double, bottom: Double, y: (Double) -> Double, label: String) -> String {
        var s = "<g id=\"\(id)\" fill=\"#333\">\n<line x1=\"\(n(left))\" x2=\"\(n(left))\" y1=\"\(n(top))\" y2=\"\(n(bottom))\" stroke=\"#333\"/>\n"
        let raw = (high - low) / 5
        let magnitude = pow10(floorLog10(raw))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var v = (low / step).rounded(.up) * step
        while v <= high + step * 1e-9 {
            let ty = y(v)
            s += "<line x1=\"\(n(left - 5))\" x2=\"\(n(left))\" y1=\"\(n(ty))\" y2=\"\(n(ty))\" stroke=\"#333\"/><line x1=\"\(n(left))\" x2=\"\(n(width - right))\" y1=\"\(n(ty))\" y2=\"\(n(ty))\" stroke=\"#000\" stroke-opacity=\"0.06\"/><text x=\"\(n(left - 8))\" y=\"\(n(ty + 4))\" text-anchor=\"end\">\(escape(tickLabel(v, step: step)))</text>\n"
            v += step
        }
        s += "<text transform=\"translate(16 \(n((top + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\" fill=\"#555\">\(escape(label))</text>\n</g>\n"
        return s
    }

    /// Path data for a series: a min/max envelope per pixel column, broken at gaps and NaNs.
    static func path(_ ts: [Int64], _ v: [Double], gap: Int64, x: (Int64) -> Double, y: (Double) -> Double) -> String {
        var d = ""
        var penDown = false
        var lastT = Int64.min
        var bucket = -1
        var bMin = 0.0, bMax = 0.0, bFirst = 0.0, bLast = 0.0
        var bucketX = 0.0
        func flush() {
            guard bucket >= 0 else { return }
            let cmd = penDown ? "L" : "M"
            d += "\(cmd)\(n(bucketX)) \(n(y(bFirst)))"
            if bMin != bMax {
                d += "L\(n(bucketX)) \(n(y(bMin)))L\(n(bucketX)) \(n(y(bMax)))L\(n(bucketX)) \(n(y(bLast)))"
            }
            penDown = true
            bucket = -1
        }
        for i in ts.indices {
            let value = v[i]
            if value.isNaN { continue }
            if lastT != Int64.min, ts[i] - lastT > gap { flush(); penDown = false }
            lastT = ts[i]
            let px = x(ts[i])
            let b = Int(px.rounded())
            if b != bucket {
                flush()
                bucket = b; bucketX = Double(b); bMin = value; bMax = value; bFirst = value
            }
            bMin = min(bMin, value); bMax = max(bMax, value); bLast = value
        }
        flush()
        return d
    }

    /// Gaps longer than 5 × the median interval break lines.
    static func gapThreshold(_ ts: [Int64]) -> Int64 {
        guard ts.count > 2 else { return .max }
        var steps = zip(ts, ts.dropFirst()).map { $1 - $0 }.filter { $0 > 0 }
        guard !steps.isEmpty else { return .max }
        steps.sort()
        return steps[steps.count / 2] * 5
    }

    static func utc(_ t: Int64) -> String {
        let s = Timestamp.rfc3339(t)
        return String(s.prefix(10)) + " " + String(s.dropFirst(11).prefix(8))
    }

    /// Coordinates with at most one decimal.
    static func n(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        return r == r.rounded() ? String(Int64(r)) : String(r)
    }

    static func tickLabel(_ v: Double, step: Double) -> String {
        let places = step >= 1 ? 0 : min(9, Int(-floorLog10(step)))
        return EvaluationReport.fixed(abs(v) < step * 1e-9 ? 0 : v, places)
    }

    static func floorLog10(_ v: Double) -> Double {
        guard v > 0, v.isFinite else { return 0 }
        var e = 0.0, x = v
        while x >= 10 { x /= 10; e += 1 }
        while x < 1 { x *= 10; e -= 1 }
        return e
    }

    static func pow10(_ e: Double) -> Double {
        var r = 1.0
        if e >= 0 { for _ in 0..<Int(e) { r *= 10 } } else { for _ in 0..<Int(-e) { r /= 10 } }
        return r
    }

    /// XML text escaping.
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
