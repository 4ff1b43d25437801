// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore

@Suite("Surprise alerts on the wire")
struct SurpriseAlertRecordTests {
    func event(_ evidence: SurpriseEvidence, _ kind: AlertEventKind = .raised, reason: AlertClearReason = .calm) -> AlertEvent {
        AlertEvent(sensor: 1, detector: .surprise, event: kind, severity: .warning, score: evidence.surprise, threshold: 4,
                   value: 12.9, timestamp: 1_732_500_000_000_000_000, raisedAt: 1_732_500_000_000_000_000,
                   evidence: .surprise(evidence), clearReason: reason)
    }

    @Test func levelEvidenceAsJSON() {
        let r = AlertRecord(seq: 7, event: event(.level(surprise: 6.2, baseline: 12.1, deviation: 0.8, up: true)),
                            sensorName: "plant1/pump7/flow")
        let p = pow(10, -6.2)
        #expect(r.json == """
            {"seq":7,"id":"plant1/pump7/flow:surprise:1732500000000000000","event":"raised","severity":"warning",\
            "sensor":"plant1/pump7/flow","detector":"surprise","score":6.2,"threshold":4,"value":12.9,\
            "ts":1732500000000000000,"time":"2024-11-25T02:00:00.000000000Z",\
            "context":{"baseline":12.1,"channel":"level","deviation":0.8,"direction":"up","p":\(p),"surprise":6.2}}
            """)
    }

    @Test("each channel's context keys", arguments: [
        (SurpriseEvidence.change(surprise: 5, change: 3.5, typicalChange: 0.4), ["channel": "change"], ["change", "typical_change"]),
        (.level(surprise: 5, baseline: 1, deviation: 0.1, up: false), ["channel": "level", "direction": "down"], ["baseline", "deviation"]),
        (.range(surprise: 9, lower: -1, upper: 3, recent: false), ["channel": "range"], ["lower", "upper"]),
        (.range(surprise: 9, lower: 0, upper: 2, recent: true), ["channel": "recent_range"], ["lower", "upper"]),
        (.seasonal(surprise: 4.5, expected: 20, scale: 0.7, periodSamples: 288), ["channel": "seasonal"], ["expected", "scale", "period_samples"]),
    ])
    func contextKeys(_ evidence: SurpriseEvidence, _ strings: [String: String], _ numbers: [String]) {
        let c = AlertRecord(seq: 1, event: event(evidence), sensorName: "s").context
        #expect(Set(c.keys) == Set(["surprise", "p"] + Array(strings.keys) + numbers))
        for (k, v) in strings { #expect(c[k] == .string(v)) }
        for k in numbers { #expect(c[k]?.number != nil, "\(k)") }
        #expect(c["surprise"]?.number == evidence.surprise)
        #expect(c["p"]?.number == pow(10, -evidence.surprise))
    }

    @Test func seasonalPeriodAndRelearnedReason() {
        let e = event(.seasonal(surprise: 4.5, expected: 20, scale: 0.7, periodSamples: 288), .cleared, reason: .relearned)
        let c = AlertRecord(seq: 1, event: e, sensorName: "s").context
        #expect(c["period_samples"] == .number(288))
        #expect(c["reason"] == .string("relearned"))
        // A calm clear says nothing about why.
        #expect(AlertRecord(seq: 1, event: event(.change(surprise: 1, change: 0, typicalChange: 1), .cleared), sensorName: "s")
            .context["reason"] == nil)
    }

    @Test("an alert event stays a plain value (no heap storage) for the worker → publisher rings")
    func plainValue() {
        #expect(_isPOD(AlertEvent.self))
        #expect(_isPOD(SurpriseEvidence.self))
        // The largest payload is an asset's PCA evidence (four statistics, three contributions);
        // the arrival stamp for the latency histogram adds 8 bytes, a relation's residual and
        // three terms (inline, beside the detector's own evidence) 73.
        #expect(MemoryLayout<AlertEvent>.size <= 144 + 73)
        #expect(_isPOD(RelationEvidence.self) && MemoryLayout<RelationEvidence?>.size <= 73)
        #expect(MemoryLayout<SurpriseEvidence>.size <= MemoryLayout<PCAEvidence>.size, "surprise evidence does not grow the event")
    }

    @Test func decodesBack() throws {
        let r = AlertRecord(seq: 3, event: event(.range(surprise: 12, lower: 1, upper: 2, recent: true)), sensorName: "s")
        let back = try JSONDecoder().decode(AlertRecord.self, from: Data(r.json.utf8))
        #expect(back == r)
    }
}
