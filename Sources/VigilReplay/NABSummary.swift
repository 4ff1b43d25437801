// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// NAB's final scores of one detector over the labelled NAB files of a run, for each profile, in
/// one or more columns (`vigil eval`: `tuned` and `deployed`; `vigil eval --nab-score`:
/// `optimised` and, with given thresholds, `given`), as a table for people and as JSON.
///
/// Files that could not be scored (a label timestamp that is no row, a missing or mismatched
/// results file) are left out and listed in `notScored`; the figures are then over the others.
/// Pure text rendering, deterministic.
public struct NABSummary: Sendable {
    /// Which threshold a column applies.
    public enum Threshold: Sendable {
        /// NAB's optimised threshold for the column's own scores.
        case optimised
        /// One threshold for every profile.
        case fixed(Double)
        /// A threshold per profile name; a profile without one is not scored (`-`).
        case perProfile([String: Double])
    }

    /// How one column's figures are made.
    public struct Column: Sendable {
        /// The column's name (`tuned`).
        public var name: String
        /// One array of anomaly scores per scored file, in the order of the series.
        public var scores: [[Double]]
        /// The threshold it is scored at.
        public var threshold: Threshold

        /// A column named `name` scoring `scores` at `threshold`.
        public init(name: String, scores: [[Double]], threshold: Threshold) {
            self.name = name
            self.scores = scores
            self.threshold = threshold
        }
    }

    /// The figures of one profile, one per column (nil when the column has no threshold for it).
    public struct Row: Sendable {
        /// The profile.
        public var profile: NABProfile
        /// One score per column.
        public var scores: [NABScore?]
    }

    /// The detector scored (`vigil`, or the results folder's name).
    public var detector: String
    /// Files scored.
    public var files: Int
    /// Labelled windows in those files.
    public var windows: Int
    /// Column names.
    public var columns: [String]
    /// One row per profile.
    public var rows: [Row]
    /// Files left out, with why.
    public var notScored: [FixtureError]
    /// Lines printed under the table that say what the columns mean.
    public var key: [String]

    /// Scores `columns` over `series` for each profile: the series' labels are prepared once and
    /// each column's scores are sorted once for every profile.
    public init(detector: String, series: [NABSeries], columns: [Column], notScored: [FixtureError] = [],
                profiles: [NABProfile] = NABProfile.all, key: [String] = []) {
        let scorer = NABScorer(series: series)
        // Columns of the same scores (optimised and given) share one sort.
        var rankings: [NABScorer.Ranking] = []
        for (i, c) in columns.enumerated() {
            if let same = columns[..<i].firstIndex(where: { $0.scores == c.scores }) {
                rankings.append(rankings[same])
            } else {
                rankings.append(scorer.rank(c.scores))
            }
        }
        self.detector = detector
        self.files = series.count
        self.windows = scorer.windowCount
        self.columns = columns.map(\.name)
        self.notScored = notScored
        self.key = key
        rows = profiles.map { p in
            Row(profile: p, scores: zip(columns, rankings).map { column, ranking in
                switch column.threshold {
                case .optimised: ranking.optimise(p)
                case .fixed(let t): ranking.score(p, threshold: t)
                case .perProfile(let map): map[p.name].map { ranking.score(p, threshold: $0) }
                }
            })
        }
    }

    /// The score of `profile` in `column`, nil when absent.
    public func score(_ profile: String, _ column: String) -> NABScore? {
        guard let c = columns.firstIndex(of: column), let row = rows.first(where: { $0.profile.name == profile }) else { return nil }
        return row.scores[c]
    }

    // MARK: - Text

    /// A title line, one line per profile (each column's score with two decimals and its
    /// threshold with six), the files not scored, and the key.
    public func table() -> String {
        var out = "NAB score of \(detector): \(files) file\(files == 1 ? "" : "s"), \(windows) labelled window\(windows == 1 ? "" : "s")"
        out += " (0 = no detection, 100 = perfect)\n"
        var lines = [["profile"] + columns.flatMap { [$0, "threshold"] }]
        for r in rows {
            lines.append([r.profile.name] + r.scores.flatMap { s in
                [EvaluationReport.fixed(s?.normalised, 2), EvaluationReport.fixed(s?.threshold, 6)]
            })
        }
        var widths = lines[0].map(\.count)
        for l in lines { for (i, c) in l.enumerated() { widths[i] = max(widths[i], c.count) } }
        for l in lines {
            var s = ""
            for (i, c) in l.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - c.count)
                s += i == 0 ? c + pad : "  " + pad + c
            }
            out += s + "\n"
        }
        for e in notScored { out += "not scored: \(e)\n" }
        for k in key { out += k + "\n" }
        return out
    }

    // MARK: - JSON

    /// `{"detector", "files", "windows", "profiles": {<profile>: {<column>: {"threshold",
    /// "score", "raw", "tp", "fp", "fn", "tn"} | null}}, "not_scored": [{"file", "error"}]}`,
    /// keys in a fixed order; `score` is normalised, null when undefined.
    public func json() -> String {
        var s = "{\"detector\":"
        JSONText.appendString(detector, to: &s)
        s += ",\"files\":\(files),\"windows\":\(windows),\"profiles\":{"
        for (i, r) in rows.enumerated() {
            if i > 0 { s += "," }
            JSONText.appendString(r.profile.name, to: &s)
            s += ":{"
            for (k, column) in columns.enumerated() {
                if k > 0 { s += "," }
                JSONText.appendString(column, to: &s)
                s += ":"
                guard let score = r.scores[k] else { s += "null"; continue }
                s += "{\"threshold\":"
                JSONText.appendNumber(score.threshold, to: &s)
                s += ",\"score\":"
                if let n = score.normalised { JSONText.appendNumber(n, to: &s) } else { s += "null" }
                s += ",\"raw\":"
                JSONText.appendNumber(score.raw, to: &s)
                s += ",\"tp\":\(score.truePositives),\"fp\":\(score.falsePositives),\"fn\":\(score.falseNegatives),\"tn\":\(score.trueNegatives)}"
            }
            s += "}"
        }
        s += "},\"not_scored\":["
        for (i, e) in notScored.enumerated() {
            if i > 0 { s += "," }
            s += "{\"file\":"
            JSONText.appendString(e.file, to: &s)
            s += ",\"error\":"
            JSONText.appendString(e.description, to: &s)
            s += "}"
        }
        return s + "]}"
    }
}

extension NABSummary {
    /// What `vigil eval --nab-score` prints under its tables.
    public static let resultsKey = [
        "optimised: the threshold NAB's optimiser finds for these files (every score value swept over all of them).",
        "given: the threshold from --nab-threshold or --nab-thresholds.",
    ]

    /// Another detector's NAB results for labelled NAB-style fixtures, read and checked.
    public struct Results: Sendable {
        /// The fixtures that can be scored, as NAB sees them.
        public var series: [NABSeries]
        /// Their anomaly scores, one array per series.
        public var scores: [[Double]]
        /// The fixtures left out, with why: no labels, labels that do not match the rows, or a
        /// results file that is missing or does not match.
        public var notScored: [FixtureError]
    }

    /// Reads `detector`'s results (`NABResultsReader`) for `fixtures`.
    public static func results(of detector: NABResultsReader.Detector, fixtures: [Fixture]) -> Results {
        var out = Results(series: [], scores: [], notScored: [])
        for f in fixtures {
            do throws(FixtureError) {
                guard f.format == .nab, f.isLabelled else {
                    throw FixtureError(.badLabelsFile, file: f.path, reason: "no NAB labels for \(f.name)")
                }
                let s = try NABSeries(f)
                guard let path = NABResultsReader.resultsFile(of: f.name, in: detector) else {
                    let expected = NABResultsReader.candidates(of: f.name, in: detector).first ?? detector.path
                    throw FixtureError(.missingFile, file: expected, reason: "no results of \(detector.name) for \(f.name)")
                }
                out.scores.append(try NABResultsReader.anomalyScores(path: path, fixture: f))
                out.series.append(s)
            } catch {
                out.notScored.append(error)
            }
        }
        return out
    }

    /// Scores another detector's results read by `results(of:fixtures:)`: NAB's optimised
    /// threshold per profile, and the given thresholds (profile name → threshold) when there are any.
    public static func scoring(_ detector: String, results: Results, thresholds: [String: Double]? = nil) -> NABSummary {
        var columns = [Column(name: "optimised", scores: results.scores, threshold: .optimised)]
        if let thresholds { columns.append(Column(name: "given", scores: results.scores, threshold: .perProfile(thresholds))) }
        return NABSummary(detector: detector, series: results.series, columns: columns, notScored: results.notScored,
                          key: thresholds == nil ? [resultsKey[0]] : resultsKey)
    }

    /// Reads and scores `detector`'s results on `fixtures` (`results(of:fixtures:)`, then
    /// `scoring(_:results:thresholds:)`).
    public static func scoring(_ detector: NABResultsReader.Detector, fixtures: [Fixture],
                               thresholds: [String: Double]? = nil) -> NABSummary {
        scoring(detector.name, results: results(of: detector, fixtures: fixtures), thresholds: thresholds)
    }
}
