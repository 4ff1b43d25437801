// SPDX-License-Identifier: GPL-3.0-or-later
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The channels of the surprise detector: each turns one aspect of a sensor's behaviour into a
/// surprise `S = −log10 p` (`rawValue` is the `channel` published in an alert's context).
public enum SurpriseChannel: String, Sendable, Equatable, CaseIterable {
    /// The size of the sample-to-sample change against its typical size.
    case change
    /// The level against a slow baseline, above or below it.
    case level
    /// The value outside the range of every in-control value seen so far.
    case range
    /// The value far outside the range of recent in-control values.
    case recentRange = "recent_range"
    /// The value against the sensor's own daily (or other) cycle.
    case seasonal
}

/// The evidence of a surprise alert: which channel fired, its surprise `S` (the alert's score;
/// `p = 10^−S`) and what the sample was compared with. Fixed size, no heap storage, so an alert
/// event stays a plain value on the worker → publisher ring.
public enum SurpriseEvidence: Sendable, Equatable {
    /// The change from the previous sample (`change`, absolute) against the typical absolute
    /// change (`typicalChange`, an exponentially weighted mean).
    case change(surprise: Double, change: Double, typicalChange: Double)
    /// The level against the slow `baseline`, whose typical absolute deviation is `deviation`;
    /// `up` when the recent samples lie above it.
    case level(surprise: Double, baseline: Double, deviation: Double, up: Bool)
    /// The value outside `[lower, upper]`, the range of the in-control values (`recent`: the
    /// forgetting range of recent ones, `recent_range`).
    case range(surprise: Double, lower: Double, upper: Double, recent: Bool)
    /// The value against the cycle's `expected` value at this phase, whose typical absolute
    /// residual is `scale`; the cycle is `periodSamples` samples long.
    case seasonal(surprise: Double, expected: Double, scale: Double, periodSamples: Int32)

    /// The channel that fired.
    public var channel: SurpriseChannel {
        switch self {
        case .change: .change
        case .level: .level
        case .range(_, _, _, let recent): recent ? .recentRange : .range
        case .seasonal: .seasonal
        }
    }

    /// The surprise `S = −log10 p` of that channel.
    public var surprise: Double {
        switch self {
        case .change(let s, _, _), .level(let s, _, _, _), .range(let s, _, _, _), .seasonal(let s, _, _, _): s
        }
    }

    /// The tail probability `p = 10^−S`.
    public var probability: Double { pow(10, -surprise) }
}
