// SPDX-License-Identifier: GPL-3.0-or-later
import Testing
import VigilCore

@Suite("Journaled alerts")
struct JournaledAlertTests {
    func record(_ kind: AlertEventKind, sensor: String, evidence: AlertEvidence = .none) -> AlertRecord {
        AlertRecord(seq: 42, event: AlertEvent(sensor: 0, detector: .combined, event: kind, severity: .critical, score: 0.5,
                                               threshold: 0.9, value: -3, timestamp: -1_700_000_000_000_000_123,
                                               raisedAt: 1_700_000_000_000_000_000, evidence: evidence),
                    sensorName: sensor)
    }

    @Test("a journal row reads back as the alert the publisher wrote (ids with colons, negative ts, any context)",
          arguments: ["plant1/pump7/vibration", "odd:name:with:colons", "quote\"and\\back"])
    func readsWhatThePublisherWrites(_ sensor: String) throws {
        for (kind, evidence) in [(AlertEventKind.raised, AlertEvidence.zscore(mean: 1, deviation: 2, z: 3)),
                                 (.cleared, .closed(reason: .restart))] {
            let r = record(kind, sensor: sensor, evidence: evidence)
            let j = try #require(JournaledAlert(json: Array(r.json.utf8)))
            #expect(j == JournaledAlert(seq: 42, id: r.id, event: kind, severity: .critical, sensor: sensor, detector: .combined,
                                        ts: -1_700_000_000_000_000_123, raisedAt: 1_700_000_000_000_000_000))
        }
        #expect(record(.cleared, sensor: sensor, evidence: .closed(reason: .settingsChanged)).context == ["reason": .string("settings_changed")])
    }

    @Test("rows that are not alerts read as nil, never a trap",
          arguments: ["", "null", "[]", "{}", #"{"seq": 1}"#, #"{"seq":1,"id":"a:zscore:x","event":"raised","severity":"warning","sensor":"a","detector":"zscore","ts":1}"#,
                      #"{"seq":1,"id":"a:zscore:5","event":"up","severity":"warning","sensor":"a","detector":"zscore","ts":1}"#,
                      #"{"seq":-1,"id":"a:zscore:5","event":"raised","severity":"warning","sensor":"a","detector":"zscore","ts":1}"#])
    func garbage(_ text: String) {
        #expect(JournaledAlert(json: Array(text.utf8)) == nil)
    }
}

@Suite("Snapshot checksum")
struct SnapshotChecksumTests {
    @Test("every single-bit flip, every truncation and every length changes the checksum", arguments: [0, 1, 7, 8, 31, 32, 33, 100, 1000])
    func detectsDamage(_ length: Int) {
        var state: UInt64 = 0x1234_5678
        let bytes: [UInt8] = (0..<length).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        let good = snapshotChecksum(bytes)
        #expect(snapshotChecksum(bytes) == good, "deterministic")
        for i in 0..<length {
            for bit in 0..<8 {
                var b = bytes
                b[i] ^= UInt8(1 << bit)
                #expect(snapshotChecksum(b) != good, "byte \(i) bit \(bit)")
            }
        }
        for n in 0..<length { #expect(snapshotChecksum(Array(bytes.prefix(n))) != good, "prefix \(n)") }
        #expect(snapshotChecksum(bytes + [0]) != good, "a zero byte more")
    }
}
