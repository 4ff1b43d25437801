// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation

/// One entry of a tuning space's `parameters`: a detector key of the configuration
/// (`detectors.zscore.threshold`) and the values the tuner may give it.
///
/// The optimiser sees each parameter as one coordinate: a number in [0, 1] for a range (0 is
/// `min`, 1 is `max`, spaced by `scale`), or the index of a value for a list of values.
/// `value(at:)` turns a coordinate into the key's value, rounded so that it reads well in a
/// config file (whole numbers for integer keys; for other numbers the fewest decimals that still
/// resolve a thousandth of the range); `snapped(_:)` is the coordinate of that value, so the
/// optimiser models exactly the settings that are evaluated.
///
/// Threading: an immutable value.
public struct TuningParameter: Sendable, Equatable {
    /// How a range's coordinate maps to numbers.
    public enum Scale: String, Sendable, Equatable, CaseIterable {
        /// Evenly spaced numbers.
        case linear
        /// Evenly spaced logarithms (`min` > 0): 3 to 10 is searched as closely as 30 to 100.
        case log
        /// Evenly spaced logarithms of the distance to 1 (`max` < 1): for probability thresholds
        /// such as `detectors.combine.threshold`, where 0.999 to 0.9999999 is four decades.
        case tail
    }

    /// The values a parameter may take.
    public enum Domain: Sendable, Equatable {
        /// Numbers from `lower` to `upper` (both included) spaced by `scale`; whole numbers only
        /// when `integer`.
        case range(lower: Double, upper: Double, scale: Scale, integer: Bool)
        /// One of these values, as written in a config file (`robust`, `64`, `true`).
        case values([String])
    }

    /// The key's path in the configuration, e.g. `detectors.zscore.window`.
    public let keyPath: String
    /// Its values.
    public let domain: Domain
    let section: SectionKey
    let key: String
    /// For `.values`, the values as the config reader read them.
    let choices: [FieldValue]
    /// The key takes whole numbers (`FieldValue.int`).
    let integerKey: Bool
    /// Where the parameter was written in the space file.
    let line: Int
    let column: Int

    init(section: SectionKey, key: String, domain: Domain, choices: [FieldValue], integerKey: Bool, line: Int, column: Int) {
        self.keyPath = "detectors.\(section.rawValue).\(key)"
        self.section = section
        self.key = key
        self.domain = domain
        self.choices = choices
        self.integerKey = integerKey
        self.line = line
        self.column = column
    }

    /// The number of values of a `.values` domain; nil for a range.
    public var choiceCount: Int? {
        if case .values(let v) = domain { return v.count }
        return nil
    }

    /// Equal when they tune the same key over the same values.
    public static func == (a: TuningParameter, b: TuningParameter) -> Bool {
        a.keyPath == b.keyPath && a.domain == b.domain
    }

    // MARK: - Coordinates

    /// The key's value at `coordinate`: a number in [0, 1] for a range (clamped), a value
    /// index for a list (rounded and clamped).
    func value(at coordinate: Double) -> FieldValue {
        switch domain {
        case .values:
            return choices[Self.index(coordinate, count: choices.count)]
        case .range(let lower, let upper, let scale, let integer):
            let u = min(max(coordinate.isFinite ? coordinate : 0, 0), 1)
            if integer {
                let v = Self.wholeNumber(u, lower, upper, scale)
                return integerKey ? .int(Int(v)) : .double(v)
            }
            return .double(Self.roundedNumber(u, lower, upper, scale))
        }
    }

    /// The coordinate of `value` (a value of this parameter's key), nil when it is outside the domain.
    func coordinate(of value: FieldValue) -> Double? {
        switch domain {
        case .values:
            return choices.firstIndex(of: value).map(Double.init)
        case .range(let lower, let upper, let scale, let integer):
            let v: Double
            switch value {
            case .int(let i): v = Double(i)
            case .double(let d): v = d
            default: return nil
            }
            guard v >= lower, v <= upper, !integer || v == v.rounded() else { return nil }
            return integer ? Self.wholeNumberCoordinate(v, lower, upper, scale) : Self.coordinate(v, lower, upper, scale)
        }
    }

    /// The coordinate of the value at `coordinate`: where the optimiser should record a trial.
    public func snapped(_ u: Double) -> Double {
        coordinate(of: value(at: u))!
    }

    /// The value at `coordinate` as a config file writes it (`4.21`, `robust`).
    public func text(at coordinate: Double) -> String {
        value(at: coordinate).rendered
    }

    // MARK: - Scales

    static func index(_ coordinate: Double, count: Int) -> Int {
        guard coordinate.isFinite else { return 0 }
        return min(max(Int(coordinate.rounded()), 0), count - 1)
    }

    /// The scale's transform: evenly spaced in the transformed numbers.
    private static func forward(_ v: Double, _ scale: Scale) -> Double {
        switch scale {
        case .linear: v
        case .log: Foundation.log(v)
        case .tail: Foundation.log(1 - v)
        }
    }

    private static func inverse(_ t: Double, _ scale: Scale) -> Double {
        switch scale {
        case .linear: t
        case .log: exp(t)
        case .tail: 1 - exp(t)
        }
    }

    private static func coordinate(_ v: Double, _ lower: Double, _ upper: Double, _ scale: Scale) -> Double {
        let a = forward(lower, scale), b = forward(upper, scale)
        return min(max((forward(v, scale) - a) / (b - a), 0), 1)
    }

    /// A continuous value rounded to the fewest decimals that resolve a thousandth of the
    /// coordinate, so `4.2134567` reads `4.213`; clamped to the range.
    private static func roundedNumber(_ u: Double, _ lower: Double, _ upper: Double, _ scale: Scale) -> Double {
        let a = forward(lower, scale), b = forward(upper, scale)
        let v = inverse(a + u * (b - a), scale)
        // The change of the value for a change of 1e-3 in the coordinate.
        let step: Double = switch scale {
        case .linear: (upper - lower) * 1e-3
        case .log: v * (b - a) * 1e-3
        case .tail: (1 - v) * abs(b - a) * 1e-3
        }
        guard step > 0, step.isFinite else { return min(max(v, lower), upper) }
        let decimals = min(max(-Int(Foundation.floor(log10(step))), -15), 17)
        let rounded: Double
        if decimals >= 0 {
            let scale = pow(10, Double(decimals))
            rounded = (v * scale).rounded() / scale
        } else {
            let scale = pow(10, Double(-decimals))
            rounded = (v / scale).rounded() * scale
        }
        return min(max(rounded, lower), upper)
    }

    /// Whole numbers get equal shares of the coordinate (on a log scale, of its logarithm over
    /// [lower, upper + 1)).
    private static func wholeNumber(_ u: Double, _ lower: Double, _ upper: Double, _ scale: Scale) -> Double {
        let v: Double
        switch scale {
        case .log:
            let a = Foundation.log(lower), b = Foundation.log(upper + 1)
            v = Foundation.floor(exp(a + u * (b - a)))
        default:
            v = lower + Foundation.floor(u * (upper - lower + 1))
        }
        return min(max(v, lower), upper)
    }

    /// The middle of the share of whole number `v`.
    private static func wholeNumberCoordinate(_ v: Double, _ lower: Double, _ upper: Double, _ scale: Scale) -> Double {
        switch scale {
        case .log:
            let a = Foundation.log(lower), b = Foundation.log(upper + 1)
            return ((Foundation.log(v) + Foundation.log(v + 1)) / 2 - a) / (b - a)
        default:
            return (v - lower + 0.5) / (upper - lower + 1)
        }
    }
}
