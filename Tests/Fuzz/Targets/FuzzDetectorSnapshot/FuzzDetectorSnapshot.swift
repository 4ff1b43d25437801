// SPDX-License-Identifier: GPL-3.0-or-later
import FuzzSupport
import VigilCore
import VigilDetectors
import VigilPipeline

// The detector snapshot reader (`DetectorSnapshot(decoding:)`, `SnapshotReader`) and restore
// into a pipeline (every detector's state reader, asset detectors) on arbitrary bytes.
//
// Input: one control byte, then the file. With control bit 0 the checksums (each section's in
// format 2, the payload's and its length in format 1) are recomputed over the mutated bytes
// first, so mutations reach the records instead of stopping at a checksum. Invariants beyond "no
// crash": what decodes, re-encoded, decodes to the same snapshot (a periodic checkpoint's
// per-worker sections re-encode as one section per kind, so the bytes may differ); a pipeline
// that restored something snapshots again, and that snapshot decodes.

/// Settings with every detector on, small enough that restoring a forest is quick.
let fuzzSettings: SettingsResolver = { name in
    let forest = IsolationForestConfiguration(trees: 8, sampleSize: 16, trainingWindow: 32, retrainEvery: 32,
                                              features: name.hasPrefix("m/") ? .asset : .shingle, shingle: 4)
    return DetectorSettings(
        zscore: .init(ZScoreSettings(mode: name.hasSuffix("/ewma") ? .ewma : name.hasSuffix("/robust") ? .robust : .rolling,
                                     window: 16, warmup: 8), alerts: AlertPolicy(threshold: 5, criticalThreshold: 8)),
        spectralResidual: .init(SpectralResidualConfiguration(window: 11, magWindow: 3, scoreWindow: 5, estimatedPoints: 5, lookAhead: 5),
                                alerts: AlertPolicy(threshold: 0.5, criticalThreshold: 0.8)),
        isolationForest: .init(forest, alerts: AlertPolicy(threshold: 0.65, criticalThreshold: 0.75)),
        calibration: CalibrationConfiguration(history: 32, shortWindow: 4, warmup: 8))
}
let fuzzAssetOf: @Sendable (String) -> String? = { $0.hasPrefix("m/") ? "machine" : nil }

func makePipeline() -> Pipeline {
    Pipeline(configuration: PipelineConfiguration(workers: 2, ringCapacity: 1024, alertRingCapacity: 256),
             registry: SensorRegistry(limit: 64), drops: DropCounters(), settings: fuzzSettings, assetOf: fuzzAssetOf)
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    Fuzz.writeSeedsIfAsked(seeds)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size >= 1 else { return 0 }
    var bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if data[0] & 1 != 0 { fixUp(&bytes) }
    let snapshot: DetectorSnapshot
    do {
        snapshot = try DetectorSnapshot(decoding: bytes)
    } catch {
        return 0
    }
    let reencoded = try? DetectorSnapshot(decoding: snapshot.encoded(createdAt: 0))
    Fuzz.check(reencoded == snapshot, "a decoded snapshot does not decode back from its own encoding")
    let pipeline = makePipeline()
    do {
        let summary = try pipeline.restore(bytes)
        let again = try DetectorSnapshot(decoding: pipeline.snapshot())
        Fuzz.check(again.sensors.count == summary.sensorsRestored, "restored \(summary.sensorsRestored), snapshot holds \(again.sensors.count)")
    } catch {
        // A record that does not fit its detectors: reported, never a crash.
    }
    return 0
}

/// Rewrites the checksums to match the mutated bytes: in format 2 each section's (walking the
/// sections from the header while their lengths fit), in format 1 the payload length and checksum.
func fixUp(_ bytes: inout [UInt8]) {
    guard bytes.count >= 16 else { return }
    let version = UInt32(bytes[8]) | UInt32(bytes[9]) << 8 | UInt32(bytes[10]) << 16 | UInt32(bytes[11]) << 24
    if version == 2 {
        var at = DetectorSnapshotFormat.headerSize
        while at + DetectorSnapshotFormat.sectionPrefixSize <= bytes.count {
            let length = Int(UInt32(bytes[at + 1]) | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3]) << 16 | UInt32(bytes[at + 4]) << 24)
            let start = at + DetectorSnapshotFormat.sectionPrefixSize
            guard start + length + DetectorSnapshotFormat.sectionSuffixSize <= bytes.count else { return }
            let sum = snapshotChecksum(Array(bytes[start..<(start + length)]))
            for k in 0..<8 { bytes[start + length + k] = UInt8(truncatingIfNeeded: sum >> (8 * k)) }
            at = start + length + DetectorSnapshotFormat.sectionSuffixSize
        }
        return
    }
    guard bytes.count >= 28 else { return }
    let payload = bytes[20..<(bytes.count - 8)]
    let length = UInt64(payload.count)
    for k in 0..<8 { bytes[12 + k] = UInt8(truncatingIfNeeded: length >> (8 * k)) }
    let sum = fnv1a64(payload)
    for k in 0..<8 { bytes[bytes.count - 8 + k] = UInt8(truncatingIfNeeded: sum >> (8 * k)) }
}

/// Snapshots of pipelines that ran the bundled fixtures' values through every detector, with an
/// asset and an alert left open; each with the checksum fix-up on and off.
private func seeds() -> [(name: String, bytes: [UInt8])] {
    var values: [Double] = []
    if let csv = Fuzz.repositoryFile("Fixtures/nab/data/realKnownCause/machine_temperature_system_failure.csv") {
        for line in String(decoding: csv, as: UTF8.self).split(separator: "\n").dropFirst().prefix(400) {
            if let v = line.split(separator: ",").last.flatMap({ Double($0) }) { values.append(v) }
        }
    }
    if values.isEmpty { values = (0..<400).map { Double($0 % 17) } }
    var seeds: [(name: String, bytes: [UInt8])] = []
    for (name, sensors, count) in [("small", ["a"], 20), ("chains", ["p/rolling", "p/ewma", "p/robust"], 200),
                                   ("asset", ["m/x", "m/y", "other"], 120), ("raised", ["spike"], 120)] {
        let p = makePipeline()
        p.start()
        var batch: [Sample] = []
        for i in 0..<count {
            for s in sensors {
                let v = name == "raised" && i == count - 1 ? 1e6 : values[i % values.count]
                batch.append(Sample(sensor: p.registry.intern(s)!, timestamp: Int64(i) * 60_000_000_000, value: v))
            }
        }
        p.submit(batch)
        p.finishIngest()
        p.join()
        p.drainAlerts { _ in }
        let bytes = p.snapshot()
        seeds.append(("\(name)-fixed", [1] + bytes))
        seeds.append(("\(name)-raw", [0] + bytes))
    }
    seeds.append(("empty", [1] + DetectorSnapshot().encoded()))
    seeds.append(("version1", [1] + DetectorSnapshot().encodedVersion1()))
    return seeds
}
