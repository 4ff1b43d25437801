// SPDX-License-Identifier: GPL-3.0-or-later
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A problem in a relation's expression, at a 1-based line and column of the expression text
/// (the config loader turns them into the file's line and column).
public struct RelationExpressionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based line within the expression text.
    public var line: Int
    /// 1-based column within that line, in Unicode scalars.
    public var column: Int
    /// What is wrong, e.g. "unknown function `dr`; expected der, lag, abs, sqrt, exp, log, min, max".
    public var message: String

    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "\(line):\(column): \(message)" }
}

/// The parsed form of a relation between an asset's sensors, e.g.
/// `inflow - outflow - area * der(level)`: the residual, which is near 0 while the relation holds.
///
/// Syntax: numbers, sensor names (identifiers, or any name between backquotes: `` `flow-in` ``),
/// parameter names, `+ - * / ^`, parentheses, and the functions `der(x)` (rate of change per
/// second between rounds), `lag(x, n)` (x of n rounds ago, n a whole number 1…3600), `abs`,
/// `sqrt`, `exp`, `log`, `min(a, b)`, `max(a, b)`. An identifier declared as a parameter is a
/// parameter; every other identifier is a sensor of the asset (`<asset>/<name>`).
///
/// The expression's top-level additive terms (`inflow`, `- outflow`, `- area * der(level)`) are
/// kept apart: the residual is their sum, and an alert says which of them moved. A fitted
/// parameter must be a factor of its term (`- area * der(level)`, `k * x / 2`), so the residual is
/// linear in the fitted parameters and recursive least squares can fit them; a given parameter may
/// appear anywhere (it is a constant).
///
/// Threading: a value, built once at load (`parse`), off the sample path.
public struct RelationExpression: Sendable, Equatable {
    /// One top-level term: `sign × [parameter] × program`.
    public struct Term: Sendable, Equatable {
        /// The term as written (with its sign when negative: `-area*der(level)`), for alerts.
        public var text: String
        /// +1 or −1.
        public var sign: Double
        /// Index of the fitted parameter that multiplies the term (in `fitted`), nil for none.
        public var fittedParameter: Int?
        /// The rest of the term, parameter-free (given parameters are constants).
        public var program: RelationProgram
    }

    /// The source text.
    public var source: String
    /// The terms, in order.
    public var terms: [Term]
    /// Sensor names (relative to the asset), in order of first use.
    public var sensors: [String]
    /// Fitted parameter names, in order of declaration.
    public var fitted: [String]

    /// Functions the syntax knows, with their argument counts.
    static let functions: [(name: String, arguments: Int)] = [
        ("der", 1), ("lag", 2), ("abs", 1), ("sqrt", 1), ("exp", 1), ("log", 1), ("min", 2), ("max", 2),
    ]
    /// Longest lag in rounds.
    public static let maximumLag = 3600

    /// Whether `c` may start an identifier (a sensor or parameter name): a letter or `_`.
    public static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool { Parser.isIdentifierStart(c) }
    /// Whether `c` may continue an identifier: a letter, a digit, `_` or `.`.
    public static func isIdentifierPart(_ c: Unicode.Scalar) -> Bool { Parser.isIdentifierPart(c) }

    /// Parses and validates `source`. `given` are parameters with values, `fitted` parameters to
    /// fit (by name, in that order); every other identifier is a sensor. Throws the first problem
    /// found, with its line and column in `source`.
    public static func parse(_ source: String, given: [String: Double] = [:], fitted: [String] = []) throws(RelationExpressionError)
        -> RelationExpression {
        var parser = Parser(source: source, given: given, fitted: fitted)
        let ast = try parser.parseAll()
        var split: [(sign: Double, node: Node)] = []
        flatten(ast, sign: 1, into: &split)
        var sensors: [String] = []
        collectSensors(ast, into: &sensors)
        var terms: [Term] = []
        var used = Set<Int>()
        for (sign, node) in split {
            let parameter: Int?, rest: Node
            do {
                (parameter, rest) = try linear(node, names: fitted)
            } catch let e {
                throw parser.error(e.column, e.message)
            }
            if let parameter { used.insert(parameter) }
            var builder = RelationProgram.Builder(sensors: sensors)
            builder.emit(rest)
            let text = (sign < 0 ? "-" : "") + parser.text(of: node)
            terms.append(Term(text: text, sign: sign, fittedParameter: parameter, program: builder.program))
        }
        if sensors.isEmpty {
            throw RelationExpressionError(line: 1, column: 1, message: "the relation names no sensor")
        }
        for (k, name) in fitted.enumerated() where !used.contains(k) {
            throw RelationExpressionError(line: 1, column: 1, message: "fitted parameter `\(name)` is not used in the expression")
        }
        return RelationExpression(source: source, terms: terms, sensors: sensors, fitted: fitted)
    }

    // MARK: Syntax tree (load time only)

    indirect enum Node: Sendable, Equatable {
        case number(Double, Range<Int>)
        case sensor(String, Range<Int>)
        case given(Double, Range<Int>)
        case fitted(Int, Range<Int>)
        case unary(Character, Node, Range<Int>)
        case binary(Character, Node, Node, Range<Int>)
        case call(String, [Node], lag: Int, Range<Int>)

        var span: Range<Int> {
            switch self {
            case .number(_, let r), .sensor(_, let r), .given(_, let r), .fitted(_, let r), .unary(_, _, let r),
                 .binary(_, _, _, let r), .call(_, _, _, let r): r
            }
        }

        var fittedParameters: [(Int, Range<Int>)] {
            switch self {
            case .fitted(let k, let r): [(k, r)]
            case .number, .sensor, .given: []
            case .unary(_, let a, _): a.fittedParameters
            case .binary(_, let a, let b, _): a.fittedParameters + b.fittedParameters
            case .call(_, let args, _, _): args.flatMap(\.fittedParameters)
            }
        }
    }

    private static func flatten(_ node: Node, sign: Double, into out: inout [(sign: Double, node: Node)]) {
        switch node {
        case .binary("+", let a, let b, _):
            flatten(a, sign: sign, into: &out)
            flatten(b, sign: sign, into: &out)
        case .binary("-", let a, let b, _):
            flatten(a, sign: sign, into: &out)
            flatten(b, sign: -sign, into: &out)
        case .unary("-", let a, _):
            flatten(a, sign: -sign, into: &out)
        default:
            out.append((sign, node))
        }
    }

    private static func collectSensors(_ node: Node, into out: inout [String]) {
        switch node {
        case .sensor(let name, _): if !out.contains(name) { out.append(name) }
        case .unary(_, let a, _): collectSensors(a, into: &out)
        case .binary(_, let a, let b, _):
            collectSensors(a, into: &out)
            collectSensors(b, into: &out)
        case .call(_, let args, _, _): for a in args { collectSensors(a, into: &out) }
        default: break
        }
    }

    /// Splits a term into its fitted-parameter factor (if any) and the parameter-free rest.
    private static func linear(_ node: Node, names: [String]) throws(RelationExpressionError) -> (Int?, Node) {
        let found = node.fittedParameters
        guard let first = found.first else { return (nil, node) }
        func nonlinear(_ r: Range<Int>, _ name: Int) -> RelationExpressionError {
            RelationExpressionError(line: 0, column: r.lowerBound,
                                    message: "fitted parameter `\(names[name])` must be a factor of its term (e.g. `- area * der(level)`): the relation must be linear in it")
        }
        if found.count > 1 {
            throw nonlinear(found[1].1, found[1].0)
        }
        // Walk the product chain: the parameter must be reached through `*` (either side) or the
        // numerator of `/`, and nothing else.
        func strip(_ n: Node) -> Node? {
            switch n {
            case .fitted: return .number(1, n.span)
            case .binary("*", let a, let b, let r):
                if !a.fittedParameters.isEmpty { return strip(a).map { .binary("*", $0, b, r) } }
                return strip(b).map { .binary("*", a, $0, r) }
            case .binary("/", let a, let b, let r) where b.fittedParameters.isEmpty:
                return strip(a).map { .binary("/", $0, b, r) }
            default: return nil
            }
        }
        guard let rest = strip(node) else { throw nonlinear(first.1, first.0) }
        return (first.0, rest)
    }

    // MARK: Parser

    struct Parser {
        let scalars: [Unicode.Scalar]
        let given: [String: Double]
        let fitted: [String]
        var at = 0

        init(source: String, given: [String: Double], fitted: [String]) {
            scalars = Array(source.unicodeScalars)
            self.given = given
            self.fitted = fitted
        }

        func text(of node: Node) -> String {
            var s = ""
            for i in node.span where !scalars[i].properties.isWhitespace { s.unicodeScalars.append(scalars[i]) }
            return s
        }

        func position(_ offset: Int) -> (line: Int, column: Int) {
            var line = 1, column = 1
            for i in 0..<min(offset, scalars.count) {
                if scalars[i] == "\n" { line += 1; column = 1 } else { column += 1 }
            }
            return (line, column)
        }

        func error(_ offset: Int, _ message: String) -> RelationExpressionError {
            let p = position(offset)
            return RelationExpressionError(line: p.line, column: p.column, message: message)
        }

        mutating func skipSpace() {
            while at < scalars.count, scalars[at].properties.isWhitespace { at += 1 }
        }

        func peek() -> Unicode.Scalar? { at < scalars.count ? scalars[at] : nil }

        func describeNext() -> String {
            guard let c = peek() else { return "the end of the expression" }
            return "`\(c)`"
        }

        mutating func parseAll() throws(RelationExpressionError) -> Node {
            skipSpace()
            guard peek() != nil else { throw error(0, "the expression is empty") }
            let node: Node
            do {
                node = try parseSum()
            } catch let e {
                throw e.line == 0 ? error(e.column, e.message) : e
            }
            skipSpace()
            if at < scalars.count { throw error(at, "unexpected \(describeNext()) after a complete expression") }
            return node
        }

        mutating func parseSum() throws(RelationExpressionError) -> Node {
            var left = try parseProduct()
            while true {
                skipSpace()
                guard let c = peek(), c == "+" || c == "-" else { return left }
                at += 1
                let right = try parseProduct()
                left = .binary(Character(c), left, right, left.span.lowerBound..<right.span.upperBound)
            }
        }

        mutating func parseProduct() throws(RelationExpressionError) -> Node {
            var left = try parseUnary()
            while true {
                skipSpace()
                guard let c = peek(), c == "*" || c == "/" else { return left }
                at += 1
                let right = try parseUnary()
                left = .binary(Character(c), left, right, left.span.lowerBound..<right.span.upperBound)
            }
        }

        mutating func parseUnary() throws(RelationExpressionError) -> Node {
            skipSpace()
            if let c = peek(), c == "-" || c == "+" {
                let start = at
                at += 1
                let operand = try parseUnary()
                return c == "-" ? .unary("-", operand, start..<operand.span.upperBound) : operand
            }
            return try parsePower()
        }

        mutating func parsePower() throws(RelationExpressionError) -> Node {
            let base = try parsePrimary()
            skipSpace()
            guard peek() == "^" else { return base }
            at += 1
            let exponent = try parseUnary()
            return .binary("^", base, exponent, base.span.lowerBound..<exponent.span.upperBound)
        }

        mutating func parsePrimary() throws(RelationExpressionError) -> Node {
            skipSpace()
            let start = at
            guard let c = peek() else { throw error(at, "expected a number, a sensor or `(`, got the end of the expression") }
            if c == "(" {
                at += 1
                let inner = try parseSum()
                skipSpace()
                guard peek() == ")" else { throw error(at, "expected `)` to close the `(` at column \(position(start).column), got \(describeNext())") }
                at += 1
                return inner
            }
            if c == "`" {
                at += 1
                var name = ""
                while let d = peek(), d != "`", d != "\n" {
                    name.unicodeScalars.append(d)
                    at += 1
                }
                guard peek() == "`" else { throw error(start, "unterminated `quoted sensor name`") }
                at += 1
                guard !name.isEmpty else { throw error(start, "empty sensor name ``") }
                return .sensor(name, start..<at)
            }
            if c.properties.numericType != nil && ("0"..."9").contains(c) || c == "." {
                return try parseNumber()
            }
            guard Self.isIdentifierStart(c) else {
                throw error(at, "expected a number, a sensor or `(`, got `\(c)`")
            }
            var name = ""
            while let d = peek(), Self.isIdentifierPart(d) {
                name.unicodeScalars.append(d)
                at += 1
            }
            let nameEnd = at
            skipSpace()
            if peek() == "(" {
                return try parseCall(name, start: start)
            }
            at = nameEnd
            if let value = given[name] { return .given(value, start..<at) }
            if let k = fitted.firstIndex(of: name) { return .fitted(k, start..<at) }
            if RelationExpression.functions.contains(where: { $0.name == name }) {
                throw error(start, "`\(name)` is a function: write \(name)(…)")
            }
            return .sensor(name, start..<at)
        }

        mutating func parseNumber() throws(RelationExpressionError) -> Node {
            let start = at
            var text = ""
            func digits() {
                while let d = peek(), ("0"..."9").contains(d) {
                    text.unicodeScalars.append(d)
                    at += 1
                }
            }
            digits()
            if peek() == "." {
                text += "."
                at += 1
                digits()
            }
            if let e = peek(), e == "e" || e == "E" {
                let save = at
                var exp = "e"
                at += 1
                if let s = peek(), s == "+" || s == "-" { exp.unicodeScalars.append(s); at += 1 }
                if let d = peek(), ("0"..."9").contains(d) {
                    text += exp
                    digits()
                } else {
                    at = save
                }
            }
            guard let value = Double(text), value.isFinite else { throw error(start, "malformed number `\(text)`") }
            return .number(value, start..<at)
        }

        mutating func parseCall(_ name: String, start: Int) throws(RelationExpressionError) -> Node {
            guard let f = RelationExpression.functions.first(where: { $0.name == name }) else {
                if given[name] != nil || fitted.contains(name) {
                    throw error(start, "`\(name)` is a parameter, not a function (write `\(name) * (…)`)")
                }
                let known = RelationExpression.functions.map(\.name).joined(separator: ", ")
                throw error(start, "unknown function `\(name)`; expected one of \(known)")
            }
            at += 1  // (
            var args: [Node] = []
            skipSpace()
            if peek() != ")" {
                while true {
                    args.append(try parseSum())
                    skipSpace()
                    if peek() == "," { at += 1; continue }
                    break
                }
            }
            skipSpace()
            guard peek() == ")" else { throw error(at, "expected `,` or `)` in the call of \(name), got \(describeNext())") }
            at += 1
            let span = start..<at
            guard args.count == f.arguments else {
                throw error(start, "\(name) takes \(f.arguments) argument\(f.arguments == 1 ? "" : "s"), got \(args.count)")
            }
            var lag = 0
            if name == "lag" {
                guard case .number(let n, let r) = args[1], n == n.rounded(), n >= 1, n <= Double(RelationExpression.maximumLag) else {
                    throw error(args[1].span.lowerBound,
                                "the lag must be a whole number of rounds in 1…\(RelationExpression.maximumLag)")
                }
                _ = r
                lag = Int(n)
                args.removeLast()
            }
            if name == "der" || name == "lag", let p = args[0].fittedParameters.first {
                throw error(p.1.lowerBound, "a fitted parameter cannot be inside \(name)(…): move it out as a factor")
            }
            return .call(name, args, lag: lag, span)
        }

        static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_"
        }

        static func isIdentifierPart(_ c: Unicode.Scalar) -> Bool {
            isIdentifierStart(c) || ("0"..."9").contains(c) || c == "."
        }
    }
}

/// A compiled, parameter-free expression: postfix instructions over the current round's sensor
/// values, evaluated on a fixed stack. `der` and `lag` keep their history in a state buffer the
/// owner provides, so evaluation neither allocates nor locks.
///
/// Threading: a value; `evaluate` is called by the owner of the state buffer.
public struct RelationProgram: Sendable, Equatable {
    enum Instruction: Sendable, Equatable {
        case constant(Double)
        case sensor(Int)
        case negate, add, subtract, multiply, divide, power
        case abs, sqrt, exp, log, min, max
        /// Rate of change per second; state: previous value, previous time (seconds), seen flag.
        case der(state: Int)
        /// The value `rounds` rounds ago; state: a ring of `rounds` values, then its count and position.
        case lag(state: Int, rounds: Int)
    }

    var instructions: [Instruction] = []
    /// Stack depth `evaluate` needs.
    public private(set) var depth = 0
    /// Doubles of state the program's `der` and `lag` keep.
    public private(set) var stateCount = 0

    struct Builder {
        let sensors: [String]
        var program = RelationProgram()
        var current = 0

        init(sensors: [String]) { self.sensors = sensors }

        mutating func push(_ i: Instruction, _ delta: Int) {
            program.instructions.append(i)
            current += delta
            program.depth = Swift.max(program.depth, current)
        }

        mutating func emit(_ node: RelationExpression.Node) {
            switch node {
            case .number(let v, _), .given(let v, _): push(.constant(v), 1)
            case .fitted: push(.constant(1), 1)  // stripped before compiling; never reached
            case .sensor(let name, _): push(.sensor(sensors.firstIndex(of: name)!), 1)
            case .unary(_, let a, _):
                emit(a)
                push(.negate, 0)
            case .binary(let op, let a, let b, _):
                emit(a)
                emit(b)
                switch op {
                case "+": push(.add, -1)
                case "-": push(.subtract, -1)
                case "*": push(.multiply, -1)
                case "/": push(.divide, -1)
                default: push(.power, -1)
                }
            case .call(let name, let args, let lag, _):
                for a in args { emit(a) }
                switch name {
                case "der":
                    push(.der(state: program.stateCount), 0)
                    program.stateCount += 3
                case "lag":
                    push(.lag(state: program.stateCount, rounds: lag), 0)
                    program.stateCount += lag + 2
                case "abs": push(.abs, 0)
                case "sqrt": push(.sqrt, 0)
                case "exp": push(.exp, 0)
                case "log": push(.log, 0)
                case "min": push(.min, -1)
                default: push(.max, -1)
                }
            }
        }
    }

    /// Fresh state for `evaluate` (NaN history: `der` and `lag` give NaN until they have it).
    public func initialState(into state: UnsafeMutablePointer<Double>) {
        for i in instructions {
            switch i {
            case .der(let s):
                state[s] = 0; state[s + 1] = 0; state[s + 2] = 0
            case .lag(let s, let n):
                for k in 0..<n { state[s + k] = .nan }
                state[s + n] = 0; state[s + n + 1] = 0
            default: break
            }
        }
    }

    /// The value for the round at `seconds` with sensor values `values`; advances the `der` and
    /// `lag` history in `state`. `stack` holds at least `depth` doubles.
    @inline(__always)
    public func evaluate(values: UnsafePointer<Double>, seconds: Double, state: UnsafeMutablePointer<Double>,
                         stack: UnsafeMutablePointer<Double>) -> Double {
        instructions.withUnsafeBufferPointer { ins in
        var top = -1
        for j in 0..<ins.count {
            let i = ins[j]
            switch i {
            case .constant(let v): top += 1; stack[top] = v
            case .sensor(let k): top += 1; stack[top] = values[k]
            case .negate: stack[top] = -stack[top]
            case .add: top -= 1; stack[top] += stack[top + 1]
            case .subtract: top -= 1; stack[top] -= stack[top + 1]
            case .multiply: top -= 1; stack[top] *= stack[top + 1]
            case .divide: top -= 1; stack[top] /= stack[top + 1]
            case .power: top -= 1; stack[top] = Foundation_pow(stack[top], stack[top + 1])
            case .abs: stack[top] = Swift.abs(stack[top])
            case .sqrt: stack[top] = stack[top].squareRoot()
            case .exp: stack[top] = Foundation_exp(stack[top])
            case .log: stack[top] = Foundation_log(stack[top])
            case .min: top -= 1; stack[top] = Swift.min(stack[top], stack[top + 1])
            case .max: top -= 1; stack[top] = Swift.max(stack[top], stack[top + 1])
            case .der(let s):
                let x = stack[top]
                let dt = seconds - state[s + 1]
                stack[top] = state[s + 2] != 0 && dt > 0 ? (x - state[s]) / dt : .nan
                if x.isFinite {
                    state[s] = x
                    state[s + 1] = seconds
                    state[s + 2] = 1
                }
            case .lag(let s, let n):
                let x = stack[top]
                let count = Int(state[s + n]), next = Int(state[s + n + 1])
                // The ring holds the last n values; the slot about to be overwritten is n rounds old.
                stack[top] = count >= n ? state[s + next] : .nan
                state[s + next] = x
                state[s + n + 1] = Double(next + 1 == n ? 0 : next + 1)
                state[s + n] = Double(Swift.min(count + 1, n))
            }
        }
        return stack[0]
        }
    }
}

@inline(__always) private func Foundation_pow(_ a: Double, _ b: Double) -> Double { pow(a, b) }
@inline(__always) private func Foundation_exp(_ a: Double) -> Double { exp(a) }
@inline(__always) private func Foundation_log(_ a: Double) -> Double { log(a) }
