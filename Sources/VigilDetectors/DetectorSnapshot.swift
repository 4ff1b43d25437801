// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// The detector state of a whole daemon, as kept in `<state>/detectors.snapshot`, so that nothing
/// a detector learned is lost across a restart or a crash. This value is the whole file in
/// memory (tests, tools, small pipelines); the daemon streams the same format section by section
/// (`DetectorSnapshotFormat` to write, `DetectorSnapshotReader` to read).
///
/// Version 2 (written), a stream of checksummed sections (see `DetectorSnapshotFormat`):
///
/// ```
/// header       16 bytes  "VGLSNAP\0", u32 version 2, u32 flags 0
/// sections     { u8 kind, u32 length, payload, u64 snapshotChecksum(payload) } …
///   1 sensors  u32 n, n × { string name, u64 settings fingerprint, u32 length, state }
///   2 assets   u32 n, n × { string name, u64 fingerprint, u32 m, m × string member, u32 length, state }
///   3 names    u32 n, n × string   every registry name in index order (sensors and assets)
///   4 end      u64 covered seq, u64 journal seq, i64 created (ns), u64 sensor records,
///              u64 asset records, u64 offset of the names section, u32 sections before it
/// ```
///
/// Any number of sensor and asset sections in any order (each worker streams its own), one
/// names section, and the end section last: a file without it was not written to the end.
/// Version 1 (one payload with one checksum, no seqs) is still read, so the first start after
/// an upgrade keeps its state.
///
/// A record's state is opaque here (`SensorDetectors.write(to:)`, `AssetDetector.write(to:)`):
/// it is length-prefixed so a record whose fingerprint no longer matches is skipped unread.
///
/// Threading: a plain value, built and read off the sample path.
public struct DetectorSnapshot: Sendable, Equatable {
    /// The first eight bytes of a snapshot file.
    public static let magic: [UInt8] = Array("VGLSNAP".utf8) + [0]
    /// The format version written.
    public static let version: UInt32 = DetectorSnapshotFormat.version
    /// The versions read.
    public static let readableVersions: ClosedRange<UInt32> = 1...2

    /// One sensor's detector chain.
    public struct SensorRecord: Sendable, Equatable {
        public var name: String
        /// `DetectorSettings.fingerprint` of the settings the chain ran with.
        public var fingerprint: UInt64
        /// `SensorDetectors.write(to:)`.
        public var state: [UInt8]

        public init(name: String, fingerprint: UInt64, state: [UInt8]) {
            self.name = name
            self.fingerprint = fingerprint
            self.state = state
        }
    }

    /// One asset's multivariate detector.
    public struct AssetRecord: Sendable, Equatable {
        public var name: String
        /// `DetectorSettings.fingerprint(of:)` of its models' settings.
        public var fingerprint: UInt64
        /// Member sensor names in vector order.
        public var members: [String]
        /// `AssetDetector.write(to:)`.
        public var state: [UInt8]

        public init(name: String, fingerprint: UInt64, members: [String], state: [UInt8]) {
            self.name = name
            self.fingerprint = fingerprint
            self.members = members
            self.state = state
        }
    }

    /// Registry names in index order (re-interned in this order on restore, so indices and asset
    /// member positions come back as they were).
    public var names: [String]
    public var sensors: [SensorRecord]
    public var assets: [AssetRecord]
    /// Every alert with a `seq` up to this was journaled before any of this state was captured
    /// (so the state reflects it); 0 when unknown (version 1).
    public var coveredSeq: UInt64
    /// The journal's `seq` when the file was committed: every alert emitted before the state was
    /// captured has a `seq` at most this; 0 when unknown (version 1).
    public var journalSeq: UInt64

    public init(names: [String] = [], sensors: [SensorRecord] = [], assets: [AssetRecord] = [],
                coveredSeq: UInt64 = 0, journalSeq: UInt64 = 0) {
        self.names = names
        self.sensors = sensors
        self.assets = assets
        self.coveredSeq = coveredSeq
        self.journalSeq = journalSeq
    }

    /// The file's bytes (version 2: one sensor section, one asset section, the names, the end).
    public func encoded(createdAt: Int64 = 0) -> [UInt8] {
        var assembler = DetectorSnapshotAssembler()
        var out = assembler.header()
        var sensorSection = DetectorSnapshotFormat.SectionBuilder(.sensors)
        for r in sensors { sensorSection.appendSensor(name: r.name, fingerprint: r.fingerprint) { $0.writeRaw(r.state) } }
        var assetSection = DetectorSnapshotFormat.SectionBuilder(.assets)
        for a in assets {
            assetSection.appendAsset(name: a.name, fingerprint: a.fingerprint, members: a.members) { $0.writeRaw(a.state) }
        }
        for (kind, count, payload) in [(DetectorSnapshotFormat.SectionKind.sensors, sensors.count, sensorSection.finish()),
                                       (.assets, assets.count, assetSection.finish())] {
            let (prefix, suffix) = assembler.frame(kind, payload, records: count)
            out += prefix + payload + suffix
        }
        out += assembler.finish(names: names, coveredSeq: coveredSeq, journalSeq: journalSeq, createdAt: createdAt)
        return out
    }

    /// The version-1 file of the same names and records (what older builds wrote; for tests of
    /// the upgrade path). Seqs are not part of version 1.
    public func encodedVersion1() -> [UInt8] {
        var p = SnapshotWriter()
        p.write(UInt32(names.count))
        for n in names { p.write(n) }
        p.write(UInt32(sensors.count))
        for s in sensors {
            p.write(s.name)
            p.write(s.fingerprint)
            p.writeBlock(s.state)
        }
        p.write(UInt32(assets.count))
        for a in assets {
            p.write(a.name)
            p.write(a.fingerprint)
            p.write(UInt32(a.members.count))
            for m in a.members { p.write(m) }
            p.writeBlock(a.state)
        }
        var w = SnapshotWriter()
        w.writeRaw(Self.magic)
        w.write(UInt32(1))
        w.write(UInt64(p.bytes.count))
        w.writeRaw(p.bytes)
        w.write(fnv1a64(p.bytes))
        return w.bytes
    }

    /// Parses a whole file's bytes (version 1 or 2). Throws `SnapshotError` for anything but a
    /// complete, intact snapshot of a readable version: wrong magic, other version, truncation,
    /// trailing bytes, checksum mismatch, malformed records. Never traps.
    public init(decoding bytes: [UInt8]) throws(SnapshotError) {
        var reader = try DetectorSnapshotReader(SnapshotBytes(bytes))
        var sensors: [SensorRecord] = []
        var assets: [AssetRecord] = []
        while let section = try reader.next() {
            switch section {
            case .sensors(let records):
                sensors += records.map { SensorRecord(name: $0.name, fingerprint: $0.fingerprint, state: $0.state.remainingBytes) }
            case .assets(let records):
                assets += records.map { AssetRecord(name: $0.name, fingerprint: $0.fingerprint, members: $0.members, state: $0.state.remainingBytes) }
            }
        }
        self.init(names: reader.names, sensors: sensors, assets: assets, coveredSeq: reader.coveredSeq, journalSeq: reader.journalSeq)
    }

    /// Parses version 1: one payload (names, sensors, assets) and one FNV-1a checksum.
    static func decodeVersion1(_ bytes: [UInt8]) throws(SnapshotError) -> DetectorSnapshot {
        var r = SnapshotReader(bytes)
        try r.skip(Self.magic.count + 4)
        let lengthAt = r.offset
        let length = try r.readUInt64("payload length")
        guard length <= UInt64(r.remaining), r.remaining - Int(length) >= 8 else {
            throw SnapshotError(.truncated, offset: lengthAt, "payload of \(length) bytes and its checksum do not fit in \(r.remaining) bytes")
        }
        guard r.remaining - Int(length) == 8 else {
            throw SnapshotError(.corrupt, offset: lengthAt, "\(r.remaining - Int(length) - 8) bytes after the checksum")
        }
        let start = r.offset
        let payloadEnd = start + Int(length)
        let checksum = fnv1a64(bytes[start..<payloadEnd])
        var tail = SnapshotReader(bytes)
        try tail.skip(payloadEnd)
        guard try tail.readUInt64("checksum") == checksum else {
            throw SnapshotError(.checksumMismatch, offset: payloadEnd, "the payload was changed after it was written")
        }
        var p = SnapshotReader(bytes, range: start..<payloadEnd)
        let nameCount = try p.readCount("names", elementSize: 4)
        var names: [String] = []
        names.reserveCapacity(nameCount)
        for _ in 0..<nameCount { names.append(try p.readString("name")) }
        let sensorCount = try p.readCount("sensor records", elementSize: 16)
        var sensors: [SensorRecord] = []
        sensors.reserveCapacity(sensorCount)
        for _ in 0..<sensorCount {
            let name = try p.readString("sensor name")
            let fingerprint = try p.readUInt64("sensor fingerprint")
            let block = try p.readBlock("sensor state")
            sensors.append(SensorRecord(name: name, fingerprint: fingerprint, state: block.remainingBytes))
        }
        let assetCount = try p.readCount("asset records", elementSize: 20)
        var assets: [AssetRecord] = []
        assets.reserveCapacity(assetCount)
        for _ in 0..<assetCount {
            let name = try p.readString("asset name")
            let fingerprint = try p.readUInt64("asset fingerprint")
            let memberCount = try p.readCount("asset members", elementSize: 4)
            var members: [String] = []
            for _ in 0..<memberCount { members.append(try p.readString("asset member")) }
            let block = try p.readBlock("asset state")
            assets.append(AssetRecord(name: name, fingerprint: fingerprint, members: members, state: block.remainingBytes))
        }
        try p.expectEnd("payload")
        return DetectorSnapshot(names: names, sensors: sensors, assets: assets)
    }
}

extension DetectorSettings {
    /// A stable 64-bit digest of every setting that shapes a sensor's detector state (detectors,
    /// their configurations and alert policies, calibration, combination). Equal settings give
    /// equal fingerprints in every process and build; a snapshot record is restored only into a
    /// chain whose settings have the record's fingerprint.
    public var fingerprint: UInt64 {
        var w = SnapshotWriter()
        // Version 2: alert state machines keep how long they have held (re-learning), and chains
        // may hold a surprise detector; no version-1 record fits a version-2 chain.
        w.write("vigil-settings-2")
        if let s = surprise {
            w.write(true)
            let c = s.configuration
            w.write(c.warmup)
            w.write(c.horizon)
            for on in [c.change, c.level, c.range, c.recentRange, c.seasonal] { w.write(on) }
            Self.write(s.alerts, to: &w)
        } else {
            w.write(false)
        }
        if let b = seasonal {
            // Only when on, so that chains without it keep the fingerprints earlier versions wrote.
            w.write("seasonal-1")
            w.write(b.minWeeks)
            w.write(b.utcOffset)
            w.write(b.rate)
        }
        if let z = zscore {
            w.write(true)
            w.write(z.configuration.mode.rawValue)
            w.write(z.configuration.window)
            w.write(z.configuration.warmup)
            w.write(z.configuration.alpha)
            w.write(z.configuration.minDeviation)
            Self.write(z.alerts, to: &w)
        } else {
            w.write(false)
        }
        if let s = spectralResidual {
            w.write(true)
            let c = s.configuration
            for v in [c.window, c.magWindow, c.scoreWindow, c.estimatedPoints, c.lookAhead, c.hop] { w.write(v) }
            Self.write(s.alerts, to: &w)
        } else {
            w.write(false)
        }
        if let f = isolationForest {
            w.write(true)
            Self.write(f.configuration, to: &w)
            Self.write(f.alerts, to: &w)
        } else {
            w.write(false)
        }
        w.write(calibration.history)
        w.write(calibration.shortWindow)
        w.write(calibration.warmup)
        if let c = combine {
            w.write(true)
            w.write(c.configuration.rule.rawValue)
            // The per-sensor detectors only (`pca` is an asset's), so fingerprints stay as they were.
            for kind in DetectorKind.allCases where kind != .pca { w.write(c.configuration.weights[kind] ?? .nan) }
            Self.write(c.alerts, to: &w)
        } else {
            w.write(false)
        }
        return fnv1a64(w.bytes)
    }

    /// The fingerprint of an asset's models (an `AssetDetector`'s settings). With only an isolation
    /// forest it is that section's fingerprint, as earlier versions computed it, so their
    /// snapshots still restore.
    public static func fingerprint(of settings: AssetDetector.Settings) -> UInt64 {
        if settings.pca == nil, let forest = settings.isolationForest { return fingerprint(of: forest) }
        var w = SnapshotWriter()
        w.write("vigil-asset-settings-2")
        if let f = settings.isolationForest {
            w.write(true)
            write(f.configuration, to: &w)
            write(f.alerts, to: &w)
        } else {
            w.write(false)
        }
        if let p = settings.pca {
            w.write(true)
            let c = p.configuration
            switch c.components {
            case .auto: w.write(UInt8(0))
            case .count(let n): w.write(UInt8(1)); w.write(n)
            case .variance(let f): w.write(UInt8(2)); w.write(f)
            }
            w.write(c.lags)
            w.write(c.warmup)
            w.write(c.baselineStart ?? .min)
            w.write(c.baselineEnd ?? .min)
            w.write(c.limits.rawValue)
            for v in [c.alpha, c.t2Factor, c.smoothing, c.forgetting] { w.write(v) }
            w.write(c.updateEvery)
            w.write(c.relearnAfter)
            write(p.alerts, to: &w)
        } else {
            w.write(false)
        }
        return fnv1a64(w.bytes)
    }

    /// The fingerprint of an asset's isolation forest section.
    public static func fingerprint(of section: DetectorSection<IsolationForestConfiguration>) -> UInt64 {
        var w = SnapshotWriter()
        w.write("vigil-asset-settings-1")
        write(section.configuration, to: &w)
        write(section.alerts, to: &w)
        return fnv1a64(w.bytes)
    }

    private static func write(_ c: IsolationForestConfiguration, to w: inout SnapshotWriter) {
        for v in [c.trees, c.sampleSize, c.trainingWindow, c.retrainEvery] { w.write(v) }
        w.write(c.driftThreshold)
        w.write(c.extended)
        w.write(c.features.rawValue)
        w.write(c.shingle)
        w.write(c.seed)
    }

    private static func write(_ p: AlertPolicy, to w: inout SnapshotWriter) {
        w.write(p.threshold)
        w.write(p.criticalThreshold)
        w.write(p.raiseAfter)
        w.write(p.clearAfter)
        w.write(p.clearRatio)
        w.write(p.relearnAfter)
    }
}
