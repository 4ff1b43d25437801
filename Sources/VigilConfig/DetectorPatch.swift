// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import VigilCore
import VigilDetectors
internal import Yams

// The detector keys of the config, one table per section. The same tables read
// `detectors` (applied on the built-in defaults), `sensors[]` and `assets[]` (kept as patches
// and applied per sensor), suggest keys for typos and render the summary, so a key is declared
// exactly once.

/// The detector sections of the config, by YAML key.
enum SectionKey: String, Sendable, CaseIterable {
    case surprise
    case zscore
    case spectralResidual = "spectral_residual"
    case isolationForest = "isolation_forest"
    case alerts
    case calibration
    case combine
    /// An asset's PCA monitor (in `detectors`: the default of every asset).
    case pca
    /// The hour-of-week baseline the detectors score against (off by default; opt in per glob).
    case seasonal
}

/// A config value after its type and range were checked against its key.
enum FieldValue: Sendable, Equatable {
    case bool(Bool)
    case int(Int)
    case double(Double)
    /// An enum's raw value, already known to be valid.
    case text(String)
    case weights([DetectorKind: Double])
    /// A time period `[from, to)` in nanoseconds since the epoch.
    case period(Int64, Int64)

    var rendered: String {
        switch self {
        case .period(let from, let to): "{from: \(Timestamp.rfc3339(from)), to: \(Timestamp.rfc3339(to))}"
        case .bool(let b): "\(b)"
        case .int(let i): "\(i)"
        case .double(let d): formatNumber(d)
        case .text(let s): s
        case .weights(let w):
            "{" + DetectorKind.allCases.compactMap { k in w[k].map { "\(k.rawValue): \(formatNumber($0))" } }
                .joined(separator: ", ") + "}"
        }
    }
}

/// Where a value was written, for problems found after the walk.
struct SourceLocation: Sendable {
    var line: Int
    var column: Int
    var keyPath: String
}

/// One key set by a `detectors`, `sensors[]` or `assets[]` entry.
struct PatchEntry: Sendable, Equatable {
    var section: SectionKey
    var key: String
    var value: FieldValue
    var location: SourceLocation

    /// Equal when they set the same key to the same value, wherever written.
    static func == (a: PatchEntry, b: PatchEntry) -> Bool {
        a.section == b.section && a.key == b.key && a.value == b.value
    }
}

/// The detector keys one config entry sets, in file order.
struct DetectorPatch: Sendable, Equatable {
    var entries: [PatchEntry] = []

    var changes: [String] { entries.map { "\($0.section.rawValue).\($0.key): \($0.value.rendered)" } }

    func entry(_ section: SectionKey, _ keys: [String]) -> PatchEntry? {
        for key in keys {
            if let e = entries.last(where: { $0.section == section && $0.key == key }) { return e }
        }
        return nil
    }
}

/// Renders a number as an operator would write it: `5`, `0.75`, `1e-09`.
func formatNumber(_ d: Double) -> String {
    if d.isFinite, d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
    // Swift writes 1e-09; operators write 1e-9.
    return "\(d)".replacingOccurrences(of: "e-0", with: "e-").replacingOccurrences(of: "e+0", with: "e+")
}

// MARK: - Field tables

/// An accepted range of numbers, with its wording for messages.
struct NumberRange: Sendable {
    var lower: Double
    var lowerInclusive: Bool
    var upper: Double?
    var upperInclusive: Bool

    static let positive = NumberRange(lower: 0, lowerInclusive: false, upper: nil, upperInclusive: false)
    static let nonNegative = NumberRange(lower: 0, lowerInclusive: true, upper: nil, upperInclusive: false)
    static let openUnit = NumberRange(lower: 0, lowerInclusive: false, upper: 1, upperInclusive: false)
    static let halfOpenUnit = NumberRange(lower: 0, lowerInclusive: false, upper: 1, upperInclusive: true)
    static let falseAlarmRate = NumberRange(lower: 0, lowerInclusive: false, upper: 0.5, upperInclusive: false)
    static let factor = NumberRange(lower: 1, lowerInclusive: true, upper: 100, upperInclusive: true)

    func contains(_ x: Double) -> Bool {
        guard x.isFinite else { return false }
        if lowerInclusive ? x < lower : x <= lower { return false }
        if let upper, upperInclusive ? x > upper : x >= upper { return false }
        return true
    }

    var wording: String {
        guard let upper else {
            return "a number \(lowerInclusive ? "≥" : ">") \(formatNumber(lower))"
        }
        return "a number in \(lowerInclusive ? "[" : "(")\(formatNumber(lower)), \(formatNumber(upper))\(upperInclusive ? "]" : ")")"
    }
}

/// What kind of value a key takes, for tools that generate values rather than read them
/// (`vigil eval --tune` checks a search range against it).
enum FieldKind: Sendable {
    /// A whole number (its range is checked by the key's `read`).
    case integer
    /// A number (its range is checked by the key's `read`).
    case number
    /// `true` or `false`.
    case bool
    /// One of these words.
    case choice([String])
    /// A random seed (a whole number, but not a setting that means anything to tune).
    case seed
    /// A mapping of detector names to weights.
    case weights
    /// A structured value with its own syntax (PCA `components`, a `baseline` period): not tunable.
    case structured
}

/// How one key is read, written into its section and shown.
struct FieldSpec<Target> {
    var key: String
    var kind: FieldKind
    var read: (inout ConfigReader, Node, String) -> FieldValue?
    var write: (FieldValue, inout Target) -> Void
    /// The current value, nil for an unset optional key.
    var get: (Target) -> FieldValue?
    var render: (Target) -> String?

    static func int(_ key: String, _ path: WritableKeyPath<Target, Int>, min: Int, max: Int = .max) -> Self {
        Self(key: key, kind: .integer,
             read: { r, node, p in r.int(node, p, min: min, max: max).map(FieldValue.int) },
             write: { v, t in if case .int(let i) = v { t[keyPath: path] = i } },
             get: { .int($0[keyPath: path]) },
             render: { "\($0[keyPath: path])" })
    }

    static func int(_ key: String, _ path: WritableKeyPath<Target, Int?>, min: Int) -> Self {
        Self(key: key, kind: .integer,
             read: { r, node, p in r.int(node, p, min: min, max: .max).map(FieldValue.int) },
             write: { v, t in if case .int(let i) = v { t[keyPath: path] = i } },
             get: { $0[keyPath: path].map(FieldValue.int) },
             render: { $0[keyPath: path].map { "\($0)" } })
    }

    static func seed(_ key: String, _ path: WritableKeyPath<Target, UInt64>) -> Self {
        Self(key: key, kind: .seed,
             read: { r, node, p in r.int(node, p, min: 0, max: .max).map(FieldValue.int) },
             write: { v, t in if case .int(let i) = v { t[keyPath: path] = UInt64(i) } },
             get: { Int(exactly: $0[keyPath: path]).map(FieldValue.int) },
             render: { "\($0[keyPath: path])" })
    }

    static func number(_ key: String, _ path: WritableKeyPath<Target, Double>, _ range: NumberRange) -> Self {
        Self(key: key, kind: .number,
             read: { r, node, p in r.double(node, p, range).map(FieldValue.double) },
             write: { v, t in if case .double(let d) = v { t[keyPath: path] = d } },
             get: { .double($0[keyPath: path]) },
             render: { formatNumber($0[keyPath: path]) })
    }

    static func number(_ key: String, _ path: WritableKeyPath<Target, Double?>, _ range: NumberRange) -> Self {
        Self(key: key, kind: .number,
             read: { r, node, p in r.double(node, p, range).map(FieldValue.double) },
             write: { v, t in if case .double(let d) = v { t[keyPath: path] = d } },
             get: { $0[keyPath: path].map(FieldValue.double) },
             render: { $0[keyPath: path].map(formatNumber) })
    }

    static func bool(_ key: String, _ path: WritableKeyPath<Target, Bool>) -> Self {
        Self(key: key, kind: .bool,
             read: { r, node, p in r.bool(node, p).map(FieldValue.bool) },
             write: { v, t in if case .bool(let b) = v { t[keyPath: path] = b } },
             get: { .bool($0[keyPath: path]) },
             render: { "\($0[keyPath: path])" })
    }

    static func choice<E: RawRepresentable<String> & CaseIterable>(_ key: String, _ path: WritableKeyPath<Target, E>) -> Self {
        Self(key: key, kind: .choice(E.allCases.map(\.rawValue)),
             read: { r, node, p in r.choice(node, p, of: E.self).map { FieldValue.text($0.rawValue) } },
             write: { v, t in if case .text(let s) = v, let e = E(rawValue: s) { t[keyPath: path] = e } },
             get: { .text($0[keyPath: path].rawValue) },
             render: { $0[keyPath: path].rawValue })
    }
}

/// A detector section of the config (shorter to write in the tables).
typealias Section<C: Sendable & Equatable> = VigilConfiguration.Detector<C>

/// Keys every detector section has.
private func commonFields<C>(thresholds range: NumberRange) -> [FieldSpec<Section<C>>] {
    [
        .bool("enabled", \.enabled),
        .number("threshold", \.threshold, range),
        .number("critical", \.critical, range),
        .int("raise_after", \.raiseAfter, min: 1),
        .int("clear_after", \.clearAfter, min: 1),
        .number("clear_ratio", \.clearRatio, .halfOpenUnit),
    ]
}

enum DetectorFields {
    static var surprise: [FieldSpec<Section<SurpriseConfiguration>>] {
        commonFields(thresholds: .positive) + [
            .int("relearn_after", \.relearnAfter, min: 0),
            .int("warmup", \.configuration.warmup, min: 10),
            .int("horizon", \.configuration.horizon, min: 100),
            .bool("change", \.configuration.change),
            .bool("level", \.configuration.level),
            .bool("range", \.configuration.range),
            .bool("recent_range", \.configuration.recentRange),
            .bool("seasonal", \.configuration.seasonal),
        ]
    }

    static var zscore: [FieldSpec<Section<ZScoreSettings>>] {
        commonFields(thresholds: .positive) + [
            .choice("mode", \.configuration.mode),
            .int("window", \.configuration.window, min: 2),
            .int("warmup", \.configuration.warmup, min: 2),
            .number("alpha", \.configuration.alpha, .openUnit),
            .number("min_deviation", \.configuration.minDeviation, .positive),
        ]
    }

    static var spectralResidual: [FieldSpec<Section<SpectralResidualConfiguration>>] {
        commonFields(thresholds: .positive) + [
            .int("window", \.configuration.window, min: 8),
            .int("mag_window", \.configuration.magWindow, min: 1),
            .int("score_window", \.configuration.scoreWindow, min: 1),
            .int("estimated_points", \.configuration.estimatedPoints, min: 1),
            .int("look_ahead", \.configuration.lookAhead, min: 1),
            .int("hop", \.configuration.hop, min: 1),
        ]
    }

    static var isolationForest: [FieldSpec<Section<IsolationForestConfiguration>>] {
        commonFields(thresholds: .halfOpenUnit) + [
            .int("trees", \.configuration.trees, min: 1),
            .int("sample_size", \.configuration.sampleSize, min: 2),
            .int("training_window", \.configuration.trainingWindow, min: 2),
            .int("retrain_every", \.configuration.retrainEvery, min: 1),
            .number("drift_threshold", \.configuration.driftThreshold, .halfOpenUnit),
            .bool("extended", \.configuration.extended),
            .choice("features", \.configuration.features),
            .int("shingle", \.configuration.shingle, min: 1),
            .seed("seed", \.configuration.seed),
        ]
    }

    static var pca: [FieldSpec<Section<PCAConfiguration>>] {
        commonFields(thresholds: .positive) + [
            FieldSpec(key: "components", kind: .structured,
                      read: { r, node, p in r.pcaComponents(node, p) },
                      write: { v, t in
                          switch v {
                          case .int(let n): t.configuration.components = .count(n)
                          case .double(let f): t.configuration.components = .variance(f)
                          default: t.configuration.components = .auto
                          }
                      },
                      get: { t in
                          switch t.configuration.components {
                          case .auto: .text("auto")
                          case .count(let n): .int(n)
                          case .variance(let f): .double(f)
                          }
                      },
                      render: { t in
                          switch t.configuration.components {
                          case .auto: "auto"
                          case .count(let n): "\(n)"
                          case .variance(let f): formatNumber(f)
                          }
                      }),
            .int("lags", \.configuration.lags, min: 0, max: 16),
            .int("warmup", \.configuration.warmup, min: PCAMonitor.minimumBaseline, max: 1_000_000),
            FieldSpec(key: "baseline", kind: .structured,
                      read: { r, node, p in r.period(node, p) },
                      write: { v, t in
                          if case .period(let from, let to) = v {
                              t.configuration.baselineStart = from
                              t.configuration.baselineEnd = to
                          } else {
                              t.configuration.baselineStart = nil
                              t.configuration.baselineEnd = nil
                          }
                      },
                      get: { t in
                          guard let from = t.configuration.baselineStart, let to = t.configuration.baselineEnd else { return nil }
                          return .period(from, to)
                      },
                      render: { t in
                          guard let from = t.configuration.baselineStart, let to = t.configuration.baselineEnd else { return nil }
                          return FieldValue.period(from, to).rendered
                      }),
            .choice("limits", \.configuration.limits),
            .number("alpha", \.configuration.alpha, .falseAlarmRate),
            .number("t2_factor", \.configuration.t2Factor, .factor),
            .number("smoothing", \.configuration.smoothing, .halfOpenUnit),
            .number("forgetting", \.configuration.forgetting, .halfOpenUnit),
            .int("update_every", \.configuration.updateEvery, min: 1),
            .int("relearn_after", \.configuration.relearnAfter, min: 0),
        ]
    }

    static var seasonal: [FieldSpec<SeasonalBaselineConfiguration>] {
        [
            .bool("enabled", \.enabled),
            .int("min_weeks", \.minWeeks, min: 1, max: 52),
            .int("utc_offset", \.utcOffset, min: -12, max: 14),
            .number("rate", \.rate, .halfOpenUnit),
        ]
    }

    static var alerts: [FieldSpec<VigilConfiguration.AlertDefaults>] {
        [
            .int("raise_after", \.raiseAfter, min: 1),
            .int("clear_after", \.clearAfter, min: 1),
            .number("clear_ratio", \.clearRatio, .halfOpenUnit),
        ]
    }

    static var calibration: [FieldSpec<CalibrationConfiguration>] {
        [
            .int("history", \.history, min: 2),
            .int("short_window", \.shortWindow, min: 1),
            .int("warmup", \.warmup, min: 1),
        ]
    }

    static var combine: [FieldSpec<Section<CombineSettings>>] {
        commonFields(thresholds: .halfOpenUnit) + [
            .choice("rule", \.configuration.rule),
            FieldSpec(key: "weights", kind: .weights,
                      read: { r, node, p in r.weights(node, p).map(FieldValue.weights) },
                      write: { v, t in if case .weights(let w) = v { t.configuration.weights = w } },
                      get: { .weights($0.configuration.weights) },
                      render: { FieldValue.weights($0.configuration.weights).rendered }),
        ]
    }

    /// The keys of `section`, in the order the shipped config lists them.
    static func keys(of section: SectionKey) -> [String] {
        switch section {
        case .surprise: surprise.map(\.key)
        case .zscore: zscore.map(\.key)
        case .spectralResidual: spectralResidual.map(\.key)
        case .isolationForest: isolationForest.map(\.key)
        case .alerts: alerts.map(\.key)
        case .calibration: calibration.map(\.key)
        case .combine: combine.map(\.key)
        case .pca: pca.map(\.key)
        case .seasonal: seasonal.map(\.key)
        }
    }

    /// The kind of value key `key` of `section` takes, nil for a key the section does not have.
    static func kind(_ section: SectionKey, _ key: String) -> FieldKind? {
        func kind<T>(_ table: [FieldSpec<T>]) -> FieldKind? { table.first { $0.key == key }?.kind }
        switch section {
        case .surprise: return kind(surprise)
        case .zscore: return kind(zscore)
        case .spectralResidual: return kind(spectralResidual)
        case .isolationForest: return kind(isolationForest)
        case .alerts: return kind(alerts)
        case .calibration: return kind(calibration)
        case .combine: return kind(combine)
        case .pca: return kind(pca)
        case .seasonal: return kind(seasonal)
        }
    }

    /// Why `value` may not be set where it is written, nil when it may: `features: asset` needs
    /// an `assets` entry (`inAsset`). Each value is first checked on its own by `read`.
    static func contextProblem(_ section: SectionKey, _ key: String, _ value: FieldValue, inAsset: Bool) -> String? {
        if section == .isolationForest, key == "features", value == .text(IsolationFeatures.asset.rawValue), !inAsset {
            return "features: asset needs the sensors of an asset; set it in an assets entry"
        }
        return nil
    }

    /// Reads one key of `section`, or nil (with a problem recorded) when the value is wrong.
    static func read(_ section: SectionKey, _ key: String, _ reader: inout ConfigReader, _ node: Node,
                     _ path: String) -> FieldValue? {
        func read<T>(_ table: [FieldSpec<T>]) -> FieldValue? {
            table.first { $0.key == key }?.read(&reader, node, path)
        }
        switch section {
        case .surprise: return read(surprise)
        case .zscore: return read(zscore)
        case .spectralResidual: return read(spectralResidual)
        case .isolationForest: return read(isolationForest)
        case .alerts: return read(alerts)
        case .calibration: return read(calibration)
        case .combine: return read(combine)
        case .pca: return read(pca)
        case .seasonal: return read(seasonal)
        }
    }

    /// The current values of `section` in `detectors`, as `key: value` (unset optional keys left out).
    static func rendered(_ section: SectionKey, of d: VigilConfiguration.Detectors) -> [(key: String, value: String)] {
        func render<T>(_ table: [FieldSpec<T>], _ target: T) -> [(key: String, value: String)] {
            table.compactMap { f in f.render(target).map { (f.key, $0) } }
        }
        switch section {
        case .surprise: return render(surprise, d.surprise)
        case .zscore: return render(zscore, d.zscore)
        case .spectralResidual: return render(spectralResidual, d.spectralResidual)
        case .isolationForest: return render(isolationForest, d.isolationForest)
        case .alerts: return render(alerts, d.alerts)
        case .calibration: return render(calibration, d.calibration)
        case .combine: return render(combine, d.combine)
        case .pca: return render(pca, d.pca)
        case .seasonal: return render(seasonal, d.seasonal)
        }
    }
}

extension VigilConfiguration.Detectors {
    /// The value of key `key` of `section`; a detector section's unset `raise_after`,
    /// `clear_after` or `clear_ratio` is the one of `alerts` it falls back to.
    func value(_ section: SectionKey, _ key: String) -> FieldValue? {
        func get<T>(_ table: [FieldSpec<T>], _ target: T) -> FieldValue? {
            table.first { $0.key == key }?.get(target)
        }
        let v: FieldValue? = switch section {
        case .surprise: get(DetectorFields.surprise, surprise)
        case .zscore: get(DetectorFields.zscore, zscore)
        case .spectralResidual: get(DetectorFields.spectralResidual, spectralResidual)
        case .isolationForest: get(DetectorFields.isolationForest, isolationForest)
        case .alerts: get(DetectorFields.alerts, alerts)
        case .calibration: get(DetectorFields.calibration, calibration)
        case .combine: get(DetectorFields.combine, combine)
        case .pca: get(DetectorFields.pca, pca)
        case .seasonal: get(DetectorFields.seasonal, seasonal)
        }
        if v == nil, section != .alerts, DetectorFields.keys(of: .alerts).contains(key) {
            return get(DetectorFields.alerts, alerts)
        }
        return v
    }

    /// Applies the keys of `patch` in order.
    mutating func apply(_ patch: DetectorPatch) {
        for e in patch.entries {
            func write<T>(_ table: [FieldSpec<T>], _ target: inout T) {
                table.first { $0.key == e.key }?.write(e.value, &target)
            }
            switch e.section {
            case .surprise: write(DetectorFields.surprise, &surprise)
            case .zscore: write(DetectorFields.zscore, &zscore)
            case .spectralResidual: write(DetectorFields.spectralResidual, &spectralResidual)
            case .isolationForest: write(DetectorFields.isolationForest, &isolationForest)
            case .alerts: write(DetectorFields.alerts, &alerts)
            case .calibration: write(DetectorFields.calibration, &calibration)
            case .combine: write(DetectorFields.combine, &combine)
            case .pca: write(DetectorFields.pca, &pca)
            case .seasonal: write(DetectorFields.seasonal, &seasonal)
            }
        }
    }

    /// A contradiction between keys of one section; `keys` are the keys involved, the one to
    /// blame first.
    struct Inconsistency {
        var section: SectionKey
        var keys: [String]
        var message: String
    }

    /// Contradictions between values that are each valid on their own.
    var inconsistencies: [Inconsistency] {
        var out: [Inconsistency] = []
        func thresholds<C>(_ s: SectionKey, _ d: Section<C>) {
            if d.critical < d.threshold {
                out.append(.init(section: s, keys: ["critical", "threshold"],
                                 message: "critical (\(formatNumber(d.critical))) must be ≥ threshold (\(formatNumber(d.threshold)))"))
            }
        }
        func atMost(_ s: SectionKey, _ key: String, _ value: Int, _ limitKey: String, _ limit: Int) {
            if value > limit {
                out.append(.init(section: s, keys: [key, limitKey],
                                 message: "\(key) (\(value)) must be ≤ \(limitKey) (\(limit))"))
            }
        }
        thresholds(.surprise, surprise)
        if !surprise.configuration.hasChannel {
            out.append(.init(section: .surprise, keys: ["change", "level", "range", "recent_range", "seasonal"],
                             message: "at least one channel (change, level, range, recent_range, seasonal) must be on"))
        }
        thresholds(.zscore, zscore)
        atMost(.zscore, "warmup", zscore.configuration.warmup, "window", zscore.configuration.window)
        thresholds(.spectralResidual, spectralResidual)
        let sr = spectralResidual.configuration
        atMost(.spectralResidual, "mag_window", sr.magWindow, "window", sr.window)
        atMost(.spectralResidual, "score_window", sr.scoreWindow, "window", sr.window)
        atMost(.spectralResidual, "look_ahead", sr.lookAhead, "window", sr.window)
        thresholds(.isolationForest, isolationForest)
        let iforest = isolationForest.configuration
        atMost(.isolationForest, "sample_size", iforest.sampleSize, "training_window", iforest.trainingWindow)
        atMost(.calibration, "short_window", calibration.shortWindow, "history", calibration.history)
        atMost(.calibration, "warmup", calibration.warmup, "history", calibration.history)
        thresholds(.combine, combine)
        thresholds(.pca, pca)
        return out
    }

    /// Settles contradictions that only several overrides together produce (each alone was
    /// validated at load): a window shrinks its dependants, a threshold lifts its critical.
    mutating func repair() {
        surprise.critical = max(surprise.critical, surprise.threshold)
        zscore.critical = max(zscore.critical, zscore.threshold)
        zscore.configuration.warmup = min(zscore.configuration.warmup, zscore.configuration.window)
        spectralResidual.critical = max(spectralResidual.critical, spectralResidual.threshold)
        let w = spectralResidual.configuration.window
        spectralResidual.configuration.magWindow = min(spectralResidual.configuration.magWindow, w)
        spectralResidual.configuration.scoreWindow = min(spectralResidual.configuration.scoreWindow, w)
        spectralResidual.configuration.lookAhead = min(spectralResidual.configuration.lookAhead, w)
        isolationForest.critical = max(isolationForest.critical, isolationForest.threshold)
        isolationForest.configuration.sampleSize =
            min(isolationForest.configuration.sampleSize, isolationForest.configuration.trainingWindow)
        calibration.shortWindow = min(calibration.shortWindow, calibration.history)
        calibration.warmup = min(calibration.warmup, calibration.history)
        combine.critical = max(combine.critical, combine.threshold)
        pca.critical = max(pca.critical, pca.threshold)
    }
}
