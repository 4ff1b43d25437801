// SPDX-License-Identifier: GPL-3.0-or-later

// The history endpoint's wire format, shared by the server (`vigild`) and its clients
// (`vigil tail`): one request type, one reply type, one error type.
//
// Request: a JSON object with exactly one of `since_seq` (a non-negative integer: alerts with a
// greater seq) or `since` (integer nanoseconds since the epoch, or an RFC 3339 string: alerts whose
// sample time is at or after it), and optionally `limit` (an integer from 1 to the server's
// `history.max_reply`). Any other key, a repeated key or a value of another type is refused.
//
// Reply: `{"alerts": [<alert>, …], "last_seq": N, "head_seq": N, "more": bool}`, or
// `{"error": "<message>", "code": "<code>"}`.

/// One request to the history endpoint.
///
/// Threading: a value; share it freely.
public struct HistoryRequest: Sendable, Equatable {
    /// Where the requested alerts start.
    public enum Start: Sendable, Equatable {
        /// Alerts with `seq` greater than this (`since_seq`).
        case afterSeq(UInt64)
        /// Alerts whose sample time `ts` is at or after this, nanoseconds (`since`).
        case sinceTimestamp(Int64)
    }

    /// The keys a request may have.
    public static let keys = ["since_seq", "since", "limit"]

    /// Where the alerts start.
    public var start: Start
    /// Most alerts in the reply; nil leaves it to the server (`history.max_reply`).
    public var limit: Int?

    /// A request.
    public init(_ start: Start, limit: Int? = nil) {
        self.start = start
        self.limit = limit
    }

    /// The request's JSON text.
    public var json: String {
        var s: String
        switch start {
        case .afterSeq(let n): s = "{\"since_seq\":\(n)"
        case .sinceTimestamp(let ts): s = "{\"since\":\(ts)"
        }
        if let limit { s += ",\"limit\":\(limit)" }
        return s + "}"
    }

    /// Parses a request strictly: a JSON object with exactly one of `since_seq` and `since`, and
    /// optionally `limit` in 1...`maxLimit`; nothing else. Throws a `HistoryError` whose message
    /// names the offending key and what was expected. Linear in the input, no recursion.
    public init<Bytes: Collection<UInt8>>(parsing bytes: Bytes, maxLimit: Int) throws(HistoryError) {
        let fields = try FlatJSONObject.parse(Array(bytes))
        var start: Start?
        var limit: Int?
        for (key, value) in fields {
            switch key {
            case "since_seq":
                guard case .integer(let negative, let digits) = value, !negative, let n = UInt64(digits) else {
                    throw HistoryError(.wrongType, "since_seq must be a non-negative integer, got \(value.describe)")
                }
                start = .afterSeq(n)
            case "since":
                switch value {
                case .integer(let negative, let digits):
                    guard let n = Int64((negative ? "-" : "") + digits) else {
                        throw HistoryError(.outOfRange, "since must be nanoseconds since the epoch within the 64-bit range, got \(value.describe)")
                    }
                    start = .sinceTimestamp(n)
                case .string(let text):
                    guard Self.looksLikeRFC3339(text), let n = Timestamp.parse(text) else {
                        throw HistoryError(.invalidValue, "since must be an RFC 3339 time such as \"2024-11-25T02:00:00Z\", got \(value.describe)")
                    }
                    start = .sinceTimestamp(n)
                default:
                    throw HistoryError(.wrongType, "since must be integer nanoseconds since the epoch or an RFC 3339 string, got \(value.describe)")
                }
            case "limit":
                guard case .integer(let negative, let digits) = value else {
                    throw HistoryError(.wrongType, "limit must be an integer from 1 to \(maxLimit), got \(value.describe)")
                }
                guard !negative, let n = Int(digits), n >= 1, n <= maxLimit else {
                    throw HistoryError(.outOfRange, "limit must be an integer from 1 to \(maxLimit), got \(value.describe)")
                }
                limit = n
            default:
                throw HistoryError(.unknownKey, "unknown key \(JSONText.string(key)); a request has since_seq or since, and optionally limit")
            }
        }
        if fields.contains(where: { $0.key == "since_seq" }) && fields.contains(where: { $0.key == "since" }) {
            throw HistoryError(.conflictingKeys, "a request has since_seq or since, not both")
        }
        guard let start else {
            throw HistoryError(.missingKey, "a request needs since_seq (a non-negative integer) or since (a timestamp), e.g. {\"since_seq\": 0}")
        }
        self.init(start, limit: limit)
    }

    /// `YYYY-MM-DD…`: the calendar form, not an epoch number written as a string.
    private static func looksLikeRFC3339(_ text: String) -> Bool {
        let b = Array(text.utf8.prefix(5))
        return b.count == 5 && b[0..<4].allSatisfy { (48...57).contains($0) } && b[4] == 0x2D
    }
}

/// One page of the history endpoint's answer.
///
/// `lastSeq` is where the client stands after this page: every alert the query matches up to
/// `lastSeq` is in `alerts` (so when `more` is true, ask again with `since_seq: lastSeq`; when it is
/// false, the client is caught up to `headSeq`). `headSeq` is the highest `seq` the daemon has
/// journaled (retention never lowers it).
///
/// Threading: a value; share it freely.
public struct HistoryReply: Sendable, Equatable, Decodable {
    /// The alerts, by rising `seq`.
    public var alerts: [AlertRecord]
    /// Where the client stands after this page.
    public var lastSeq: UInt64
    /// The newest journaled `seq`.
    public var headSeq: UInt64
    /// True when `limit` cut the reply: ask again from `lastSeq`.
    public var more: Bool

    /// A reply.
    public init(alerts: [AlertRecord], lastSeq: UInt64, headSeq: UInt64, more: Bool) {
        self.alerts = alerts
        self.lastSeq = lastSeq
        self.headSeq = headSeq
        self.more = more
    }

    enum CodingKeys: String, CodingKey {
        case alerts, lastSeq = "last_seq", headSeq = "head_seq", more
    }

    /// The reply's JSON text.
    public var json: String {
        Self.json(alertJSON: alerts.map(\.json), lastSeq: lastSeq, headSeq: headSeq, more: more)
    }

    /// The reply's JSON text from alerts already in their wire form (as the journal stores them).
    public static func json<S: Sequence<String>>(alertJSON: S, lastSeq: UInt64, headSeq: UInt64, more: Bool) -> String {
        "{\"alerts\":[" + alertJSON.joined(separator: ",") + "],\"last_seq\":\(lastSeq),\"head_seq\":\(headSeq),\"more\":\(more)}"
    }
}

/// What the history endpoint answered: a page, or the error it refused the request with.
/// Decode it with any `Decoder` (`vigil tail` uses Foundation's `JSONDecoder`).
public enum HistoryResponse: Sendable, Equatable, Decodable {
    /// Alerts.
    case page(HistoryReply)
    /// A refusal: `{"error": …, "code": …}`.
    case failure(HistoryError)

    enum Keys: String, CodingKey { case error, code }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        if let message = try c.decodeIfPresent(String.self, forKey: .error) {
            let code = (try? c.decodeIfPresent(String.self, forKey: .code)).flatMap { $0 }
            self = .failure(HistoryError(code.flatMap(HistoryError.Code.init(name:)) ?? .server, message))
        } else {
            self = .page(try HistoryReply(from: decoder))
        }
    }
}

/// Why the history endpoint refused a request (or, on the client, why its answer was unusable).
/// Its `json` is the error reply `{"error": "<message>", "code": "<code>"}`.
public struct HistoryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong; a struct around a private enum so new kinds can be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable, Hashable, CaseIterable {
            case malformed = "malformed_request"
            case tooLarge = "request_too_large"
            case unknownKey = "unknown_key"
            case duplicateKey = "duplicate_key"
            case missingKey = "missing_key"
            case conflictingKeys = "conflicting_keys"
            case wrongType = "wrong_type"
            case outOfRange = "out_of_range"
            case invalidValue = "invalid_value"
            case server = "server_error"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The code named `name` on the wire, nil for a name this version does not know.
        public init?(name: String) {
            guard let v = Value(rawValue: name) else { return nil }
            value = v
        }

        /// Not a JSON object (or not valid JSON).
        public static let malformed = Code(.malformed)
        /// Larger than `history.max_request_bytes`.
        public static let tooLarge = Code(.tooLarge)
        /// A key other than `since_seq`, `since`, `limit`.
        public static let unknownKey = Code(.unknownKey)
        /// A key written twice.
        public static let duplicateKey = Code(.duplicateKey)
        /// Neither `since_seq` nor `since`.
        public static let missingKey = Code(.missingKey)
        /// Both `since_seq` and `since`.
        public static let conflictingKeys = Code(.conflictingKeys)
        /// A value of the wrong JSON type (`"since_seq": true`).
        public static let wrongType = Code(.wrongType)
        /// A number outside its range (`"limit": 0`).
        public static let outOfRange = Code(.outOfRange)
        /// A string that is not a timestamp.
        public static let invalidValue = Code(.invalidValue)
        /// The daemon could not answer (the journal failed), or the answer was unusable.
        public static let server = Code(.server)

        /// The code's name on the wire.
        public var description: String { value.rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// One sentence for people.
    public var message: String

    /// An error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }

    /// The error reply.
    public var json: String {
        "{\"error\":" + JSONText.string(message) + ",\"code\":\"\(code)\"}"
    }
}

/// A JSON object whose values are read only as far as their type (the history request's shape):
/// keys decoded, scalars kept as text, nested arrays and objects skipped without recursion.
enum FlatJSONObject {
    enum Value: Equatable {
        case integer(negative: Bool, digits: String)
        case number(String)
        case string(String)
        case bool(Bool)
        case null
        case array
        case object

        /// How the value reads in an error message.
        var describe: String {
            switch self {
            case .integer(let negative, let digits): (negative ? "-" : "") + digits
            case .number(let text): text
            case .string(let s): JSONText.string(s.count > 64 ? String(s.prefix(64)) + "…" : s)
            case .bool(let b): "\(b) (a boolean)"
            case .null: "null"
            case .array: "an array"
            case .object: "an object"
            }
        }
    }

    /// The object's keys and values in order; throws on anything but one valid JSON object, and
    /// on a repeated key.
    static func parse(_ b: [UInt8]) throws(HistoryError) -> [(key: String, value: Value)] {
        var p = Parser(b: b)
        return try p.object()
    }

    private struct Parser {
        let b: [UInt8]
        var i = 0

        func fail(_ what: String) -> HistoryError {
            HistoryError(.malformed, "request must be one JSON object such as {\"since_seq\": 0} or {\"since\": \"2024-11-25T02:00:00Z\"}: \(what) at byte \(i)")
        }

        mutating func skipWhitespace() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
        }

        mutating func object() throws(HistoryError) -> [(key: String, value: Value)] {
            skipWhitespace()
            guard i < b.count, b[i] == UInt8(ascii: "{") else { throw fail(i < b.count ? "expected {" : "empty request") }
            i += 1
            var out: [(key: String, value: Value)] = []
            skipWhitespace()
            if i < b.count, b[i] == UInt8(ascii: "}") {
                i += 1
            } else {
                while true {
                    skipWhitespace()
                    guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a key in quotes") }
                    let key = try string()
                    skipWhitespace()
                    guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected : after key") }
                    i += 1
                    skipWhitespace()
                    let v = try value()
                    if out.contains(where: { $0.key == key }) {
                        throw HistoryError(.duplicateKey, "key \(JSONText.string(key)) appears more than once")
                    }
                    out.append((key, v))
                    skipWhitespace()
                    guard i < b.count else { throw fail("unterminated object") }
                    if b[i] == UInt8(ascii: ",") { i += 1; continue }
                    guard b[i] == UInt8(ascii: "}") else { throw fail("expected , or }") }
                    i += 1
                    break
                }
            }
            skipWhitespace()
            guard i == b.count else { throw fail("text after the object") }
            return out
        }

        mutating func value() throws(HistoryError) -> Value {
            guard i < b.count else { throw fail("expected a value") }
            switch b[i] {
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let isObject = b[i] == UInt8(ascii: "{")
                try skipContainer()
                return isObject ? .object : .array
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw fail("unexpected character")
            }
        }

        mutating func literal(_ word: StaticString) throws(HistoryError) {
            let w = word.withUTF8Buffer { Array($0) }
            guard i + w.count <= b.count, Array(b[i..<(i + w.count)]) == w else { throw fail("invalid literal") }
            i += w.count
        }

        mutating func number() throws(HistoryError) -> Value {
            let start = i
            var negative = false
            if b[i] == UInt8(ascii: "-") { negative = true; i += 1 }
            let intStart = i
            guard i < b.count, (48...57).contains(b[i]) else { throw fail("invalid number") }
            if b[i] == 48 {
                i += 1
            } else {
                while i < b.count, (48...57).contains(b[i]) { i += 1 }
            }
            let digits = String(decoding: b[intStart..<i], as: UTF8.self)
            var integral = true
            if i < b.count, b[i] == UInt8(ascii: ".") {
                integral = false
                i += 1
                guard i < b.count, (48...57).contains(b[i]) else { throw fail("invalid number") }
                while i < b.count, (48...57).contains(b[i]) { i += 1 }
            }
            if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
                integral = false
                i += 1
                if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
                guard i < b.count, (48...57).contains(b[i]) else { throw fail("invalid number") }
                while i < b.count, (48...57).contains(b[i]) { i += 1 }
            }
            if integral { return .integer(negative: negative, digits: digits) }
            return .number(String(decoding: b[start..<i], as: UTF8.self))
        }

        mutating func string() throws(HistoryError) -> String {
            i += 1  // opening quote
            var out: [UInt8] = []
            while true {
                guard i < b.count else { throw fail("unterminated string") }
                let c = b[i]
                if c == UInt8(ascii: "\"") { i += 1; break }
                if c < 0x20 { throw fail("control character in a string") }
                if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
                i += 1
                guard i < b.count else { throw fail("unterminated escape") }
                let e = b[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                            throw fail("unpaired surrogate")
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw fail("invalid escape")
                }
            }
            guard let s = String(validating: out, as: UTF8.self) else { throw fail("a string that is not UTF-8") }
            return s
        }

        mutating func hex4() throws(HistoryError) -> UInt32 {
            guard i + 4 <= b.count else { throw fail("invalid \\u escape") }
            var v: UInt32 = 0
            for k in 0..<4 {
                let c = b[i + k]
                let d: UInt32
                switch c {
                case 48...57: d = UInt32(c - 48)
                case 65...70: d = UInt32(c - 55)
                case 97...102: d = UInt32(c - 87)
                default: throw fail("invalid \\u escape")
                }
                v = v << 4 | d
            }
            i += 4
            return v
        }

        /// Skips a nested array or object (brackets balanced, strings respected); its contents
        /// are not validated beyond that, since any nested value is refused anyway.
        mutating func skipContainer() throws(HistoryError) {
            var depth = 0
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "\"") {
                    _ = try string()
                    continue
                }
                i += 1
                if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") { depth += 1 }
                if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                    depth -= 1
                    if depth == 0 { return }
                }
            }
            throw fail("unterminated array or object")
        }
    }
}
