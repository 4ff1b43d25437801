// SPDX-License-Identifier: GPL-3.0-or-later

/// A NAB application profile: the weights NAB's scorer gives a detection inside a labelled
/// window (true positive), a detection outside every window (false positive) and a window
/// without any detection (false negative). The three profiles NAB ships (its
/// `config/profiles.json`) are `standard`, `rewardLowFPRate` and `rewardLowFNRate`.
///
/// Threading: a value.
public struct NABProfile: Sendable, Hashable {
    /// NAB's name for the profile (`standard`, `reward_low_FP_rate`, `reward_low_FN_rate`).
    public var name: String
    /// Reward for the earliest detection in a window, when it is at the window's first row.
    public var tpWeight: Double
    /// Cost of a detection outside every window, when it is far from the preceding window.
    public var fpWeight: Double
    /// Cost of a window without any detection.
    public var fnWeight: Double

    /// A profile with the given weights (all ≥ 0).
    public init(name: String, tpWeight: Double, fpWeight: Double, fnWeight: Double) {
        precondition(tpWeight >= 0 && fpWeight >= 0 && fnWeight >= 0, "NAB weights are not negative")
        self.name = name
        self.tpWeight = tpWeight
        self.fpWeight = fpWeight
        self.fnWeight = fnWeight
    }

    /// NAB's `standard` profile: tp 1, fp 0.11, fn 1.
    public static let standard = NABProfile(name: "standard", tpWeight: 1, fpWeight: 0.11, fnWeight: 1)
    /// NAB's `reward_low_FP_rate` profile: false positives cost twice as much (fp 0.22).
    public static let rewardLowFPRate = NABProfile(name: "reward_low_FP_rate", tpWeight: 1, fpWeight: 0.22, fnWeight: 1)
    /// NAB's `reward_low_FN_rate` profile: a missed window costs twice as much (fn 2).
    public static let rewardLowFNRate = NABProfile(name: "reward_low_FN_rate", tpWeight: 1, fpWeight: 0.11, fnWeight: 2)
    /// The three shipped profiles, in the order NAB reports them.
    public static let all: [NABProfile] = [standard, rewardLowFPRate, rewardLowFNRate]
}
