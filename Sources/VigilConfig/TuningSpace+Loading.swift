// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
internal import Yams

extension TuningSpace {
    /// Reads and validates the tuning space file at `path` (see `parse(yaml:file:)`).
    public static func load(path: String) throws(ConfigError) -> TuningSpace {
        try parse(yaml: readConfigText(path: path, what: "tuning space file"), file: path)
    }

    /// Parses and validates tuning space text; `file` names it in problems, which are reported
    /// together, in file order, as `file:line:column: key.path: message`.
    ///
    /// Every parameter must be a detector key of the configuration (`detectors.<section>.<key>`)
    /// that takes a number, a word or true/false (not the combination's `weights`, not a random
    /// `seed`); a range's `min` and `max` are read with that key's own type and range (so
    /// `detectors.zscore.window: {min: 1, …}` is refused as the config would refuse
    /// `window: 1`), and so is every entry of `values`.
    public static func parse(yaml: String, file: String) throws(ConfigError) -> TuningSpace {
        var reader = ConfigReader(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigError(problems: [reader.syntaxProblem(error, in: yaml)])
        }
        var space = TuningSpace(file: file)
        reader.readSpace(root, into: &space)
        guard reader.problems.isEmpty else { throw ConfigError(problems: sortedProblems(reader.problems)) }
        return space
    }

    /// Every key a tuning space may search, e.g. `detectors.zscore.threshold`.
    public static var tunableKeyPaths: [String] {
        SectionKey.allCases.flatMap { section in
            DetectorFields.keys(of: section).filter { isTunable(DetectorFields.kind(section, $0)!) }
                .map { "detectors.\(section.rawValue).\($0)" }
        }
    }

    static func isTunable(_ kind: FieldKind) -> Bool {
        switch kind {
        case .seed, .weights, .structured: false
        default: true
        }
    }
}

/// The keys of a tuning space file.
enum SpaceKeys {
    static let topLevel = ["budget", "folds", "objective", "max_false_alarm_rate", "parameters"]
    static let parameter = ["min", "max", "scale", "integer", "values"]
}

extension ConfigReader {
    mutating func readSpace(_ root: Node?, into space: inout TuningSpace) {
        guard let root, !isNull(root) else {
            report(.missingKey, line: 0, column: 0, "parameters",
                   "a tuning space needs parameters, e.g. detectors.zscore.threshold: {min: 3, max: 10}")
            return
        }
        if root.mapping == nil {
            report(.wrongType, at: root, "", "expected a mapping (budget, folds, objective, parameters), got \(describe(root))")
            return
        }
        var sawParameters = false
        for e in entries(of: root, "", known: SpaceKeys.topLevel) {
            space.locations[e.path] = SourceLocation(line: e.value.mark?.line ?? 0, column: e.value.mark?.column ?? 0,
                                                     keyPath: e.path)
            switch e.key {
            case "budget": if let v = int(e.value, e.path, min: 1, max: 10_000) { space.budget = v }
            case "folds": if let v = int(e.value, e.path, min: 2, max: 1000) { space.folds = v }
            case "objective": if let v = choice(e.value, e.path, of: TuningSpace.Objective.self) { space.objective = v }
            case "max_false_alarm_rate": if let v = double(e.value, e.path, .openUnit) { space.maxFalseAlarmRate = v }
            case "parameters":
                sawParameters = true
                space.parameters = readParameters(e.value, e.path)
            default: break
            }
        }
        if !sawParameters {
            report(.missingKey, at: root, "parameters",
                   "a tuning space needs parameters, e.g. detectors.zscore.threshold: {min: 3, max: 10}")
        }
    }

    private mutating func readParameters(_ node: Node, _ path: String) -> [TuningParameter] {
        guard case .mapping(let mapping) = node else {
            report(.wrongType, at: node, path,
                   "expected a mapping of detector keys to ranges, e.g. detectors.zscore.threshold: {min: 3, max: 10}, got \(describe(node))")
            return []
        }
        if mapping.count == 0 {
            report(.invalidValue, at: node, path, "expected at least one parameter")
            return []
        }
        var out: [TuningParameter] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let k) = keyNode else {
                report(.wrongType, at: keyNode, path, "keys must be key paths such as detectors.zscore.threshold, got \(describe(keyNode))")
                continue
            }
            let keyPath = join(path, k.string)
            guard let (section, key) = tunableKey(k.string, keyNode, keyPath) else { continue }
            if let p = readParameter(section, key, value, keyPath, at: keyNode) { out.append(p) }
        }
        return out
    }

    /// The section and key of a tunable key path, or nil with the problem reported.
    private mutating func tunableKey(_ text: String, _ node: Node, _ path: String) -> (SectionKey, String)? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 3, parts[0] == "detectors", let section = SectionKey(rawValue: parts[1]),
           let kind = DetectorFields.kind(section, parts[2]) {
            switch kind {
            case .seed:
                report(.invalidValue, at: node, path, "not a tunable key: a random seed is not a setting (tuning it fits the noise of one draw)")
                return nil
            case .weights:
                report(.invalidValue, at: node, path, "not a tunable key: weights is a mapping; tune the detectors' own keys instead")
                return nil
            case .structured:
                report(.invalidValue, at: node, path, "not a tunable key: \(parts[2]) takes a structured value")
                return nil
            default:
                return (section, parts[2])
            }
        }
        var message = "unknown key"
        if let suggestion = closestKey(to: text, in: TuningSpace.tunableKeyPaths) {
            message += ", did you mean \(quoted(suggestion))?"
        } else if parts.count == 2, parts[0] == "detectors", SectionKey(rawValue: parts[1]) != nil {
            message = "expected a key of the section, e.g. \(text).\(DetectorFields.keys(of: SectionKey(rawValue: parts[1])!)[1])"
        } else if let first = parts.first, first != "detectors", ConfigKeys.topLevel.contains(first) {
            message = "not a tunable key: only detector keys (detectors.<section>.<key>) can be tuned"
        } else {
            message += ": expected a detector key such as detectors.zscore.threshold (see Configs/vigil.yaml)"
        }
        report(.unknownKey, at: node, path, message)
        return nil
    }

    private mutating func readParameter(_ section: SectionKey, _ key: String, _ node: Node, _ path: String,
                                        at keyNode: Node) -> TuningParameter? {
        let kind = DetectorFields.kind(section, key)!
        guard node.mapping != nil else {
            report(.wrongType, at: node, path, "expected {min, max} (with optional scale, integer) or {values: […]}, got \(describe(node))")
            return nil
        }
        let entries = entries(of: node, path, known: SpaceKeys.parameter)
        func entry(_ k: String) -> Entry? { entries.first { $0.key == k } }
        let line = keyNode.mark?.line ?? 0, column = keyNode.mark?.column ?? 0
        let before = problems.count

        if let values = entry("values") {
            for k in ["min", "max", "scale", "integer"] {
                if let e = entry(k) { report(.inconsistent, at: e.keyNode, e.path, "give either values or min and max, not both") }
            }
            let items = items(of: values.value, values.path)
            if items.isEmpty, values.value.sequence != nil || isNull(values.value) {
                report(.invalidValue, at: values.value, values.path, "expected at least one value")
            }
            var choices: [FieldValue] = []
            var lines: [Int] = []
            for item in items {
                guard let v = DetectorFields.read(section, key, &self, item.node, item.path) else { continue }
                if let problem = DetectorFields.contextProblem(section, key, v, inAsset: false) {
                    report(.invalidValue, at: item.node, item.path, problem)
                    continue
                }
                if let i = choices.firstIndex(of: v) {
                    report(.duplicate, at: item.node, item.path, "duplicate value \(v.rendered), also at line \(lines[i])")
                    continue
                }
                choices.append(v)
                lines.append(item.node.mark?.line ?? 0)
            }
            guard problems.count == before, !choices.isEmpty else { return nil }
            return TuningParameter(section: section, key: key, domain: .values(choices.map(\.rendered)), choices: choices,
                                   integerKey: false, line: line, column: column)
        }

        let integerKey: Bool
        switch kind {
        case .integer: integerKey = true
        case .number: integerKey = false
        case .bool, .choice, .seed, .weights, .structured:
            let words = if case .choice(let c) = kind { c } else { ["true", "false"] }
            let at = entry("min") ?? entry("max")
            let what = if case .choice = kind { "one of " + words.joined(separator: ", ") } else { "true or false" }
            report(.wrongType, at: at?.keyNode ?? node, at?.path ?? path,
                   "not a numeric key (\(what)): give values: [\(words.joined(separator: ", "))] instead of min and max")
            return nil
        }
        guard let minEntry = entry("min"), let maxEntry = entry("max") else {
            let missing = entry("min") == nil ? "min" : "max"
            report(.missingKey, at: node, join(path, missing), "a range needs min and max (or give values: […])")
            return nil
        }
        func number(_ e: Entry) -> Double? {
            switch DetectorFields.read(section, key, &self, e.value, e.path) {
            case .int(let i): Double(i)
            case .double(let d): d
            default: nil
            }
        }
        let lower = number(minEntry), upper = number(maxEntry)
        var scale = TuningParameter.Scale.linear
        if let e = entry("scale"), let s = choice(e.value, e.path, of: TuningParameter.Scale.self) { scale = s }
        var integer = integerKey
        if let e = entry("integer"), let b = bool(e.value, e.path) {
            if integerKey && !b {
                report(.invalidValue, at: e.value, e.path, "\(key) takes whole numbers; integer: false is not possible")
            }
            integer = integerKey || b
        }
        guard let lower, let upper, problems.count == before else { return nil }
        if lower >= upper {
            report(.inconsistent, at: minEntry.value, minEntry.path,
                   "min (\(formatNumber(lower))) must be less than max (\(formatNumber(upper)))")
        }
        if scale == .log, lower <= 0 {
            report(.outOfRange, at: minEntry.value, minEntry.path, "scale: log needs min > 0, got \(formatNumber(lower))")
        }
        if scale == .tail {
            if integer {
                report(.invalidValue, at: entry("scale")!.value, entry("scale")!.path,
                       "scale: tail is for numbers below 1 (probability thresholds), not whole numbers")
            } else if upper >= 1 {
                report(.outOfRange, at: maxEntry.value, maxEntry.path,
                       "scale: tail needs max < 1 (it spaces values by their distance to 1), got \(formatNumber(upper))")
            }
        }
        if integer, !integerKey {
            for (e, v) in [(minEntry, lower), (maxEntry, upper)] where v != v.rounded() {
                report(.invalidValue, at: e.value, e.path, "integer: true needs whole-number bounds, got \(formatNumber(v))")
            }
        }
        guard problems.count == before else { return nil }
        return TuningParameter(section: section, key: key, domain: .range(lower: lower, upper: upper, scale: scale, integer: integer),
                               choices: [], integerKey: integerKey, line: line, column: column)
    }
}
