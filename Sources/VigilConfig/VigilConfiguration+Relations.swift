// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore
import VigilDetectors
internal import Yams

extension VigilConfiguration {
    /// One entry of `relations`: a relation that must hold between the sensors of every asset
    /// whose name matches `assets`, e.g. a tank's mass balance
    /// `inflow - outflow - area * der(level)`. Its residual is the sensor `<asset>/<name>`, scored
    /// by the detectors that sensor's settings resolve (so `sensors` entries may tune it).
    public struct Relation: Sendable, Equatable {
        /// Which assets it applies to (`assets`: globs over asset names).
        public var assets: [Glob]
        /// The parsed relation (name, expression, fitting).
        public var definition: RelationDefinition
        /// Where the expression is written (line and column of its first character).
        public var line: Int
        public var column: Int

        public init(assets: [Glob], definition: RelationDefinition, line: Int = 0, column: Int = 0) {
            self.assets = assets
            self.definition = definition
            self.line = line
            self.column = column
        }
    }

    /// The relations of asset `name`, in file order. Called once per asset. Thread-safe (pure).
    public func relations(forAsset name: String) -> [RelationDefinition] {
        relations.filter { r in r.assets.contains { $0.matches(name) } }.map(\.definition)
    }
}

extension ConfigKeys {
    static let relation = ["name", "assets", "expression", "parameters", "window", "fit_warmup", "fit_memory"]
}

extension ConfigReader {
    /// `relations`: a list of `{name, assets, expression, parameters, fit_warmup, fit_memory}`.
    /// The expression is parsed here, once: a syntax error, an unknown function, a fitted
    /// parameter used non-linearly, or (for an asset entry whose sensors are all spelled out) a
    /// sensor the asset does not have is reported at its line and column in the file.
    mutating func readRelations(_ section: Entry, assets: [VigilConfiguration.Asset]) -> [VigilConfiguration.Relation] {
        var out: [VigilConfiguration.Relation] = []
        var names: [String: Int] = [:]
        for item in items(of: section.value, section.path) {
            if item.node.mapping == nil {
                report(.wrongType, at: item.node, item.path, "expected a mapping {name, assets, expression, …}, got \(describe(item.node))")
                continue
            }
            let all = entries(of: item.node, item.path, known: ConfigKeys.relation)
            var name: String?
            var globs: [Glob]?
            var expressionNode: (node: Node, path: String, text: String, keyColumn: Int)?
            var given: [String: Double] = [:]
            var fitted: [(name: String, initial: Double)] = []
            var warmup = RelationDefinition.defaultFitWarmup
            var memory = RelationDefinition.defaultFitMemory
            var window = 1
            var parametersOK = true
            for e in all {
                switch e.key {
                case "name":
                    guard let n = string(e.value, e.path, what: "a relation name") else { continue }
                    if n.isEmpty || !n.unicodeScalars.allSatisfy({ RelationExpression.isIdentifierPart($0) || $0 == "-" }) {
                        report(.invalidValue, at: e.value, e.path,
                               "expected a relation name of letters, digits, _, - and . (it names the sensor <asset>/<name>), got \(describe(e.value))")
                    } else if let line = names[n] {
                        report(.duplicate, at: e.value, e.path, "duplicate relation name \(quoted(n)), also at line \(line)")
                    } else {
                        names[n] = e.value.mark?.line ?? 0
                        name = n
                    }
                case "assets":
                    globs = globList(e, what: "a relation", example: "assets: [\"plant1/tank*\"]")
                case "expression":
                    guard let text = string(e.value, e.path, what: "an expression such as \"inflow - outflow - area * der(level)\"") else {
                        continue
                    }
                    expressionNode = (e.value, e.path, text, e.keyNode.mark?.column ?? 1)
                case "parameters":
                    guard case .mapping(let mapping) = e.value else {
                        if !isNull(e.value) {
                            report(.wrongType, at: e.value, e.path, "expected a mapping of parameter names to numbers or fit, got \(describe(e.value))")
                            parametersOK = false
                        }
                        continue
                    }
                    for (keyNode, value) in mapping {
                        guard case .scalar(let k) = keyNode,
                              k.string.unicodeScalars.first.map(RelationExpression.isIdentifierStart) == true,
                              k.string.unicodeScalars.allSatisfy(RelationExpression.isIdentifierPart) else {
                            report(.invalidValue, at: keyNode, e.path, "a parameter name is a word (letters, digits, _), got \(describe(keyNode))")
                            parametersOK = false
                            continue
                        }
                        let p = join(e.path, k.string)
                        if case .scalar(let v) = value, v.string == "fit" {
                            fitted.append((k.string, 0))
                        } else if case .mapping = value {
                            var initial = 0.0
                            var ok = true
                            for f in entries(of: value, p, known: ["fit", "initial"]) {
                                switch f.key {
                                case "fit":
                                    if bool(f.value, f.path) != true {
                                        report(.invalidValue, at: f.value, f.path, "write the value itself for a given parameter (area: 4.2)")
                                        ok = false
                                    }
                                default:
                                    if let d = double(f.value, f.path, NumberRange(lower: -.greatestFiniteMagnitude, lowerInclusive: true, upper: nil, upperInclusive: false)) {
                                        initial = d
                                    } else { ok = false }
                                }
                            }
                            if ok { fitted.append((k.string, initial)) } else { parametersOK = false }
                        } else if let d = double(value, p, NumberRange(lower: -.greatestFiniteMagnitude, lowerInclusive: true, upper: nil, upperInclusive: false)) {
                            given[k.string] = d
                        } else {
                            parametersOK = false
                        }
                    }
                    if fitted.count > RelationDefinition.maximumFitted {
                        report(.outOfRange, at: e.value, e.path, "at most \(RelationDefinition.maximumFitted) fitted parameters, got \(fitted.count)")
                        parametersOK = false
                    }
                case "fit_warmup":
                    if let n = int(e.value, e.path, min: 1, max: 10_000_000) { warmup = n }
                case "window":
                    if let n = int(e.value, e.path, min: 1, max: RelationDefinition.maximumWindow) { window = n }
                case "fit_memory":
                    if let n = int(e.value, e.path, min: 10, max: 1_000_000_000) { memory = n }
                default: break
                }
            }
            for (key, example) in [("name", "name: balance"), ("assets", "assets: [\"plant1/tank*\"]"),
                                   ("expression", "expression: \"inflow - outflow - area * der(level)\"")]
                where !all.contains(where: { $0.key == key }) {
                report(.missingKey, at: item.node, join(item.path, key), "a relation needs its \(key), e.g. \(example)")
            }
            guard let expressionNode, parametersOK else { continue }
            let expression: RelationExpression
            do {
                expression = try RelationExpression.parse(expressionNode.text, given: given, fitted: fitted.map(\.name))
            } catch {
                let (line, column) = position(of: error, in: expressionNode.node, keyColumn: expressionNode.keyColumn)
                report(.invalidValue, line: line, column: column, expressionNode.path, error.message)
                continue
            }
            if expression.sensors.count > RelationDefinition.maximumSensors {
                report(.outOfRange, at: expressionNode.node, expressionNode.path,
                       "a relation names at most \(RelationDefinition.maximumSensors) sensors, got \(expression.sensors.count)")
                continue
            }
            guard let name, let globs else { continue }
            let (line, column) = position(of: RelationExpressionError(line: 1, column: 1, message: ""), in: expressionNode.node, keyColumn: expressionNode.keyColumn)
            // Assets spelled out in full: every sensor the relation names must be one of theirs.
            var unknown = false
            for asset in assets where globs.contains(where: { $0.matches(asset.name) }) {
                guard asset.sensors.allSatisfy({ Self.isLiteral($0.pattern) }) else { continue }
                let members = asset.sensors.map(\.pattern)
                for sensor in expression.sensors where !members.contains(asset.name + "/" + sensor) {
                    let at = Self.offset(of: sensor, in: expression.source)
                    let (l, c) = position(of: RelationExpressionError(line: at.line, column: at.column, message: ""), in: expressionNode.node, keyColumn: expressionNode.keyColumn)
                    let short = members.map { $0.hasPrefix(asset.name + "/") ? String($0.dropFirst(asset.name.count + 1)) : $0 }
                    report(.invalidValue, line: l, column: c, expressionNode.path,
                           "unknown sensor `\(sensor)`: asset \(quoted(asset.name)) has \(short.joined(separator: ", "))"
                               + (given.isEmpty && fitted.isEmpty ? "" : " (and the parameters \((given.keys.sorted() + fitted.map(\.name)).joined(separator: ", ")))"))
                    unknown = true
                }
            }
            if unknown { continue }
            let definition = RelationDefinition(name: name, expression: expression, initial: fitted.map(\.initial),
                                                fitWarmup: warmup, fitMemory: memory, window: window)
            out.append(VigilConfiguration.Relation(assets: globs, definition: definition, line: line, column: column))
        }
        return out
    }

    /// The file position of a position in an expression written at `node`: a plain or quoted
    /// scalar on one line is offset from its mark (past the quote); a literal block (`|`) starts
    /// on the next line, indented two columns past its key (the usual style; a folded block's
    /// lines are joined, so only its first line's positions are exact).
    func position(of error: RelationExpressionError, in node: Node, keyColumn: Int) -> (line: Int, column: Int) {
        let line = node.mark?.line ?? 0
        let column = node.mark?.column ?? 0
        guard case .scalar(let s) = node else { return (line, column) }
        switch s.style {
        case .singleQuoted, .doubleQuoted:
            return error.line == 1 ? (line, column + 1 + error.column - 1) : (line + error.line - 1, error.column)
        case .literal, .folded:
            return (line + error.line, keyColumn + 2 + error.column - 1)
        default:
            return error.line == 1 ? (line, column + error.column - 1) : (line + error.line - 1, error.column)
        }
    }

    /// Whether a glob matches only itself.
    static func isLiteral(_ pattern: String) -> Bool { !pattern.contains { "*?[{\\".contains($0) } }

    /// Line and column of the first use of sensor `name` in `source` (1, 1 when not found).
    static func offset(of name: String, in source: String) -> (line: Int, column: Int) {
        let scalars = Array(source.unicodeScalars)
        let target = Array(name.unicodeScalars)
        var line = 1, column = 1
        var i = 0
        while i < scalars.count {
            let before = i == 0 ? nil : scalars[i - 1]
            if i + target.count <= scalars.count, Array(scalars[i..<(i + target.count)]) == target,
               before.map({ !RelationExpression.isIdentifierPart($0) }) ?? true,
               i + target.count == scalars.count || !RelationExpression.isIdentifierPart(scalars[i + target.count]) {
                return (line, column)
            }
            if scalars[i] == "\n" { line += 1; column = 1 } else { column += 1 }
            i += 1
        }
        return (1, 1)
    }
}
