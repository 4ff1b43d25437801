// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore

@Suite("Alert record: PCA and asset context")
struct PCAAlertRecordTests {
    static let evidence = PCAEvidence(t2: 12.5, t2Limit: 30, q: 9, qLimit: 4.5,
                                      first: PCAContribution(position: 2, t2Share: 0.25, qShare: 0.75, z: -3.5),
                                      second: PCAContribution(position: 0, t2Share: 0.5, qShare: 0.125, z: 1.25))

    static func event(_ evidence: AlertEvidence, detector: DetectorKind) -> AlertEvent {
        AlertEvent(sensor: 1, detector: detector, event: .raised, severity: .warning, score: 2, threshold: 1, value: 0.5,
                   timestamp: 1_732_500_000_000_000_000, raisedAt: 1_732_500_000_000_000_000, evidence: evidence)
    }

    @Test("a PCA alert's context: the statistics, their limits and the contributions with the members' names")
    func pcaContext() throws {
        let names = [0: "plant1/pump7/flow", 2: "plant1/pump7/pressure"]
        let record = AlertRecord(seq: 7, event: Self.event(.pca(Self.evidence), detector: .pca), sensorName: "plant1/pump7") { names[$0] }
        #expect(record.detector == .pca && record.topic == "alert/plant1/pump7")
        #expect(record.id == "plant1/pump7:pca:1732500000000000000")
        let context = #"{"contributions":[{"position":2,"q_share":0.75,"sensor":"plant1/pump7/pressure","t2_share":0.25,"z":-3.5},"#
            + #"{"position":0,"q_share":0.125,"sensor":"plant1/pump7/flow","t2_share":0.5,"z":1.25}],"q":9,"q_limit":4.5,"t2":12.5,"t2_limit":30}"#
        #expect(record.json.hasSuffix(#""context":"# + context + "}"), "\(record.json)")
        // A subscriber (vigil tail) decodes it back.
        let decoded = try JSONDecoder().decode(AlertRecord.self, from: Data(record.json.utf8))
        #expect(decoded == record)
        #expect(decoded.context["contributions"]?.list?.first?.object?["sensor"]?.string == "plant1/pump7/pressure")
    }

    @Test("figures kept in single precision are written as short decimals; unknown members keep only their position")
    func rounding() throws {
        let e = PCAEvidence(t2: 1, t2Limit: 2, q: 3, qLimit: 4, first: PCAContribution(position: 5, t2Share: 0.1, qShare: 0.3, z: 2.2))
        let record = AlertRecord(seq: 1, event: Self.event(.pca(e), detector: .pca), sensorName: "a")
        #expect(record.json.contains(#"{"position":5,"q_share":0.3,"t2_share":0.1,"z":2.2}"#), "\(record.json)")
    }

    @Test("an asset's isolation forest alert names its feature's member")
    func featureSensor() {
        let record = AlertRecord(seq: 1, event: Self.event(.isolationForest(pathLength: 3, feature: 1, featureCount: 2), detector: .isolationForest),
                                 sensorName: "pump") { $0 == 1 ? "pump/b" : nil }
        #expect(record.context["feature_sensor"] == .string("pump/b"))
        let plain = AlertRecord(seq: 1, event: Self.event(.isolationForest(pathLength: 3, feature: 1, featureCount: 2), detector: .isolationForest),
                                sensorName: "pump")
        #expect(plain.context["feature_sensor"] == nil)
    }
}
