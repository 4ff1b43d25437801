// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import VigilCore
internal import Yams

/// Walks a composed YAML document, checking each value against what its key expects and
/// recording every problem with its position and key path (it never stops at the first).
struct ConfigReader {
    let file: String
    private(set) var problems: [ConfigProblem] = []
    /// Key paths of every known key read, in file order (to check the shipped file lists them all).
    private(set) var visitedKeyPaths: [String] = []
    /// An ingest endpoint list had problems (so "no endpoint at all" is not reported on top).
    var ingestListFailed = false

    init(file: String) {
        self.file = file
    }

    // MARK: - Problems

    mutating func report(_ code: ConfigProblem.Code, at node: Node?, _ path: String, _ message: String) {
        report(code, line: node?.mark?.line ?? 0, column: node?.mark?.column ?? 0, path, message)
    }

    mutating func report(_ code: ConfigProblem.Code, line: Int, column: Int, _ path: String, _ message: String) {
        problems.append(ConfigProblem(code: code, file: file, line: line, column: column, keyPath: path, message: message))
    }

    mutating func report(_ code: ConfigProblem.Code, at location: SourceLocation, _ message: String) {
        report(code, line: location.line, column: location.column, location.keyPath, message)
    }

    /// How a value reads in a message: `"abc"` for strings, `12` for numbers, `a mapping`.
    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s):
            if s.style == .plain || s.style == .any {
                switch tagName(node) {
                case .null: return s.string.isEmpty ? "nothing" : s.string
                case .int, .float, .bool: return s.string
                default: break
                }
            }
            return quoted(s.string)
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    private mutating func expected(_ what: String, _ node: Node, _ path: String) {
        report(.wrongType, at: node, path, "expected \(what), got \(describe(node))")
    }

    // MARK: - Structure

    /// One key of a mapping with its value.
    struct Entry {
        var key: String
        var keyNode: Node
        var value: Node
        var path: String
    }

    /// The entries of a mapping whose keys are all in `known`; reports unknown keys (suggesting
    /// the closest known one) and leaves them out. A null value (a key with nothing after it)
    /// reads as an empty mapping.
    mutating func entries(of node: Node, _ path: String, known: [String]) -> [Entry] {
        if isNull(node) { return [] }
        guard case .mapping(let mapping) = node else {
            expected("a mapping", node, path)
            return []
        }
        var out: [Entry] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let k) = keyNode else {
                report(.wrongType, at: keyNode, path, "keys must be plain words, got \(describe(keyNode))")
                continue
            }
            let key = k.string
            let keyPath = join(path, key)
            guard known.contains(key) else {
                var message = "unknown key"
                if let suggestion = closestKey(to: key, in: known) {
                    message += ", did you mean \(quoted(suggestion))?"
                } else {
                    message += " (known keys: \(known.joined(separator: ", ")))"
                }
                report(.unknownKey, at: keyNode, keyPath, message)
                continue
            }
            visitedKeyPaths.append(keyPath)
            out.append(Entry(key: key, keyNode: keyNode, value: value, path: keyPath))
        }
        return out
    }

    /// The items of a list; a null value reads as an empty list.
    mutating func items(of node: Node, _ path: String) -> [(node: Node, path: String)] {
        if isNull(node) { return [] }
        guard case .sequence(let sequence) = node else {
            expected("a list", node, path)
            return []
        }
        return sequence.enumerated().map { ($1, "\(path)[\($0)]") }
    }

    func isNull(_ node: Node) -> Bool {
        if case .scalar(let s) = node, tagName(node) == .null, s.style == .plain || s.style == .any { return true }
        return false
    }

    // MARK: - Scalars

    mutating func int(_ node: Node, _ path: String, min: Int, max: Int) -> Int? {
        let wording = max == .max ? "an integer ≥ \(min)" : "an integer between \(min) and \(max)"
        guard case .scalar = node, tagName(node) == .int, let value = node.int else {
            expected(wording, node, path)
            return nil
        }
        guard value >= min, value <= max else {
            report(.outOfRange, at: node, path, "expected \(wording), got \(describe(node))")
            return nil
        }
        return value
    }

    mutating func double(_ node: Node, _ path: String, _ range: NumberRange) -> Double? {
        guard case .scalar = node, tagName(node) == .int || tagName(node) == .float,
              let value = node.float ?? node.int.map(Double.init) else {
            expected(range.wording, node, path)
            return nil
        }
        guard range.contains(value) else {
            report(.outOfRange, at: node, path, "expected \(range.wording), got \(describe(node))")
            return nil
        }
        return value
    }

    mutating func bool(_ node: Node, _ path: String) -> Bool? {
        guard case .scalar = node, tagName(node) == .bool, let value = node.bool else {
            expected("true or false", node, path)
            return nil
        }
        return value
    }

    /// Any scalar but null, as written (`7001` reads as `"7001"`).
    mutating func string(_ node: Node, _ path: String, what: String = "a string") -> String? {
        guard case .scalar(let s) = node, !isNull(node) else {
            expected(what, node, path)
            return nil
        }
        return s.string
    }

    /// A duration: a whole number followed by a unit, `s`, `m`, `h` or `d` (`30d`, `12h`, `90s`),
    /// or `0` for none.
    mutating func duration(_ node: Node, _ path: String) -> Duration? {
        let wording = "a duration such as 30d, 12h, 15m or 90s, or 0"
        guard case .scalar(let s) = node, !isNull(node) else {
            expected(wording, node, path)
            return nil
        }
        let text = s.string
        if tagName(node) == .int || text == "0" {
            guard node.int == 0 else {
                report(.invalidValue, at: node, path, "expected \(wording), got \(describe(node)) (add a unit: s, m, h or d)")
                return nil
            }
            return .zero
        }
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        guard let unit = text.last, let factor = units[unit], text.count > 1,
              text.dropLast().allSatisfy(\.isASCII), text.dropLast().allSatisfy(\.isNumber),
              let n = Int64(text.dropLast()) else {
            report(.invalidValue, at: node, path, "expected \(wording), got \(describe(node))")
            return nil
        }
        let (seconds, overflow) = n.multipliedReportingOverflow(by: factor)
        guard !overflow, seconds <= 100 * 365 * 86_400 else {
            report(.outOfRange, at: node, path, "expected at most 100 years, got \(describe(node))")
            return nil
        }
        return .seconds(seconds)
    }

    mutating func choice<E: RawRepresentable<String> & CaseIterable>(_ node: Node, _ path: String, of: E.Type) -> E? {
        let allowed = E.allCases.map(\.rawValue)
        let wording = "one of " + allowed.joined(separator: ", ")
        guard case .scalar(let s) = node, !isNull(node) else {
            expected(wording, node, path)
            return nil
        }
        guard let value = E(rawValue: s.string) else {
            var message = "expected \(wording), got \(describe(node))"
            if let suggestion = closestKey(to: s.string, in: allowed) { message += " (did you mean \(quoted(suggestion))?)" }
            report(.invalidValue, at: node, path, message)
            return nil
        }
        return value
    }

    /// A non-empty list of globs (`entry`'s value), nil (with problems recorded) when it is
    /// empty or any glob is invalid; `example` shows a valid list in the message.
    mutating func globList(_ entry: Entry, what: String, example: String) -> [Glob]? {
        let list = items(of: entry.value, entry.path)
        let read = list.compactMap { glob($0.node, $0.path) }
        if list.isEmpty, entry.value.mapping == nil {
            report(.invalidValue, at: entry.value, entry.path, "\(what) needs at least one glob, e.g. \(example)")
        }
        return read.count == list.count && !list.isEmpty ? read : nil
    }

    mutating func glob(_ node: Node, _ path: String) -> Glob? {
        guard let pattern = string(node, path, what: "a glob pattern") else { return nil }
        do {
            return try Glob(pattern)
        } catch {
            report(.invalidValue, at: node, path, "invalid glob \(quoted(pattern)): \(error)")
            return nil
        }
    }

    /// A PCA monitor's `components`: `auto`, a count ≥ 1, or an explained-variance fraction in (0, 1).
    mutating func pcaComponents(_ node: Node, _ path: String) -> FieldValue? {
        let wording = "auto, a number of components ≥ 1, or an explained-variance fraction in (0, 1)"
        guard case .scalar(let s) = node, !isNull(node) else {
            report(.wrongType, at: node, path, "expected \(wording), got \(describe(node))")
            return nil
        }
        if s.string == "auto" { return .text("auto") }
        if tagName(node) == .int, let n = node.int {
            guard n >= 1 else {
                report(.outOfRange, at: node, path, "expected \(wording), got \(describe(node))")
                return nil
            }
            return .int(n)
        }
        if tagName(node) == .float, let f = node.float {
            guard f > 0, f < 1 else {
                report(.outOfRange, at: node, path, "expected \(wording), got \(describe(node))")
                return nil
            }
            return .double(f)
        }
        report(tagName(node) == .str ? .invalidValue : .wrongType, at: node, path, "expected \(wording), got \(describe(node))")
        return nil
    }

    /// A period `{from: RFC 3339, to: RFC 3339}` with `from` before `to`; `off` (or nothing) for none.
    mutating func period(_ node: Node, _ path: String) -> FieldValue? {
        if isNull(node) { return .text("off") }
        if case .scalar(let s) = node, s.string == "off" { return .text("off") }
        guard node.mapping != nil else {
            report(.wrongType, at: node, path, "expected a period {from: RFC 3339 time, to: RFC 3339 time}, or off, got \(describe(node))")
            return nil
        }
        var from: Int64?, to: Int64?
        var ok = true
        for e in entries(of: node, path, known: ["from", "to"]) {
            guard let text = string(e.value, e.path, what: "an RFC 3339 time") else {
                ok = false
                continue
            }
            guard let t = Timestamp.parse(text) else {
                report(.invalidValue, at: e.value, e.path,
                       "expected an RFC 3339 time such as 2024-11-25T02:00:00Z, got \(describe(e.value))")
                ok = false
                continue
            }
            if e.key == "from" { from = t } else { to = t }
        }
        guard ok else { return nil }
        guard let from, let to else {
            report(.missingKey, at: node, join(path, from == nil ? "from" : "to"), "a baseline period needs both from and to")
            return nil
        }
        guard from < to else {
            report(.inconsistent, at: node, path, "the baseline period must end after it starts")
            return nil
        }
        return .period(from, to)
    }

    /// `{zscore: 1, spectral_residual: 0.5, …}`: a weight ≥ 0 per detector.
    mutating func weights(_ node: Node, _ path: String) -> [DetectorKind: Double]? {
        let kinds = DetectorKind.combinable
        var out: [DetectorKind: Double] = [:]
        var ok = true
        if !isNull(node), node.mapping == nil {
            expected("a mapping of detector names to weights", node, path)
            return nil
        }
        for e in entries(of: node, path, known: kinds.map(\.rawValue)) {
            guard let kind = DetectorKind(rawValue: e.key), let w = double(e.value, e.path, .nonNegative) else {
                ok = false
                continue
            }
            out[kind] = w
        }
        return ok ? out : nil
    }
}

/// The resolved tag of `node` (`Tag.name` is internal to Yams; its raw value is not).
func tagName(_ node: Node) -> Tag.Name {
    Tag.Name(rawValue: node.tag.rawValue)
}

/// Joins a key path and a key: `detectors` + `zscore` → `detectors.zscore`.
func join(_ path: String, _ key: String) -> String {
    path.isEmpty ? key : path + "." + key
}

/// `"abc"`, with quotes and backslashes escaped.
func quoted(_ s: String) -> String {
    "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

/// The known key closest to `key` by edit distance (a swap of neighbours counts as one edit),
/// if it is within 2 edits, or 1 edit for keys of up to 4 characters.
func closestKey(to key: String, in known: [String]) -> String? {
    var best: (key: String, distance: Int)?
    for candidate in known {
        let d = editDistance(key, candidate)
        let limit = min(key.count, candidate.count) <= 4 ? 1 : 2
        if d <= limit, best == nil || d < best!.distance {
            best = (candidate, d)
        }
    }
    return best?.key
}

/// Optimal-string-alignment distance between `a` and `b` in characters: insertions, deletions,
/// substitutions and swaps of adjacent characters each cost one.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { d[i][0] = i }
    for j in 0...b.count { d[0][j] = j }
    for i in 1...a.count {
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
            }
        }
    }
    return d[a.count][b.count]
}
