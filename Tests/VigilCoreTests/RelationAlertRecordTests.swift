// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore

@Suite("Relation alert records")
struct RelationAlertRecordTests {
    static let evidence = RelationEvidence(residual: 0.3, expected: 0.01, scale: 0.05, terms: EvidenceSlots(
        RelationTermShift(term: 0, shift: 6.5, value: 31.25, baseline: 30.5),
        RelationTermShift(term: 2, shift: -1.5, value: -0.25, baseline: 0),
        .none))

    /// The detector's own evidence stays; `relation` adds the residual and the terms that moved,
    /// each named as written in the expression; unused slots are left out.
    @Test func contextNamesTheTermsBesideTheDetectorsEvidence() throws {
        let event = AlertEvent(sensor: 4, detector: .zscore, event: .raised, severity: .warning, score: 9, threshold: 8, value: 0.3,
                               timestamp: 1_732_500_000_000_000_000, raisedAt: 1_732_500_000_000_000_000,
                               evidence: .zscore(mean: 0.01, deviation: 0.05, z: 9), relation: Self.evidence)
        let terms = ["inflow", "-outflow", "-3600*area*der(level)"]
        let record = AlertRecord(seq: 5, event: event, sensorName: "plant1/tank1/balance",
                                 termName: { $0 < terms.count ? terms[$0] : nil })
        #expect(record.topic == "alert/plant1/tank1/balance")
        #expect(record.id == "plant1/tank1/balance:zscore:1732500000000000000")
        #expect(record.json.hasSuffix(#""context":{"deviation":0.05,"mean":0.01,"relation":{"expected":0.01,"residual":0.3,"scale":0.05,"terms":[{"baseline":30.5,"index":0,"shift":6.5,"term":"inflow","value":31.25},{"baseline":0,"index":2,"shift":-1.5,"term":"-3600*area*der(level)","value":-0.25}]},"z":9}}"#), "\(record.json)")
        // It reads back as it was written.
        let back = try JSONDecoder().decode(AlertRecord.self, from: Data(record.json.utf8))
        #expect(back == record)
        // Any other alert has no relation entry.
        var plain = event
        plain.relation = nil
        #expect(AlertRecord(seq: 6, event: plain, sensorName: "s").context["relation"] == nil)
    }
}
