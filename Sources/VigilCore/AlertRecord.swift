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

    /// A context entry: a number or a string.
    public enum ContextValue: Sendable, Equatable, Codable {
        case number(Double)
        case string(String)

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let d = try? c.decode(Double.self) { self = .number(d) } else { self = .string(try c.decode(String.self)) }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .number(let d): try c.encode(d)
            case .string(let s): try c.encode(s)
            }
        }

        public var number: Double? { if case .number(let d) = self { d } else { nil } }
    }

    public init(seq: UInt64, event: AlertEvent, sensorName: String) {
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
        var context = Self.context(of: event.evidence)
        // A combined alert carries the evidence of the detector that contributed most.
        if event.detector == .combined, let strongest = event.evidence.detector {
            context["strongest"] = .string(strongest.rawValue)
        }
        self.context = context
    }

    static func context(of evidence: AlertEvidence) -> [String: ContextValue] {
        switch evidence {
        case .zscore(let mean, let deviation, let z):
            return ["mean": .number(mean), "deviation": .number(deviation), "z": .number(z)]
        case .spectralResidual(let saliency, let baseline, let f):
            return ["saliency": .number(saliency), "saliency_baseline": .number(baseline), "dominant_frequency": .number(f)]
        case .isolationForest(let pathLength, let feature, let featureCount):
            return ["path_length": .number(pathLength), "feature": .number(Double(feature)),
                    "feature_count": .number(Double(featureCount))]
        case .combined(let strongest, let score):
            return ["strongest": .string(strongest.rawValue), "strongest_score": .number(score)]
        case .none:
            return [:]
        case .closed(let reason):
            return ["reason": .string(reason.name)]
        }
    }

    /// The topic frame: `alert/<sensor>`.
    public var topic: String { "alert/" + sensor }

    /// The JSON object of the design brief, keys in the brief's order, context keys sorted.
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
            switch context[key]! {
            case .number(let d): JSONText.appendNumber(d, to: &s)
            case .string(let v): JSONText.appendString(v, to: &s)
            }
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
