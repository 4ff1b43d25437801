// SPDX-License-Identifier: GPL-3.0-or-later
import VigilConfig
import VigilCore

/// What `vigil eval --tune` found: per fold the settings tuned on the other folds and their
/// held-out score next to the base configuration's, the final settings tuned on every file,
/// and the config snippet that applies them. As text for people and JSON for machines; pure
/// rendering, deterministic (no clock, no locale).
///
/// Threading: an immutable value.
public struct TuningReport: Sendable {
    /// One cross-validation fold.
    public struct Fold: Sendable {
        /// Its files (indices into `files`).
        public var files: [Int]
        /// The best settings of the search on the other folds.
        public var chosen: TuningCandidate
        /// Their score there: the mean over the other folds.
        public var trainingScore: Double
        /// Their score on this fold, which the search never evaluated.
        public var heldOutScore: Double?
        /// The base configuration's score on this fold.
        public var baseScore: Double?
        /// The figures behind `heldOutScore`.
        public var heldOutSummary: String
        /// The figures behind `baseScore`.
        public var baseSummary: String
        /// Every evaluation of the search, in order (objective negated: lower is better).
        public var trials: [BayesianOptimizer.Trial]
    }

    /// One evaluation of a set of settings on some files: what the tuning looked at, in order.
    public struct Evaluation: Sendable, Equatable {
        /// Why the settings were evaluated.
        public enum Purpose: String, Sendable, Equatable {
            /// The base configuration on every file.
            case baseline
            /// A search's candidate on its training folds.
            case search
            /// A fold's chosen settings on that fold.
            case heldOut = "held_out"
            /// The final settings on every file.
            case final
        }
        /// The search: a fold's index, `folds.count` for the final search; nil for the baseline.
        public var search: Int?
        /// Why.
        public var purpose: Purpose
        /// The files (indices into `files`).
        public var files: [Int]
    }

    /// The space searched.
    public var space: TuningSpace
    /// The seed.
    public var seed: UInt64
    /// The labelled files tuned on, in input order.
    public var files: [String]
    /// The folds.
    public var folds: [Fold]
    /// The settings tuned on every file.
    public var final: TuningCandidate
    /// Their score: the mean over all folds (in-sample).
    public var finalScore: Double
    /// The figures behind `finalScore`, over all files.
    public var finalSummary: String
    /// The base configuration's mean score over the folds.
    public var baseScore: Double?
    /// The figures behind `baseScore`, over all files.
    public var baseSummary: String
    /// Every evaluation of the final search.
    public var finalTrials: [BayesianOptimizer.Trial]
    /// Every evaluation, in order.
    public var evaluations: [Evaluation]
    /// Files run through the detectors (evaluations of settings already run on a file reuse it).
    public var fileRuns: Int
    /// Things the engineer should know (files left out, parameters that cannot matter).
    public var notes: [String]

    /// The mean held-out score over the folds that have one.
    public var heldOutScore: Double? { Metrics.mean(folds.compactMap(\.heldOutScore)) }
    /// The base configuration's mean score over the same folds.
    public var baseHeldOutScore: Double? {
        Metrics.mean(folds.compactMap { $0.heldOutScore == nil ? nil : $0.baseScore })
    }
    /// Candidates evaluated by the searches.
    public var searchEvaluations: Int { evaluations.filter { $0.purpose == .search }.count }

    private var objective: String { space.objective.rawValue }

    // MARK: - Text

    /// The snippet of the final settings, with a header saying what they scored.
    public func snippet() -> String {
        final.snippet(header: [
            "vigil eval --tune \(space.file): \(objective) \(Self.score(heldOutScore)) held out "
                + "(base \(Self.score(baseHeldOutScore))), seed \(seed)",
            "Paste under detectors: (replacing the keys it lists); keys without a comment are the base configuration's.",
        ])
    }

    /// The report for people: space, folds, scores, notes and the snippet.
    public func text() -> String {
        var out = "Tuning \(space.parameters.count) parameter\(space.parameters.count == 1 ? "" : "s") of \(space.file) "
            + "for \(objective) on \(files.count) file\(files.count == 1 ? "" : "s") in \(folds.count) folds "
            + "(budget \(space.budget) per search, seed \(seed))\n"
        for p in space.parameters { out += "  \(p.keyPath): \(Self.describe(p.domain))\n" }

        out += "\nCross-validation: each fold's settings are tuned on the other folds and scored on it.\n"
        var rows = [["fold", "files", "base", "tuned", "training", "held-out figures"]]
        for (i, f) in folds.enumerated() {
            rows.append(["\(i + 1)", "\(f.files.count)", Self.score(f.baseScore), Self.score(f.heldOutScore),
                         Self.score(f.trainingScore), f.heldOutSummary])
        }
        rows.append(["mean", "\(files.count)", Self.score(baseHeldOutScore), Self.score(heldOutScore), "", ""])
        out += Self.table(rows)
        for (i, f) in folds.enumerated() {
            out += "fold \(i + 1): \(f.files.map { files[$0] }.joined(separator: ", "))\n"
            out += "  chose " + f.chosen.settings.map { "\($0.keyPath.dropFirst("detectors.".count)) \($0.value)" }
                .joined(separator: ", ") + "\n"
        }
        out += "\nHeld-out \(objective): \(Self.score(heldOutScore)) (base configuration \(Self.score(baseHeldOutScore)) on the same folds)\n"
        out += "Final settings, tuned on all \(files.count) files: \(objective) \(Self.score(finalScore)) on them "
            + "(in-sample; base \(Self.score(baseScore)))\n"
        out += "  tuned: \(finalSummary)\n  base:  \(baseSummary)\n"
        out += "Evaluations: \(searchEvaluations) (\(folds.count + 1) searches of up to \(space.budget): "
            + "\(folds.count) folds and the final one), \(fileRuns) file runs\n"
        for n in notes { out += "note: \(n)\n" }
        return out + "\n" + snippet()
    }

    /// `0.512`, `-` for nil.
    static func score(_ v: Double?) -> String { EvaluationReport.fixed(v, 3) }

    static func describe(_ domain: TuningParameter.Domain) -> String {
        switch domain {
        case .values(let v): return v.joined(separator: " | ")
        case .range(let lower, let upper, let scale, let integer):
            var s = "\(Self.number(lower)) … \(Self.number(upper))"
            if scale != .linear { s += ", \(scale.rawValue) scale" }
            if integer { s += ", whole numbers" }
            return s
        }
    }

    static func number(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }

    static func table(_ rows: [[String]]) -> String {
        var widths = [Int](repeating: 0, count: rows[0].count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = ""
        for r in rows {
            var line = ""
            for (i, c) in r.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - c.count)
                // Text columns (the first and the last) left-aligned, numbers right-aligned.
                line += i == 0 ? c + pad : i == r.count - 1 ? "  " + c : "  " + pad + c
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }

    // MARK: - JSON

    /// One JSON object with the same content, keys in a fixed order, undefined scores `null`.
    public func json() -> String {
        func num(_ v: Double?) -> String {
            guard let v, v.isFinite else { return "null" }
            var t = ""
            JSONText.appendNumber(v, to: &t)
            return t
        }
        func str(_ v: String) -> String {
            var t = ""
            JSONText.appendString(v, to: &t)
            return t
        }
        func settings(_ s: [TuningCandidate.Setting]) -> String {
            "{" + s.map { str($0.keyPath) + ":" + str($0.value) }.joined(separator: ",") + "}"
        }
        var s = "{\"space\":\(str(space.file)),\"objective\":\(str(objective)),\"seed\":\(seed),\"budget\":\(space.budget),"
        s += "\"files\":[" + files.map(str).joined(separator: ",") + "],\"folds\":["
        s += folds.map { f in
            "{\"files\":[" + f.files.map { str(files[$0]) }.joined(separator: ",") + "],\"chosen\":\(settings(f.chosen.settings)),"
                + "\"training\":\(num(f.trainingScore)),\"held_out\":\(num(f.heldOutScore)),\"base\":\(num(f.baseScore))}"
        }.joined(separator: ",")
        s += "],\"held_out\":\(num(heldOutScore)),\"base_held_out\":\(num(baseHeldOutScore)),"
        s += "\"final\":{\"settings\":\(settings(final.settings)),\"adjusted\":\(settings(final.adjusted)),"
        s += "\"score\":\(num(finalScore)),\"base\":\(num(baseScore))},"
        s += "\"evaluations\":\(searchEvaluations),\"file_runs\":\(fileRuns),"
        s += "\"notes\":[" + notes.map(str).joined(separator: ",") + "],\"snippet\":\(str(snippet()))}\n"
        return s
    }
}
