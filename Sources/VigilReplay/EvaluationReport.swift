// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// The results of `vigil eval`: one entry per file and the total, as a table for people and as
/// JSON for machines. Pure text rendering, deterministic (no clock, no locale).
public struct EvaluationReport: Sendable {
    /// One file's figures.
    public struct File: Sendable {
        /// Relative name of the fixture.
        public var name: String
        /// Sensors in the file.
        public var sensors: Int
        /// Rows read.
        public var rows: Int
        /// Samples fed to the detectors.
        public var samples: Int
        /// Cells skipped because they were NaN or infinite.
        public var nonFiniteCells: Int
        /// Whether the file had ground truth.
        public var isLabelled: Bool
        /// The metrics.
        public var metrics: Metrics
        /// What NAB's scorer needs of a NAB-style file with window labels; nil for other files.
        public var nab: NAB?

        /// A NAB-labelled file's ground truth in rows and its two score series.
        public struct NAB: Sendable {
            /// The windows matched to the file's rows, or why they could not be.
            public var series: Result<NABSeries, FixtureError>
            /// Per row, the `anomaly_score` `--nab-results` writes (`NABResults.series`).
            public var anomalyScores: [Double]
            /// Per row, 1 where an alarm was raised, else 0.
            public var deployed: [Double]

            /// The NAB part of a file entry.
            public init(series: Result<NABSeries, FixtureError>, anomalyScores: [Double], deployed: [Double]) {
                self.series = series
                self.anomalyScores = anomalyScores
                self.deployed = deployed
            }
        }

        /// A file entry.
        public init(name: String, sensors: Int, rows: Int, samples: Int, nonFiniteCells: Int, isLabelled: Bool, metrics: Metrics,
                    nab: NAB? = nil) {
            self.name = name
            self.sensors = sensors
            self.rows = rows
            self.samples = samples
            self.nonFiniteCells = nonFiniteCells
            self.isLabelled = isLabelled
            self.metrics = metrics
            self.nab = nab
        }

        /// The entry of a run; a NAB-style file with window labels also gets its `nab` part.
        public init(_ run: FixtureRun) {
            let f = run.fixture
            var nab: NAB? = nil
            if f.format == .nab, f.isLabelled, f.columns.count == 1 {
                let (anomaly, deployed) = NABResults.series(run, sensor: 0)
                nab = NAB(series: Result { () throws(FixtureError) in try NABSeries(f) }, anomalyScores: anomaly, deployed: deployed)
            }
            self.init(name: f.name, sensors: f.columns.count, rows: f.rowCount, samples: f.sampleCount,
                      nonFiniteCells: f.nonFiniteCells, isLabelled: f.isLabelled, metrics: run.metrics(), nab: nab)
        }
    }

    /// Per file, in input order.
    public var files: [File]

    /// A report over `files`.
    public init(files: [File]) { self.files = files }

    /// Totals over the labelled files: counts summed, AUCs averaged over files (see
    /// `Metrics.total`). Unlabelled files are listed but not part of the total.
    public var total: Metrics { Metrics.total(files.filter(\.isLabelled).map(\.metrics)) }

    /// What `vigil eval` prints under the NAB table.
    public static let nabKey = [
        "tuned: the threshold NAB's optimiser finds for these files, applied to the anomaly score --nab-results writes.",
        "deployed: each alarm raised is one detection, at the row that raised it (threshold 0.5).",
    ]

    /// NAB's scores of Vigil over the NAB-style files with window labels (`--labels`), for the
    /// three profiles: `tuned` (NAB's optimised threshold on the `--nab-results` anomaly score)
    /// and `deployed` (the raised alarms as detections). Nil when no file has NAB labels. Files
    /// whose labels do not match their rows are listed as not scored.
    public func nabSummary() -> NABSummary? {
        let entries = files.compactMap(\.nab)
        guard !entries.isEmpty else { return nil }
        var series: [NABSeries] = [], anomaly: [[Double]] = [], deployed: [[Double]] = [], notScored: [FixtureError] = []
        for e in entries {
            switch e.series {
            case .success(let s):
                series.append(s)
                anomaly.append(e.anomalyScores)
                deployed.append(e.deployed)
            case .failure(let error):
                notScored.append(error)
            }
        }
        return NABSummary(detector: NABResults.detectorName, series: series,
                          columns: [.init(name: "tuned", scores: anomaly, threshold: .optimised),
                                    .init(name: "deployed", scores: deployed, threshold: .fixed(NABResults.alertThreshold))],
                          notScored: notScored, key: Self.nabKey)
    }

    // MARK: - Table

    /// A fixed-width table: one line per file then the total, with a key to the columns.
    /// Undefined figures print as `-`. `DR` and `FAR` are `Metrics.time`'s detection and
    /// false-alarm rates (time-weighted); `pt` figures count rows.
    public func table() -> String {
        let headers = ["file", "samples", "windows", "found", "alarms", "false", "FA/day",
                       "pt P", "pt R", "pt F1", "DR", "FAR", "ROC AUC", "PR AUC", "ev P", "ev R", "ev F1", "delay mean", "delay med"]
        func row(_ name: String, samples: Int, _ m: Metrics, labelled: Bool) -> [String] {
            let l = labelled
            return [name, String(samples), l ? String(m.event.windows) : "-", l ? String(m.event.found) : "-",
                    String(m.event.alarms), l ? String(m.event.falseAlarms) : "-", l ? Self.fixed(m.falseAlarmsPerDay, 2) : "-",
                    Self.fixed(m.point.precision, 3), Self.fixed(m.point.recall, 3), Self.fixed(m.point.f1, 3),
                    Self.fixed(m.time.detectionRate, 3), Self.fixed(m.time.falseAlarmRate, 3),
                    Self.fixed(m.rocAUC, 3), Self.fixed(m.prAUC, 3),
                    l ? Self.fixed(m.event.precision, 3) : "-", Self.fixed(m.event.recall, 3), Self.fixed(m.event.f1, 3),
                    Self.duration(m.event.meanDelay), Self.duration(m.event.medianDelay)]
        }
        var lines = [headers]
        for f in files { lines.append(row(f.name, samples: f.samples, f.metrics, labelled: f.isLabelled)) }
        let labelled = files.filter(\.isLabelled)
        let totalRow = row("total (\(labelled.count) labelled file\(labelled.count == 1 ? "" : "s"))",
                           samples: labelled.reduce(0) { $0 + $1.samples }, total, labelled: !labelled.isEmpty)
        var widths = headers.map(\.count)
        for l in lines + [totalRow] { for (i, c) in l.enumerated() { widths[i] = max(widths[i], c.count) } }
        func render(_ cells: [String]) -> String {
            var s = ""
            for (i, c) in cells.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - c.count)
                s += i == 0 ? c + pad : "  " + pad + c
            }
            return s
        }
        var out = ""
        for l in lines { out += render(l) + "\n" }
        out += String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1)) + "\n"
        out += render(totalRow) + "\n"
        out += """

        pt = point-wise: a row is predicted anomalous while an alert of its asset is raised.
        DR, FAR = detection rate, false-alarm rate: the share of labelled time and of normal time
             during which an alert of the asset is raised (a row stands for the time to the next).
        ev = event-wise: a labelled window is found when an alert is raised inside it; alarms raised
             outside every window are false.
        ROC/PR AUC: of the per-row score (the total is the mean over files).
        delay: from a window's start to the first alert raised inside it.
        The total sums the counts of the labelled files; - = undefined or unlabelled.

        """
        return out
    }

    /// `v` with `places` decimals, `-` for nil.
    static func fixed(_ v: Double?, _ places: Int) -> String {
        guard let v, v.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let n = Int64((abs(v) * scale).rounded())
        let unit = Int64(scale)
        let sign = v < 0 && n != 0 ? "-" : ""
        if places == 0 { return sign + String(n) }
        let frac = String(n % unit)
        return sign + String(n / unit) + "." + String(repeating: "0", count: places - frac.count) + frac
    }

    /// A duration in seconds for people: `45s`, `12m30s`, `3h05m`, `2d04h`; `-` for nil.
    static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "-" }
        let s = Int64(seconds.rounded())
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(two(s % 60))s" }
        if s < 86_400 { return "\(s / 3600)h\(two(s / 60 % 60))m" }
        return "\(s / 86_400)d\(two(s / 3600 % 24))h"
    }

    // MARK: - JSON

    /// One JSON object: `{"files": [...], "total": {...}}`, keys in a fixed order, undefined
    /// figures as `null`, delays and times in seconds (`"time"`: fault, detected, normal and
    /// false-alarm seconds, `detection_rate`, `false_alarm_rate`). `extra` members (already JSON) are appended, e.g.
    /// `("sweep", sweep.json())`.
    public func json(extra: [(key: String, json: String)] = []) -> String {
        var s = "{\"files\":["
        for (i, f) in files.enumerated() {
            if i > 0 { s += "," }
            s += "{\"file\":"
            JSONText.appendString(f.name, to: &s)
            s += ",\"sensors\":\(f.sensors),\"rows\":\(f.rows),\"samples\":\(f.samples),\"non_finite_cells\":\(f.nonFiniteCells),"
            Self.appendMetrics(f.metrics, to: &s)
            s += "}"
        }
        let labelled = files.filter(\.isLabelled)
        s += "],\"total\":{\"files\":\(labelled.count),\"samples\":\(labelled.reduce(0) { $0 + $1.samples }),"
        Self.appendMetrics(total, to: &s)
        s += "}"
        for (key, json) in extra {
            s += ","
            JSONText.appendString(key, to: &s)
            s += ":" + json
        }
        s += "}\n"
        return s
    }

    static func appendMetrics(_ m: Metrics, to s: inout String) {
        func num(_ v: Double?) -> String {
            guard let v else { return "null" }
            var t = ""
            JSONText.appendNumber(v, to: &t)
            return t
        }
        let p = m.point, e = m.event
        let l = m.isLabelled
        s += "\"labelled\":\(l),\"point\":{\"tp\":\(p.truePositives),\"fp\":\(p.falsePositives),\"fn\":\(p.falseNegatives),\"tn\":\(p.trueNegatives),"
        s += "\"precision\":\(num(p.precision)),\"recall\":\(num(p.recall)),\"f1\":\(num(p.f1))},"
        let t = m.time
        s += "\"time\":{\"fault_s\":\(num(Double(t.faultTime) / 1e9)),\"detected_s\":\(num(Double(t.detectedTime) / 1e9)),"
        s += "\"normal_s\":\(num(Double(t.normalTime) / 1e9)),\"false_alarm_s\":\(num(Double(t.falseAlarmTime) / 1e9)),"
        s += "\"detection_rate\":\(num(t.detectionRate)),\"false_alarm_rate\":\(num(t.falseAlarmRate))},"
        s += "\"roc_auc\":\(num(m.rocAUC)),\"pr_auc\":\(num(m.prAUC)),"
        s += "\"event\":{\"windows\":\(e.windows),\"found\":\(e.found),\"alarms\":\(e.alarms),\"false_alarms\":\(l ? String(e.falseAlarms) : "null"),"
        s += "\"precision\":\(num(l ? e.precision : nil)),\"recall\":\(num(e.recall)),\"f1\":\(num(e.f1)),"
        s += "\"mean_delay_s\":\(num(e.meanDelay)),\"median_delay_s\":\(num(e.medianDelay))},"
        s += "\"days\":\(num(m.days)),\"false_alarms_per_day\":\(num(l ? m.falseAlarmsPerDay : nil))"
    }
}
