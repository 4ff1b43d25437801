// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import Testing
import VigilCore
import VigilDetectors

/// A series with noise, a slow wave and a few bursts, so every detector warms up, scores and alerts.
private func testSeries(_ count: Int, seed: UInt64 = 11) -> [Double] {
    var rng = Xoshiro256StarStar(seed: seed)
    return (0..<count).map { i in
        let base = 10 + sin(Double(i) / 9) + (rng.nextUnit() - 0.5) * 0.4
        return i % 400 >= 390 ? base + 30 : base
    }
}

/// Runs a detector over `values`, and when `restartAt` is given snapshots it there, restores the
/// snapshot into a fresh detector (`fresh`) and continues with that one. Returns one line per
/// sample describing its output bit for bit.
private func run<D>(_ fresh: () -> D, values: [Double], restartAt: Int?,
                    step: (inout D, Int, Double) -> String,
                    write: (D, inout SnapshotWriter) -> Void,
                    restore: (inout D, inout SnapshotReader) throws -> Void) throws -> [String] {
    var d = fresh()
    var lines: [String] = []
    for (i, v) in values.enumerated() {
        if i == restartAt {
            var w = SnapshotWriter()
            write(d, &w)
            var r = SnapshotReader(w.bytes)
            d = fresh()
            try restore(&d, &r)
            #expect(r.isAtEnd, "the restore read exactly what was written")
        }
        lines.append(step(&d, i, v))
    }
    return lines
}

private func describe(_ o: DetectorOutput?) -> String {
    guard let o else { return "-" }
    return "\(o.score.bitPattern) \(o.evidence)"
}

private func describe(_ e: AlertEvent?) -> String {
    guard let e else { return "-" }
    return "\(e.event) \(e.severity) \(e.raisedAt) \(e.timestamp) \(e.score.bitPattern) \(e.evidence)"
}

/// The detectors whose snapshot must continue bit for bit.
enum RoundTripCase: String, CaseIterable, CustomStringConvertible {
    case rollingZScore, ewmaZScore, robustZScore, spectralResidual, calibrator, alertStateMachine, alertStateMachineRelearning,
         surprise, surpriseOnSeasonalData, chainDefaults, chainCalibratedZScore, chainSurpriseCombined, chainEveryModeRobust,
         chainRawAlerts
    var description: String { rawValue }
}

@Suite("Detector snapshots")
struct DetectorSnapshotTests {
    func outputs(_ c: RoundTripCase, _ values: [Double], restartAt: Int?) throws -> [String] {
        switch c {
        case .rollingZScore:
            return try run({ ZScoreDetector(configuration: .init(window: 64, warmup: 16)) }, values: values, restartAt: restartAt,
                           step: { d, i, v in describe(d.update(timestamp: Int64(i), value: v)) },
                           write: { d, w in d.write(to: &w) }, restore: { d, r in try d.restore(from: &r) })
        case .ewmaZScore:
            return try run({ EWMAZScoreDetector(configuration: .init(warmup: 16, alpha: 0.05)) }, values: values, restartAt: restartAt,
                           step: { d, i, v in describe(d.update(timestamp: Int64(i), value: v)) },
                           write: { d, w in d.write(to: &w) }, restore: { d, r in try d.restore(from: &r) })
        case .robustZScore:
            return try run({ RobustZScoreDetector(configuration: .init(window: 63, warmup: 16)) }, values: values, restartAt: restartAt,
                           step: { d, i, v in describe(d.update(timestamp: Int64(i), value: v)) },
                           write: { d, w in d.write(to: &w) }, restore: { d, r in try d.restore(from: &r) })
        case .spectralResidual:
            return try run({ SpectralResidualDetector(configuration: .init(window: 32, hop: 3)) }, values: values, restartAt: restartAt,
                           step: { d, i, v in describe(d.update(timestamp: Int64(i), value: v)) },
                           write: { d, w in d.write(to: &w) }, restore: { d, r in try d.restore(from: &r) })
        case .calibrator:
            return try run({ ScoreCalibrator(configuration: .init(history: 300, shortWindow: 7, warmup: 50)) }, values: values, restartAt: restartAt,
                           step: { d, _, v in d.calibrate(abs(v - 10)).map { "\($0.bitPattern)" } ?? "-" },
                           write: { d, w in d.write(to: &w) }, restore: { d, r in try d.restore(from: &r) })
        case .alertStateMachine:
            let policy = AlertPolicy(threshold: 30, criticalThreshold: 39, raiseAfter: 2, clearAfter: 4)
            return try run({ AlertStateMachine(policy: policy, detector: .zscore) }, values: values, restartAt: restartAt,
                           step: { d, i, v in
                               describe(d.step(sensor: 1, timestamp: Int64(i), value: v,
                                               output: DetectorOutput(score: v, evidence: .zscore(mean: 0, deviation: 1, z: v))))
                           },
                           write: { d, w in d.write(to: &w) }, restore: { d, r in try d.restore(from: &r) })
        case .alertStateMachineRelearning:
            let policy = AlertPolicy(threshold: 30, criticalThreshold: 39, raiseAfter: 1, clearAfter: 40, clearRatio: 1, relearnAfter: 6)
            return try run({ AlertStateMachine(policy: policy, detector: .surprise) }, values: values, restartAt: restartAt,
                           step: { d, i, v in
                               describe(d.step(sensor: 1, timestamp: Int64(i), value: v, output: DetectorOutput(score: v, evidence: .none)))
                                   + " \(d.isRaised)"
                           },
                           write: { d, w in d.write(to: &w) }, restore: { d, r in try d.restore(from: &r) })
        case .surprise, .surpriseOnSeasonalData:
            // The seasonal case runs long enough for a period to be found and scored.
            var input = values
            if c == .surpriseOnSeasonalData {
                for k in input.indices { input[k] += 3 * sin(Double(k) * 2 * Double.pi / 48) }
            }
            return try run({ SurpriseDetector() }, values: input, restartAt: restartAt,
                           step: { d, i, v in describe(d.update(timestamp: Int64(i), value: v, learn: i % 400 < 390)) },
                           write: { d, w in d.write(to: &w) }, restore: { d, r in try d.restore(from: &r) })
        case .chainDefaults, .chainCalibratedZScore, .chainSurpriseCombined, .chainEveryModeRobust, .chainRawAlerts:
            let settings: DetectorSettings
            switch c {
            case .chainDefaults:
                settings = DetectorSettings()
            case .chainCalibratedZScore:
                settings = DetectorSettings(zscore: DetectorSettings.defaultZScore, combine: DetectorSettings.defaultCombine, surprise: nil)
            case .chainSurpriseCombined:
                settings = DetectorSettings(zscore: DetectorSettings.defaultZScore, calibration: .init(history: 300, shortWindow: 5, warmup: 60),
                                            combine: DetectorSettings.defaultCombine)
            case .chainEveryModeRobust:
                settings = DetectorSettings(zscore: .init(ZScoreSettings(mode: .robust, window: 64, warmup: 32),
                                                          alerts: AlertPolicy(threshold: 5, criticalThreshold: 8)),
                                            spectralResidual: .init(SpectralResidualConfiguration(window: 32),
                                                                    alerts: AlertPolicy(threshold: 0.5, criticalThreshold: 0.9)),
                                            calibration: .init(history: 300, shortWindow: 5, warmup: 60),
                                            combine: DetectorSettings.defaultCombine, surprise: nil)
            default:
                settings = DetectorSettings(zscore: .init(ZScoreSettings(mode: .ewma, warmup: 32, alpha: 0.02),
                                                          alerts: AlertPolicy(threshold: 5, criticalThreshold: 8, raiseAfter: 2, clearAfter: 5)),
                                            spectralResidual: .init(SpectralResidualConfiguration(window: 32),
                                                                    alerts: AlertPolicy(threshold: 0.5, criticalThreshold: 0.9)),
                                            combine: nil, surprise: nil)
            }
            return try run({ SensorDetectors(sensor: 3, settings: settings, synchronousTraining: true) }, values: values, restartAt: restartAt,
                           step: { d, i, v in
                               var line = ""
                               d.process(Sample(sensor: 3, timestamp: Int64(i), value: v),
                                         scores: { kind, s in line += "\(kind.rawValue)=\(s.bitPattern) " },
                                         emit: { line += describe($0) })
                               return line
                           },
                           write: { d, w in d.write(to: &w) },
                           restore: { d, r in d = try SensorDetectors(sensor: 3, settings: settings, synchronousTraining: true, restoringFrom: &r) })
        }
    }

    @Test("N samples, snapshot, restore, M more gives bit-identical outputs to N + M without a restart",
          arguments: RoundTripCase.allCases)
    func roundTrip(_ c: RoundTripCase) throws {
        let values = testSeries(1700)
        let straight = try outputs(c, values, restartAt: nil)
        #expect(straight.contains { $0 != "-" && !$0.isEmpty }, "the case produces outputs at all")
        if [.alertStateMachine, .alertStateMachineRelearning, .chainDefaults, .chainCalibratedZScore, .chainRawAlerts].contains(c) {
            #expect(straight.contains { $0.contains("raised") }, "the series raises alerts")
        }
        if c == .alertStateMachineRelearning || c == .chainDefaults {
            #expect(straight.contains { $0.contains("cleared") }, "and clears them")
        }
        // Restart in warm-up, in the middle of a burst (alert raised), and late.
        for restartAt in [5, 395, 1203] {
            let restarted = try outputs(c, values, restartAt: restartAt)
            #expect(restarted == straight, "\(c) restarted at \(restartAt)")
        }
    }

    @Test("an alert raised before a restart is cleared after it with the same raisedAt")
    func alertSurvives() throws {
        var m = AlertStateMachine(policy: AlertPolicy(threshold: 5, criticalThreshold: 8, raiseAfter: 1, clearAfter: 2), detector: .zscore)
        let hot = DetectorOutput(score: 9, evidence: .none)
        let calm = DetectorOutput(score: 0, evidence: .none)
        let first = m.step(sensor: 1, timestamp: 100, value: 0, output: hot)
        let raised = try #require(first)
        #expect(raised.event == .raised && raised.severity == .critical)
        var w = SnapshotWriter()
        m.write(to: &w)
        var r = SnapshotReader(w.bytes)
        var restored = AlertStateMachine(policy: m.policy, detector: .zscore)
        try restored.restore(from: &r)
        #expect(restored.isRaised)
        #expect(restored.step(sensor: 1, timestamp: 101, value: 0, output: calm) == nil)
        let second = restored.step(sensor: 1, timestamp: 102, value: 0, output: calm)
        let cleared = try #require(second)
        #expect(cleared.event == .cleared && cleared.raisedAt == 100 && cleared.severity == .critical)
    }

    @Test("an isolation forest is rebuilt from its window: it scores right after a restore, and the other detectors continue exactly",
          arguments: [IsolationFeatures.shingle, .spectral])
    func forestRebuilt(_ features: IsolationFeatures) throws {
        var forest = IsolationForestConfiguration(trees: 30, sampleSize: 64, trainingWindow: 256, retrainEvery: 200)
        forest.features = features
        let settings = DetectorSettings(zscore: .init(ZScoreSettings(window: 64, warmup: 16), alerts: AlertPolicy(threshold: 5, criticalThreshold: 8)),
                                        spectralResidual: .init(SpectralResidualConfiguration(window: 32), alerts: AlertPolicy(threshold: 0.5, criticalThreshold: 0.9)),
                                        isolationForest: .init(forest, alerts: AlertPolicy(threshold: 0.7, criticalThreshold: 0.8)),
                                        combine: nil, surprise: nil)
        let values = testSeries(900)
        func feed(_ d: inout SensorDetectors, _ range: Range<Int>) -> [String: [UInt64]] {
            var scores: [String: [UInt64]] = [:]
            for i in range {
                d.process(Sample(sensor: 1, timestamp: Int64(i), value: values[i]),
                          scores: { kind, s in scores[kind.rawValue, default: []].append(s.bitPattern) }, emit: { _ in })
            }
            return scores
        }
        var straight = SensorDetectors(sensor: 1, settings: settings, synchronousTraining: true)
        _ = feed(&straight, 0..<600)
        var w = SnapshotWriter()
        straight.write(to: &w)
        let after = feed(&straight, 600..<900)

        var r = SnapshotReader(w.bytes)
        var restored = try SensorDetectors(sensor: 1, settings: settings, synchronousTraining: true, restoringFrom: &r)
        #expect(r.isAtEnd)
        var first: Set<DetectorKind> = []
        restored.process(Sample(sensor: 1, timestamp: 600, value: values[600]), scores: { kind, _ in first.insert(kind) }, emit: { _ in })
        #expect(first.contains(.isolationForest), "the rebuilt forest scores the first sample after the restore")
        var rest = feed(&restored, 601..<900)
        // The first sample's z-score and spectral scores were taken above; compare from 601 on.
        #expect(rest["zscore"] == Array(after["zscore"]!.dropFirst()))
        #expect(rest["spectral_residual"] == Array(after["spectral_residual"]!.dropFirst()))
        rest["isolation_forest"] = nil
        #expect(after["isolation_forest"]?.count == 300)
    }

    @Test("an asset detector restored mid-round continues the round and scores without a new warm-up")
    func assetRestore() throws {
        var forest = IsolationForestConfiguration(trees: 20, sampleSize: 32, trainingWindow: 64, retrainEvery: 64)
        forest.features = .asset
        let section = DetectorSection(forest, alerts: AlertPolicy(threshold: 0.7, criticalThreshold: 0.8))
        var a = AssetDetector(asset: 9, settings: section, dimension: 3, synchronousTraining: true)
        for i in 0..<100 {
            for p in 0..<3 { a.update(position: p, timestamp: Int64(i), value: Double(p) + sin(Double(i)), score: { _, _ in }, emit: { _ in }) }
        }
        a.update(position: 0, timestamp: 100, value: 0, score: { _, _ in }, emit: { _ in })  // round in progress
        var w = SnapshotWriter()
        a.write(to: &w)
        var r = SnapshotReader(w.bytes)
        var b = try AssetDetector(asset: 9, settings: section, synchronousTraining: true, restoringFrom: &r)
        #expect(r.isAtEnd && b.dimension == 3)
        var scored = 0
        b.update(position: 1, timestamp: 100, value: 1, score: { _, _ in scored += 1 }, emit: { _ in })
        #expect(scored == 0, "the round still waits for member 2")
        b.update(position: 2, timestamp: 100, value: 2, score: { _, _ in scored += 1 }, emit: { _ in })
        #expect(scored == 1, "the round completes and the rebuilt forest scores it")
    }

    // MARK: Bad bytes

    /// A real snapshot: two sensors with the shipped defaults and one asset.
    func sampleSnapshot() -> DetectorSnapshot {
        var chain = SensorDetectors(sensor: 0, settings: DetectorSettings())
        for (i, v) in testSeries(300).enumerated() { chain.process(Sample(sensor: 0, timestamp: Int64(i), value: v), emit: { _ in }) }
        var w = SnapshotWriter()
        chain.write(to: &w)
        return DetectorSnapshot(names: ["a", "b", "asset"],
                                sensors: [.init(name: "a", fingerprint: DetectorSettings().fingerprint, state: w.bytes),
                                          .init(name: "b", fingerprint: 42, state: [1, 2, 3])],
                                assets: [.init(name: "asset", fingerprint: 7, members: ["a", "b"], state: [])])
    }

    @Test("a snapshot file round-trips, with its seqs; a version-1 file (what older builds wrote) is still read")
    func fileRoundTrip() throws {
        var s = sampleSnapshot()
        s.coveredSeq = 17
        s.journalSeq = 42
        #expect(try DetectorSnapshot(decoding: s.encoded()) == s)
        #expect(try DetectorSnapshot(decoding: DetectorSnapshot().encoded()) == DetectorSnapshot())
        #expect(Array(s.encoded().prefix(8)) == Array("VGLSNAP\0".utf8))
        var legacy = s
        legacy.coveredSeq = 0
        legacy.journalSeq = 0
        let v1 = s.encodedVersion1()
        #expect(v1[8] == 1)
        #expect(try DetectorSnapshot(decoding: v1) == legacy, "version 1 has no seqs")
        let reader = try DetectorSnapshotReader(SnapshotBytes(v1))
        #expect(reader.version == 1 && reader.coveredSeq == 0 && reader.sensorRecordCount == 2 && reader.assetRecordCount == 1)
    }

    @Test("a streamed file of many sections, in any order, reads back record for record")
    func streamedSections() throws {
        let s = sampleSnapshot()
        var assembler = DetectorSnapshotAssembler()
        var bytes = assembler.header()
        // Worker-like interleaving: sensors, assets, sensors, an empty asset section.
        var expected: [String] = []
        for (k, chunk) in [[s.sensors[0]], [], [s.sensors[1]]].enumerated() {
            if k == 1 {
                var a = DetectorSnapshotFormat.SectionBuilder(.assets)
                a.appendAsset(name: s.assets[0].name, fingerprint: s.assets[0].fingerprint, members: s.assets[0].members) { $0.writeRaw(s.assets[0].state) }
                let payload = a.finish()
                let (p, x) = assembler.frame(.assets, payload, records: 1)
                bytes += p + payload + x
                continue
            }
            var b = DetectorSnapshotFormat.SectionBuilder(.sensors)
            for r in chunk {
                b.appendSensor(name: r.name, fingerprint: r.fingerprint) { $0.writeRaw(r.state) }
                expected.append(r.name)
            }
            let payload = b.finish()
            let (p, x) = assembler.frame(.sensors, payload, records: chunk.count)
            bytes += p + payload + x
        }
        let empty = DetectorSnapshotFormat.SectionBuilder(.assets)
        var e = empty
        let payload = e.finish()
        let (p, x) = assembler.frame(.assets, payload, records: 0)
        bytes += p + payload + x
        bytes += assembler.finish(names: s.names, coveredSeq: 3, journalSeq: 9, createdAt: 123)
        var reader = try DetectorSnapshotReader(SnapshotBytes(bytes))
        #expect(reader.names == s.names && reader.coveredSeq == 3 && reader.journalSeq == 9 && reader.createdAt == 123)
        var names: [String] = []
        var assets: [String] = []
        while let section = try reader.next() {
            switch section {
            case .sensors(let records):
                names += records.map(\.name)
                for r in records { #expect(r.state.remainingBytes == s.sensors.first { $0.name == r.name }!.state) }
            case .assets(let records): assets += records.map(\.name)
            }
        }
        #expect(names == expected && assets == ["asset"])
        #expect(try DetectorSnapshot(decoding: bytes).sensors == s.sensors)
    }

    enum Damage: String, CaseIterable, CustomStringConvertible {
        case empty, shortHeader, badMagic, newerVersion, versionZero, halfMissing, lastByteMissing, trailingByte,
             flippedPayloadByte, flippedChecksum, hugeLength, unknownFlags, endSectionCounts
        var description: String { rawValue }
    }

    @Test("damaged files throw a clear SnapshotError", arguments: Damage.allCases)
    func damaged(_ damage: Damage) {
        let good = sampleSnapshot().encoded()
        var bytes = good
        let expected: SnapshotError.Reason
        // The first section (sensors) starts at 16: kind at 16, length at 17…20, payload at 21.
        switch damage {
        case .empty: bytes = []; expected = .truncated
        case .shortHeader: bytes = Array(good.prefix(5)); expected = .truncated
        case .badMagic: bytes[0] = UInt8(ascii: "X"); expected = .badMagic
        case .newerVersion: bytes[8] = 3; expected = .unsupportedVersion(3)
        case .versionZero: bytes[8] = 0; expected = .unsupportedVersion(0)
        case .halfMissing: bytes = Array(good.prefix(good.count / 2)); expected = .truncated
        case .lastByteMissing: bytes.removeLast(); expected = .truncated
        case .trailingByte: bytes.append(0); expected = .truncated
        case .flippedPayloadByte: bytes[40] ^= 0x10; expected = .checksumMismatch
        case .flippedChecksum: bytes[bytes.count - 1] ^= 1; expected = .checksumMismatch
        case .hugeLength: bytes[20] = 0x7F; expected = .truncated
        case .unknownFlags: bytes[12] = 1; expected = .corrupt
        case .endSectionCounts:
            // A valid end section that promises one more sensor than the file holds.
            var s = sampleSnapshot()
            s.sensors.removeLast()
            var a = DetectorSnapshotAssembler()
            bytes = a.header()
            var b = DetectorSnapshotFormat.SectionBuilder(.sensors)
            b.appendSensor(name: "a", fingerprint: 1) { $0.write(UInt8(0)) }
            let payload = b.finish()
            let (p, x) = a.frame(.sensors, payload, records: 2)
            bytes += p + payload + x + a.finish(names: ["a"], coveredSeq: 0, journalSeq: 0, createdAt: 0)
            expected = .corrupt
        }
        do {
            _ = try DetectorSnapshot(decoding: bytes)
            Issue.record("\(damage) was accepted")
        } catch {
            #expect(error.reason == expected, "\(error)")
            #expect(error.description.hasPrefix("detector snapshot"), "\(error)")
        }
    }

    @Test("damaged version-1 files throw a clear SnapshotError", arguments: Damage.allCases.filter { ![.unknownFlags, .endSectionCounts, .hugeLength].contains($0) })
    func damagedVersion1(_ damage: Damage) {
        let good = sampleSnapshot().encodedVersion1()
        var bytes = good
        let expected: SnapshotError.Reason
        switch damage {
        case .empty: bytes = []; expected = .truncated
        case .shortHeader: bytes = Array(good.prefix(5)); expected = .truncated
        case .badMagic: bytes[0] = UInt8(ascii: "X"); expected = .badMagic
        case .newerVersion: bytes[8] = 3; expected = .unsupportedVersion(3)
        case .versionZero: bytes[8] = 0; expected = .unsupportedVersion(0)
        case .halfMissing: bytes = Array(good.prefix(good.count / 2)); expected = .truncated
        case .lastByteMissing: bytes.removeLast(); expected = .truncated
        case .trailingByte: bytes.append(0); expected = .corrupt
        case .flippedPayloadByte: bytes[40] ^= 0x10; expected = .checksumMismatch
        case .flippedChecksum: bytes[bytes.count - 1] ^= 1; expected = .checksumMismatch
        default: return
        }
        do {
            _ = try DetectorSnapshot(decoding: bytes)
            Issue.record("\(damage) was accepted")
        } catch {
            #expect(error.reason == expected, "\(error)")
        }
    }

    @Test("every truncation and every single-byte change of a file is rejected, never a crash", arguments: [1, 2])
    func exhaustiveDamage(version: Int) {
        let good = version == 1 ? sampleSnapshot().encodedVersion1() : sampleSnapshot().encoded()
        for n in 0..<good.count {
            #expect(throws: SnapshotError.self) { try DetectorSnapshot(decoding: Array(good.prefix(n))) }
        }
        for k in stride(from: 0, to: good.count, by: max(1, good.count / 500)) {
            var bytes = good
            bytes[k] ^= 0xA5
            #expect(throws: SnapshotError.self) { try DetectorSnapshot(decoding: bytes) }
        }
    }

    @Test("a damaged record behind a valid checksum is rejected on restore, never a crash")
    func damagedRecords() throws {
        let settings = DetectorSettings(zscore: .init(ZScoreSettings(mode: .robust, window: 32, warmup: 8), alerts: AlertPolicy(threshold: 5, criticalThreshold: 8)),
                                        spectralResidual: .init(SpectralResidualConfiguration(window: 16), alerts: AlertPolicy(threshold: 0.5, criticalThreshold: 0.9)),
                                        combine: DetectorSettings.defaultCombine)
        var chain = SensorDetectors(sensor: 0, settings: settings)
        let values = testSeries(300)
        for (i, v) in values.enumerated() { chain.process(Sample(sensor: 0, timestamp: Int64(i), value: v), emit: { _ in }) }
        var w = SnapshotWriter()
        chain.write(to: &w)
        let state = w.bytes
        // Every truncation of the record throws.
        for n in 0..<state.count {
            var r = SnapshotReader(Array(state.prefix(n)))
            #expect(throws: SnapshotError.self) { _ = try SensorDetectors(sensor: 0, settings: settings, restoringFrom: &r) }
        }
        // Random damage either throws or yields a chain that runs without trapping.
        var rng = Xoshiro256StarStar(seed: 99)
        var rejected = 0
        for _ in 0..<400 {
            var bytes = state
            for _ in 0..<3 {
                let k = Int(rng.nextUnit() * Double(bytes.count)) % bytes.count
                bytes[k] = UInt8(truncatingIfNeeded: Int(rng.nextUnit() * 256))
            }
            var r = SnapshotReader(bytes)
            do {
                var restored = try SensorDetectors(sensor: 0, settings: settings, restoringFrom: &r)
                for (i, v) in values.prefix(80).enumerated() { restored.process(Sample(sensor: 0, timestamp: Int64(i), value: v), emit: { _ in }) }
            } catch {
                rejected += 1
            }
        }
        #expect(rejected > 0)
        // A record of another chain's layout is rejected.
        var r = SnapshotReader(state)
        #expect(throws: SnapshotError.self) { _ = try SensorDetectors(sensor: 0, settings: DetectorSettings(), restoringFrom: &r) }
    }

    @Test("the settings fingerprint is stable and changes with any setting")
    func fingerprint() {
        let base = DetectorSettings(zscore: DetectorSettings.defaultZScore, combine: DetectorSettings.defaultCombine)
        #expect(base.fingerprint == DetectorSettings(zscore: DetectorSettings.defaultZScore, combine: DetectorSettings.defaultCombine).fingerprint)
        #expect(DetectorSettings().fingerprint != base.fingerprint)
        var other = base
        for change in [{ (s: inout DetectorSettings) in s.surprise!.configuration.warmup += 1 },
                       { $0.surprise!.configuration.horizon += 1 }, { $0.surprise!.configuration.seasonal = false },
                       { $0.surprise!.configuration.recentRange = false }, { $0.surprise!.alerts.relearnAfter = 0 },
                       { $0.surprise!.alerts.threshold = 5 }, { $0.surprise = nil }] {
            other = base
            change(&other)
            #expect(other.fingerprint != base.fingerprint)
        }
        other = base
        other.zscore!.configuration.window += 1
        #expect(other.fingerprint != base.fingerprint)
        other = base
        other.combine!.alerts.threshold = 0.5
        #expect(other.fingerprint != base.fingerprint)
        other = base
        other.calibration.history = 100
        #expect(other.fingerprint != base.fingerprint)
        other = base
        other.zscore!.configuration.mode = .ewma
        #expect(other.fingerprint != base.fingerprint)
    }
}
