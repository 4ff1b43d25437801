// SPDX-License-Identifier: GPL-3.0-or-later

/// A compiled sensor-name pattern, as used by `sensors[].match` and `assets[].sensors`.
///
/// Syntax (sensor ids are `/`-separated paths such as `plant1/pump7/vibration`):
/// - `*` matches any run of characters within one path segment (never a `/`), including none;
/// - `**` matches any run of characters across segments (`/` included); written as a whole
///   segment followed by `/` (`plant1/**/vibration`, `**/vibration`) it matches zero or more
///   whole segments, so `plant1/**/vibration` also matches `plant1/vibration`;
/// - `?` matches exactly one character other than `/`;
/// - `[abc]`, `[a-z]`, `[!abc]` (or `[^abc]`) match one character of (or not of) a class;
///   a class never matches `/`;
/// - `\` makes the next character literal (`\*`, `\[`).
///
/// Matching walks the name's Unicode scalars once with a bit-set automaton over the compiled
/// pattern: linear time, no backtracking and no allocation.
/// Threading: an immutable value, safe to share between threads.
public struct Glob: Sendable, Hashable, CustomStringConvertible {
    /// The pattern as written.
    public let pattern: String
    private let tokens: [Token]
    private let classes: [ClassItem]

    /// Most elements a pattern may have (each literal character, wildcard or class is one).
    public static let maximumElements = 127

    /// Compiles `pattern`, throwing a `GlobError` that says what is wrong and where.
    public init(_ pattern: String) throws(GlobError) {
        self.pattern = pattern
        var tokens: [Token] = []
        var classes: [ClassItem] = []
        let scalars = Array(pattern.unicodeScalars)
        guard !scalars.isEmpty else { throw GlobError(.empty, offset: 0) }
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            switch c {
            case "*":
                var run = 1
                while i + run < scalars.count, scalars[i + run] == "*" { run += 1 }
                guard run <= 2 else { throw GlobError(.tooManyStars, offset: i) }
                if run == 1 {
                    tokens.append(.star)
                    i += 1
                } else {
                    let startsSegment = i == 0 || scalars[i - 1] == "/"
                    let followedBySlash = i + 2 < scalars.count && scalars[i + 2] == "/"
                    if startsSegment && followedBySlash {
                        // `**/`: either nothing, or any run followed by `/`.
                        tokens += [.skippable, .globstar, .literal("/")]
                        i += 3
                    } else {
                        tokens.append(.globstar)
                        i += 2
                    }
                }
            case "?":
                tokens.append(.one)
                i += 1
            case "[":
                let open = i
                i += 1
                var negated = false
                if i < scalars.count, scalars[i] == "!" || scalars[i] == "^" {
                    negated = true
                    i += 1
                }
                let first = classes.count
                var closed = false
                while i < scalars.count {
                    var low = scalars[i]
                    if low == "]" && classes.count > first {
                        closed = true
                        i += 1
                        break
                    }
                    if low == "\\" {
                        i += 1
                        guard i < scalars.count else { throw GlobError(.trailingEscape, offset: i - 1) }
                        low = scalars[i]
                    }
                    if low == "/" { throw GlobError(.slashInClass, offset: i) }
                    var high = low
                    if i + 2 < scalars.count, scalars[i + 1] == "-", scalars[i + 2] != "]" {
                        var h = i + 2
                        if scalars[h] == "\\" {
                            h += 1
                            guard h < scalars.count else { throw GlobError(.trailingEscape, offset: h - 1) }
                        }
                        high = scalars[h]
                        guard high.value >= low.value else { throw GlobError(.reversedRange, offset: i) }
                        i = h
                    }
                    classes.append(ClassItem(low: low.value, high: high.value))
                    i += 1
                }
                guard closed else { throw GlobError(.unterminatedClass, offset: open) }
                tokens.append(.oneOf(first: first, count: classes.count - first, negated: negated))
            case "\\":
                guard i + 1 < scalars.count else { throw GlobError(.trailingEscape, offset: i) }
                tokens.append(.literal(scalars[i + 1]))
                i += 2
            default:
                tokens.append(.literal(c))
                i += 1
            }
            guard tokens.count <= Self.maximumElements else { throw GlobError(.tooLong, offset: i) }
        }
        self.tokens = tokens
        self.classes = classes
    }

    /// Whether `name` matches the whole pattern.
    public func matches(_ name: String) -> Bool {
        let accept = tokens.count
        var states = closure(of: StateSet(bit: 0))
        for c in name.unicodeScalars {
            var next = StateSet()
            var rest = states
            while let i = rest.popFirst(), i < accept {
                switch tokens[i] {
                case .literal(let l):
                    if c == l { next.insert(i + 1) }
                case .one:
                    if c != "/" { next.insert(i + 1) }
                case .oneOf(let first, let count, let negated):
                    if c != "/" && classMatches(c, first: first, count: count) != negated { next.insert(i + 1) }
                case .star:
                    if c != "/" { next.insert(i) }
                case .globstar:
                    next.insert(i)
                case .skippable:
                    break
                }
            }
            if next.isEmpty { return false }
            states = closure(of: next)
        }
        return states.contains(accept)
    }

    /// The pattern as written.
    public var description: String { pattern }

    /// Two globs are equal when their patterns are.
    public static func == (a: Glob, b: Glob) -> Bool { a.pattern == b.pattern }

    /// Hashes the pattern.
    public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }

    // MARK: - Automaton

    private enum Token: Sendable {
        case literal(Unicode.Scalar)
        case one
        case oneOf(first: Int, count: Int, negated: Bool)
        /// `*`: any run without `/`.
        case star
        /// `**` inside a segment: any run.
        case globstar
        /// Starts `**/` written as whole segments (followed by `.globstar`, `/`): matches nothing
        /// itself, and lets the automaton skip the three tokens so no segment is matched.
        case skippable
    }

    private struct ClassItem: Sendable {
        var low: UInt32
        var high: UInt32
    }

    private func classMatches(_ c: Unicode.Scalar, first: Int, count: Int) -> Bool {
        for item in classes[first..<(first + count)] where item.low <= c.value && c.value <= item.high {
            return true
        }
        return false
    }

    /// Adds the states reachable without consuming a character (every wildcard may match nothing).
    private func closure(of set: StateSet) -> StateSet {
        var set = set
        for i in 0..<tokens.count where set.contains(i) {
            switch tokens[i] {
            case .star, .globstar: set.insert(i + 1)
            case .skippable:
                set.insert(i + 1)
                set.insert(i + 3)
            default: break
            }
        }
        return set
    }

    /// States 0...128 of the automaton (token positions plus the accepting one).
    private struct StateSet {
        private var low: UInt64 = 0
        private var high: UInt64 = 0

        init() {}
        init(bit: Int) { insert(bit) }

        var isEmpty: Bool { low == 0 && high == 0 }

        func contains(_ i: Int) -> Bool {
            i < 64 ? low & (1 << UInt64(i)) != 0 : high & (1 << UInt64(i - 64)) != 0
        }

        mutating func insert(_ i: Int) {
            if i < 64 { low |= 1 << UInt64(i) } else { high |= 1 << UInt64(i - 64) }
        }

        mutating func popFirst() -> Int? {
            if low != 0 {
                let i = low.trailingZeroBitCount
                low &= low - 1
                return i
            }
            if high != 0 {
                let i = high.trailingZeroBitCount
                high &= high - 1
                return 64 + i
            }
            return nil
        }
    }
}

/// Why a pattern is not a valid `Glob`.
public struct GlobError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong; a struct so new cases can be added without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: Sendable, Hashable {
            case empty, tooManyStars, unterminatedClass, reversedRange, trailingEscape, slashInClass, tooLong
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The pattern is the empty string.
        public static let empty = Code(.empty)
        /// Three or more `*` in a row.
        public static let tooManyStars = Code(.tooManyStars)
        /// A `[` without its `]` (or an empty class `[]`).
        public static let unterminatedClass = Code(.unterminatedClass)
        /// A range such as `[z-a]` whose end comes before its start.
        public static let reversedRange = Code(.reversedRange)
        /// A `\` with nothing after it.
        public static let trailingEscape = Code(.trailingEscape)
        /// A `/` inside a class, which could never match.
        public static let slashInClass = Code(.slashInClass)
        /// More than `Glob.maximumElements` elements.
        public static let tooLong = Code(.tooLong)

        /// The code's name, e.g. `unterminatedClass`.
        public var description: String { "\(value)" }

        fileprivate var message: String {
            switch value {
            case .empty: "empty pattern"
            case .tooManyStars: "*** is not a wildcard (use * within a segment or ** across segments)"
            case .unterminatedClass: "unterminated character class (a [ without its ])"
            case .reversedRange: "character range whose end comes before its start"
            case .trailingEscape: "\\ at the end of the pattern escapes nothing"
            case .slashInClass: "a character class cannot match /"
            case .tooLong: "pattern longer than \(Glob.maximumElements) elements"
            }
        }
    }

    /// What is wrong.
    public let code: Code
    /// Offset in Unicode scalars from the start of the pattern where the problem starts.
    public let offset: Int

    /// Makes an error of `code` at `offset` (in Unicode scalars).
    public init(_ code: Code, offset: Int) {
        self.code = code
        self.offset = offset
    }

    /// A sentence for operators, e.g. `unterminated character class (a [ without its ]) at offset 4`.
    public var description: String { "\(code.message) at offset \(offset)" }
}
