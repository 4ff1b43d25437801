// SPDX-License-Identifier: GPL-3.0-or-later

/// `objective: nab_standard`, `nab_low_fp`, `nab_low_fn`: NAB's normalised score of the alarms as
/// deployed (each raised alarm one detection at the row that raised it, `NABScorer` at threshold
/// 0.5), over a fold's NAB-labelled files: the files' raw scores are summed and normalised
/// between the null and the perfect detector of those files, as NAB does for its corpus.
/// Files without NAB window labels (wide CSVs, unlabelled or unmatched files) take no part.
///
/// Threading: an immutable value.
public struct NABObjective: TuningObjective {
    /// One file's share of the score: its raw score and its windows.
    public struct Measure: Sendable, Equatable {
        /// NAB's raw score of the file's alarms.
        public var raw: Double
        /// Windows of the file.
        public var windows: Int
        /// Windows with a row past the probationary period.
        public var scoredWindows: Int
        /// Detections inside windows (NAB counts each, though only a window's first scores).
        public var truePositives: Int
        /// Detections outside every window.
        public var falsePositives: Int

        static let none = Measure(raw: 0, windows: 0, scoredWindows: 0, truePositives: 0, falsePositives: 0)
    }

    /// The profile scored.
    public let profile: NABProfile

    /// The objective of `profile`.
    public init(profile: NABProfile) { self.profile = profile }

    /// `nab_standard`, `nab_low_fp` or `nab_low_fn`.
    public var name: String {
        switch profile {
        case .rewardLowFPRate: "nab_low_fp"
        case .rewardLowFNRate: "nab_low_fn"
        default: "nab_standard"
        }
    }

    /// The file's raw score as deployed; nothing for a file without NAB windows.
    public func measure(_ run: FixtureRun) -> Measure {
        guard let nab = EvaluationReport.File(run).nab, case .success(let series) = nab.series else { return .none }
        let scorer = NABScorer(series: [series])
        let s = scorer.score([nab.deployed], profile: profile, threshold: NABResults.alertThreshold)
        return Measure(raw: s.raw, windows: scorer.windowCount, scoredWindows: scorer.scoredWindowCount,
                       truePositives: s.truePositives, falsePositives: s.falsePositives)
    }

    /// 100 · (Σ raw − null) / (perfect − null) over the files; nil without windows.
    public func score(_ files: [Measure]) -> Double? {
        let windows = files.reduce(0) { $0 + $1.windows }
        guard windows > 0 else { return nil }
        let null = -profile.fnWeight * Double(files.reduce(0) { $0 + $1.scoredWindows })
        let perfect = profile.tpWeight * Double(windows)
        guard perfect != null else { return nil }
        return 100 * (files.reduce(0) { $0 + $1.raw } - null) / (perfect - null)
    }

    /// `NAB 61.20 (116 windows, 95 detections in windows, 140 outside)`.
    public func summary(_ files: [Measure]) -> String {
        let windows = files.reduce(0) { $0 + $1.windows }
        let tp = files.reduce(0) { $0 + $1.truePositives }, fp = files.reduce(0) { $0 + $1.falsePositives }
        return "NAB \(EvaluationReport.fixed(score(files), 2)) (\(windows) windows, \(tp) detections in windows, \(fp) outside)"
    }
}
