// SPDX-License-Identifier: GPL-3.0-or-later

/// One journaled alert event, reduced to what a restart reconciles against the restored detector
/// state: which alert state machine it belongs to (`sensor`, `detector`), which alert (`id`,
/// `raisedAt`), and what happened (`event`, `severity`).
///
/// Read from the journal's JSON rows without Foundation (the fields the publisher writes, in any
/// order; `context` and the other fields are skipped). A plain value: any thread.
public struct JournaledAlert: Sendable, Equatable {
    public var seq: UInt64
    public var id: String
    public var event: AlertEventKind
    public var severity: Severity
    public var sensor: String
    public var detector: DetectorKind
    /// Timestamp of the sample that caused this event.
    public var ts: Int64
    /// Timestamp of the sample that raised the alert: the last `:`-separated part of `id`.
    public var raisedAt: Int64

    /// An event with every field given (tests, and a reload carrying an alert to a new chain).
    public init(seq: UInt64, id: String, event: AlertEventKind, severity: Severity, sensor: String,
                detector: DetectorKind, ts: Int64, raisedAt: Int64) {
        self.seq = seq
        self.id = id
        self.event = event
        self.severity = severity
        self.sensor = sensor
        self.detector = detector
        self.ts = ts
        self.raisedAt = raisedAt
    }

    /// The event as published: `AlertRecord.json`. Nil when the text is not such an object (a
    /// damaged row, or one written by something else); the caller counts and skips it.
    public init?(json: some Collection<UInt8>) {
        guard let fields = try? FlatJSONObject.parse(Array(json)) else { return nil }
        var seq: UInt64?, id: String?, event: AlertEventKind?, severity: Severity?
        var sensor: String?, detector: DetectorKind?, ts: Int64?
        for (key, value) in fields {
            switch (key, value) {
            case ("seq", .integer(false, let digits)): seq = UInt64(digits)
            case ("id", .string(let s)): id = s
            case ("event", .string(let s)): event = AlertEventKind(rawValue: s)
            case ("severity", .string(let s)): severity = Severity(rawValue: s)
            case ("sensor", .string(let s)): sensor = s
            case ("detector", .string(let s)): detector = DetectorKind(rawValue: s)
            case ("ts", .integer(let negative, let digits)): ts = Int64(digits).map { negative ? -$0 : $0 }
            default: break
            }
        }
        guard let seq, let id, let event, let severity, let sensor, let detector, let ts,
              let colon = id.lastIndex(of: ":"), let raisedAt = Int64(id[id.index(after: colon)...]) else { return nil }
        self.init(seq: seq, id: id, event: event, severity: severity, sensor: sensor, detector: detector,
                  ts: ts, raisedAt: raisedAt)
    }
}
