// SPDX-License-Identifier: GPL-3.0-or-later

/// An alert as published and journaled: an `AlertEvent` with its daemon-wide `seq` and the
/// sensor's name. `json` is the wire form of the design brief, with a fixed key order.
public struct AlertRecord: Sendable, Equatable, Codable {
    public var seq: UInt64
    public var id: String
    public var event: AlertEventKind
    public var severity: Severity
    public var sensor: String
    public var detector: DetectorKind
    public var score: Double
    public var threshold: Double
    public var value: Double
    public var ts: Int64
    public var time: String
    public var context: [String: ContextValue]

    /// A context entry: a number, a string, or (for evidence with several parts, such as a PCA
    /// alert's contributions) a list or an object of entries.
    public indirect enum ContextValue: Sendable, Equatable, Codable {
        case number(Double)
        case string(String)
        case list([ContextValue])
        case object([String: ContextValue])

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let d = try? c.decode(Double.self) {
                self = .number(d)
            } else if let s = try? c.decode(String.self) {
                self = .string(s)
            } else if let l = try? c.decode([ContextValue].self) {
                self = .list(l)
            } else {
                self = .object(try c.decode([String: ContextValue].self))
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .number(let d): try c.encode(d)
            case .string(let s): try c.encode(s)
            case .list(let l): try c.encode(l)
            case .object(let o): try c.encode(o)
            }
        }

        public var number: Double? { if case .number(let d) = self { d } else { nil } }
        public var string: String? { if case .string(let s) = self { s } else { nil } }
        public var list: [ContextValue]? { if case .list(let l) = self { l } else { nil } }
        public var object: [String: ContextValue]? { if case .object(let o) = self { o } else { nil } }

        /// Appends the JSON form (object keys sorted).
        func appendJSON(to s: inout String) {
            switch self {
            case .number(let d): JSONText.appendNumber(d, to: &s)
            case .string(let v): JSONText.appendString(v, to: &s)
            case .list(let l):
                s += "["
                for (i, v) in l.enumerated() {
                    if i > 0 { s += "," }
                    v.appendJSON(to: &s)
                }
                s += "]"
            case .object(let o):
                s += "{"
                for (i, key) in o.keys.sorted().enumerated() {
                    if i > 0 { s += "," }
                    JSONText.appendString(key, to: &s)
                    s += ":"
                    o[key]!.appendJSON(to: &s)
                }
                s += "}"
            }
        }
    }

    /// The record of `event`. `memberName` names the sensor at a position of the alerting asset's
    /// vector (nil when the position, or the alert, is not an asset's): an isolation forest's
    /// isolating feature becomes `feature_sensor`, each PCA contribution gets its `sensor`.
    ///
    /// `termName` names a relation's term by its index (a relation alert's `relation.terms`).
    public init(seq: UInt64, event: AlertEvent, sensorName: String, memberName: (Int) -> String? = { _ in nil },
                termName: (Int) -> String? = { _ in nil }) {
        self.seq = seq
        self.id = event.id(sensorName: sensorName)
        self.event = event.event
        self.severity = event.severity
        self.sensor = sensorName
        self.detector = event.detector
        self.score = event.score
        self.threshold = event.threshold
        self.value = event.value
        self.ts = event.timestamp
        self.time = Timestamp.rfc3339(event.timestamp)
        var context = Self.context(of: event.evidence, memberName: memberName)
        // A combined alert carries the evidence of the detector that contributed most.
        if event.detector == .combined, let strongest = event.evidence.detector {
            context["strongest"] = .string(strongest.rawValue)
        }
        // A clear that ends a hold by re-learning says so (a calm clear has no reason).
        if event.event == .cleared, event.clearReason == .relearned {
            context["reason"] = .string("relearned")
        }
        if let r = event.relation { context["relation"] = Self.context(of: r, termName: termName) }
        self.context = context
    }

    /// A relation alert's `relation` entry: the residual, its in-control level and deviation, and
    /// the terms that moved most (`term` as written in the expression, `shift` in deviations).
    static func context(of r: RelationEvidence, termName: (Int) -> String?) -> ContextValue {
        let terms: [ContextValue] = r.moved.map { t in
            var o: [String: ContextValue] = ["index": .number(Double(t.term)), "value": .number(Self.rounded(t.value)),
                                             "baseline": .number(Self.rounded(t.baseline)), "shift": .number(Self.rounded(t.shift))]
            if let name = termName(Int(t.term)) { o["term"] = .string(name) }
            return .object(o)
        }
        return .object(["residual": .number(r.residual), "expected": .number(r.expected), "scale": .number(r.scale),
                        "terms": .list(terms)])
    }

    static func context(of evidence: AlertEvidence, memberName: (Int) -> String? = { _ in nil }) -> [String: ContextValue] {
        switch evidence {
        case .zscore(let mean, let deviation, let z):
            return ["mean": .number(mean), "deviation": .number(deviation), "z": .number(z)]
        case .spectralResidual(let saliency, let baseline, let f):
            return ["saliency": .number(saliency), "saliency_baseline": .number(baseline), "dominant_frequency": .number(f)]
        case .isolationForest(let pathLength, let feature, let featureCount):
            var c: [String: ContextValue] = ["path_length": .number(pathLength), "feature": .number(Double(feature)),
                                             "feature_count": .number(Double(featureCount))]
            // An asset alert names the member sensor that isolated the point most often.
            if let name = memberName(Int(feature)) { c["feature_sensor"] = .string(name) }
            return c
        case .pca(let e):
            let contributions: [ContextValue] = e.contributions.map { part in
                var o: [String: ContextValue] = ["position": .number(Double(part.position)),
                                                 "t2_share": .number(Self.rounded(part.t2Share)),
                                                 "q_share": .number(Self.rounded(part.qShare)),
                                                 "z": .number(Self.rounded(part.z))]
                if let name = memberName(Int(part.position)) { o["sensor"] = .string(name) }
                return .object(o)
            }
            return ["t2": .number(e.t2), "t2_limit": .number(e.t2Limit), "q": .number(e.q), "q_limit": .number(e.qLimit),
                    "contributions": .list(contributions)]
        case .combined(let strongest, let score):
            return ["strongest": .string(strongest.rawValue), "strongest_score": .number(score)]
        case .surprise(let e):
            var c: [String: ContextValue] = ["channel": .string(e.channel.rawValue), "surprise": .number(e.surprise),
                                             "p": .number(e.probability)]
            switch e {
            case .change(_, let change, let typical):
                c["change"] = .number(change)
                c["typical_change"] = .number(typical)
            case .level(_, let baseline, let deviation, let up):
                c["baseline"] = .number(baseline)
                c["deviation"] = .number(deviation)
                c["direction"] = .string(up ? "up" : "down")
            case .range(_, let lower, let upper, _):
                c["lower"] = .number(lower)
                c["upper"] = .number(upper)
            case .seasonal(_, let expected, let scale, let period):
                c["expected"] = .number(expected)
                c["scale"] = .number(scale)
                c["period_samples"] = .number(Double(period))
            }
            return c
        case .none:
            return [:]
        case .closed(let reason):
            return ["reason": .string(reason.name)]
        }
    }

    /// A single-precision evidence figure as a short decimal (6 places): `0.25`, not `0.2500000037`.
    private static func rounded(_ f: Float) -> Double {
        guard f.isFinite else { return Double(f) }
        return (Double(f) * 1e6).rounded() / 1e6
    }

    /// The topic frame: `alert/<sensor>`.
    public var topic: String { "alert/" + sensor }

    /// The JSON object of the design brief, keys in the brief's order, context keys sorted (also
    /// inside nested objects).
    public var json: String {
        var s = "{\"seq\":\(seq),\"id\":"
        JSONText.appendString(id, to: &s)
        s += ",\"event\":\"\(event.rawValue)\",\"severity\":\"\(severity.rawValue)\",\"sensor\":"
        JSONText.appendString(sensor, to: &s)
        s += ",\"detector\":\"\(detector.rawValue)\",\"score\":"
        JSONText.appendNumber(score, to: &s)
        s += ",\"threshold\":"
        JSONText.appendNumber(threshold, to: &s)
        s += ",\"value\":"
        JSONText.appendNumber(value, to: &s)
        s += ",\"ts\":\(ts),\"time\":\"\(time)\",\"context\":{"
        var first = true
        for key in context.keys.sorted() {
            if !first { s += "," }
            first = false
            JSONText.appendString(key, to: &s)
            s += ":"
            context[key]!.appendJSON(to: &s)
        }
        s += "}}"
        return s
    }
}

/// JSON text helpers shared by every encoder in Vigil.
public enum JSONText {
    /// Appends `value` as a JSON string literal.
    public static func appendString(_ value: String, to s: inout String) {
        s += "\""
        for u in value.unicodeScalars {
            switch u {
            case "\"": s += "\\\""
            case "\\": s += "\\\\"
            case "\n": s += "\\n"
            case "\r": s += "\\r"
            case "\t": s += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    s += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    s.unicodeScalars.append(u)
                }
            }
        }
        s += "\""
    }

    /// Appends a number; non-finite values become `null` (JSON has no NaN).
    public static func appendNumber(_ d: Double, to s: inout String) {
        if !d.isFinite { s += "null"; return }
        if d == d.rounded(), abs(d) < 1e15 { s += String(Int64(d)); return }
        s += "\(d)"
    }

    /// A JSON string literal.
    public static func string(_ value: String) -> String {
        var s = ""
        appendString(value, to: &s)
        return s
    }
}
