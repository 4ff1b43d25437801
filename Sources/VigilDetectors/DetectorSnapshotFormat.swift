// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// The version-2 detector snapshot as a stream of sections (layout in `DetectorSnapshot`), so that
/// a checkpoint is written while workers produce it and read back without holding the file:
/// each worker serialises its own sensors into section payloads (`SectionBuilder`), the writer
/// frames each one (`section(_:_:)`) as it arrives, and the names and `endSection` close the file.
///
/// Threading: plain functions and values; a `SectionBuilder` belongs to the thread filling it.
public enum DetectorSnapshotFormat {
    /// The format version these functions write.
    public static let version: UInt32 = 2

    /// What a section holds.
    public enum SectionKind: UInt8, Sendable {
        case sensors = 1
        case assets = 2
        case names = 3
        case end = 4
    }

    /// Bytes of the file header: magic, version, flags.
    public static let headerSize = 16
    /// Bytes before a section's payload: kind and length.
    public static let sectionPrefixSize = 5
    /// Bytes after a section's payload: its checksum.
    public static let sectionSuffixSize = 8
    /// Bytes of the end section's payload.
    static let endPayloadSize = 6 * 8 + 4
    /// Bytes of the whole end section, the last of the file.
    public static let endSectionSize = sectionPrefixSize + endPayloadSize + sectionSuffixSize
    /// The largest section payload a reader accepts (a writer keeps them far smaller).
    public static let maximumSectionBytes = 1 << 30

    /// The file header.
    public static var header: [UInt8] {
        var w = SnapshotWriter()
        w.writeRaw(DetectorSnapshot.magic)
        w.write(version)
        w.write(UInt32(0))
        return w.bytes
    }

    /// The bytes in front of a section payload of `length` bytes.
    public static func sectionPrefix(_ kind: SectionKind, length: Int) -> [UInt8] {
        precondition(length >= 0 && length <= maximumSectionBytes, "snapshot section of \(length) bytes")
        var w = SnapshotWriter()
        w.write(kind.rawValue)
        w.write(UInt32(length))
        return w.bytes
    }

    /// The bytes behind a section payload: its checksum.
    public static func sectionSuffix(_ payload: [UInt8]) -> [UInt8] {
        var w = SnapshotWriter()
        w.write(snapshotChecksum(payload))
        return w.bytes
    }

    /// A whole framed section.
    public static func section(_ kind: SectionKind, _ payload: [UInt8]) -> [UInt8] {
        sectionPrefix(kind, length: payload.count) + payload + sectionSuffix(payload)
    }

    /// The payload of the names section.
    public static func namesPayload(_ names: [String]) -> [UInt8] {
        var w = SnapshotWriter()
        w.write(UInt32(names.count))
        for n in names { w.write(n) }
        return w.bytes
    }

    /// What the end section records.
    public struct End: Sendable, Equatable {
        /// See `DetectorSnapshot.coveredSeq`.
        public var coveredSeq: UInt64
        /// See `DetectorSnapshot.journalSeq`.
        public var journalSeq: UInt64
        /// Wall-clock nanoseconds when the checkpoint began.
        public var createdAt: Int64
        public var sensorRecords: UInt64
        public var assetRecords: UInt64
        /// File offset of the names section.
        public var namesOffset: UInt64
        /// Sections before the end section.
        public var sections: UInt32

        public init(coveredSeq: UInt64, journalSeq: UInt64, createdAt: Int64, sensorRecords: UInt64,
                    assetRecords: UInt64, namesOffset: UInt64, sections: UInt32) {
            self.coveredSeq = coveredSeq
            self.journalSeq = journalSeq
            self.createdAt = createdAt
            self.sensorRecords = sensorRecords
            self.assetRecords = assetRecords
            self.namesOffset = namesOffset
            self.sections = sections
        }
    }

    /// The framed end section.
    public static func endSection(_ e: End) -> [UInt8] {
        var w = SnapshotWriter()
        w.write(e.coveredSeq)
        w.write(e.journalSeq)
        w.write(e.createdAt)
        w.write(e.sensorRecords)
        w.write(e.assetRecords)
        w.write(e.namesOffset)
        w.write(e.sections)
        return section(.end, w.bytes)
    }

    /// Builds one sensors or assets section payload in place: a record count, then records
    /// whose state is written straight into the payload (no intermediate array per record).
    /// Off the sample path; allocates as the payload grows.
    public struct SectionBuilder: Sendable {
        public let kind: SectionKind
        private var w = SnapshotWriter()
        /// Records appended so far.
        public private(set) var count = 0
        /// The names the records appended so far need on restore: a sensor record's name; an
        /// asset record's members in member order, then the asset.
        public private(set) var names: [String] = []
        /// Per name, the order to intern it in on restore (a sensor's registry index, so indices
        /// come back; an asset's names keep the order they are listed in).
        public private(set) var orders: [UInt32] = []

        public init(_ kind: SectionKind, reservingCapacity bytes: Int = 0) {
            precondition(kind == .sensors || kind == .assets)
            self.kind = kind
            w.reserve(bytes)
            w.write(UInt32(0))
        }

        /// A builder that writes into `buffer`'s storage (a payload handed back after it was
        /// written: no new allocation, no page faults).
        public init(_ kind: SectionKind, reusing buffer: [UInt8]) {
            precondition(kind == .sensors || kind == .assets)
            self.kind = kind
            w = SnapshotWriter(reusing: buffer)
            w.write(UInt32(0))
        }

        /// Bytes of the payload so far.
        public var byteCount: Int { w.count }

        /// Appends a sensor record; `state` writes the chain (`SensorDetectors.write(to:)`).
        /// `order` places its name among the snapshot's names (the sensor's registry index).
        public mutating func appendSensor(name: String, fingerprint: UInt64, order: UInt32 = .max,
                                          state: (inout SnapshotWriter) -> Void) {
            precondition(kind == .sensors)
            w.write(name)
            w.write(fingerprint)
            let at = w.beginBlock()
            state(&w)
            w.endBlock(at)
            count += 1
            names.append(name)
            orders.append(order)
        }

        /// Appends an asset record; `state` writes the detector (`AssetDetector.write(to:)`).
        public mutating func appendAsset(name: String, fingerprint: UInt64, members: [String], state: (inout SnapshotWriter) -> Void) {
            precondition(kind == .assets)
            w.write(name)
            w.write(fingerprint)
            w.write(UInt32(members.count))
            for m in members { w.write(m) }
            let at = w.beginBlock()
            state(&w)
            w.endBlock(at)
            count += 1
            names += members
            names.append(name)
            orders += repeatElement(.max, count: members.count + 1)
        }

        /// The payload (record count patched in); the builder starts the next payload.
        public mutating func finish() -> [UInt8] {
            w.patch(UInt32(count), at: 0)
            count = 0
            names.removeAll(keepingCapacity: true)
            orders.removeAll(keepingCapacity: true)
            let payload = w.take()
            w.write(UInt32(0))
            return payload
        }
    }
}

/// A random-access source of snapshot bytes: a file read with `pread`, or bytes in memory.
public protocol SnapshotSource {
    /// Total bytes.
    var size: Int { get }
    /// `count` bytes at `offset`; the range lies within `size`. Throws `SnapshotError` when the
    /// bytes cannot be read (an I/O error is reported as `.truncated` with its reason).
    func read(at offset: Int, count: Int) throws(SnapshotError) -> [UInt8]
}

/// Snapshot bytes in memory.
public struct SnapshotBytes: SnapshotSource, Sendable {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var size: Int { bytes.count }
    public func read(at offset: Int, count: Int) throws(SnapshotError) -> [UInt8] {
        Array(bytes[offset..<(offset + count)])
    }
}

/// A sensor record as read from a section: its state is a reader over the section's bytes (no
/// copy until a chain is restored from it).
public struct SensorRecordView: Sendable {
    public var name: String
    public var fingerprint: UInt64
    public var state: SnapshotReader
}

/// An asset record as read from a section.
public struct AssetRecordView: Sendable {
    public var name: String
    public var fingerprint: UInt64
    public var members: [String]
    public var state: SnapshotReader
}

/// Reads a snapshot file (version 2, or version 1 whole) section by section, checking each
/// section's checksum before handing out its records, so that a restore holds one section at a
/// time instead of the file. The end section is read first (a file cut short has none and is
/// refused before anything is restored), then the names, then `next()` yields the record
/// sections in file order and finally checks that every section and record the end promised
/// was there.
///
/// Every problem throws `SnapshotError`; nothing traps on bad bytes. Threading: one thread.
public struct DetectorSnapshotReader {
    /// The file's format version.
    public let version: UInt32
    /// See `DetectorSnapshot.coveredSeq` (0 for version 1).
    public let coveredSeq: UInt64
    /// See `DetectorSnapshot.journalSeq` (0 for version 1).
    public let journalSeq: UInt64
    /// Wall-clock nanoseconds when the checkpoint began (0 for version 1).
    public let createdAt: Int64
    /// Registry names in index order.
    public let names: [String]
    /// Sensor records in the file.
    public let sensorRecordCount: Int
    /// Asset records in the file.
    public let assetRecordCount: Int
    /// The file's size in bytes.
    public let size: Int

    /// What `next()` yields.
    public enum Section: Sendable {
        case sensors([SensorRecordView])
        case assets([AssetRecordView])
    }

    private let source: any SnapshotSource
    private var offset: Int
    private let end: DetectorSnapshotFormat.End?
    private let namesRange: Range<Int>
    private var sections = 0
    private var sensorsSeen = 0
    private var assetsSeen = 0
    private var legacy: [Section]
    private var finished = false

    /// Reads the header, the end section and the names. Throws for a file that is not a complete
    /// snapshot of a readable version.
    public init(_ source: any SnapshotSource) throws(SnapshotError) {
        self.source = source
        size = source.size
        let magicCount = DetectorSnapshot.magic.count
        guard size >= magicCount else {
            throw SnapshotError(.truncated, offset: 0, "\(size) bytes, shorter than the header")
        }
        guard try source.read(at: 0, count: magicCount) == DetectorSnapshot.magic else {
            throw SnapshotError(.badMagic, offset: 0, "the file does not start with VGLSNAP")
        }
        guard size >= magicCount + 4 else { throw SnapshotError(.truncated, offset: magicCount, "version: needs 4 bytes") }
        var vr = SnapshotReader(try source.read(at: magicCount, count: 4))
        let version = try vr.readUInt32("version")
        guard DetectorSnapshot.readableVersions.contains(version) else {
            throw SnapshotError(.unsupportedVersion(version), offset: 8,
                                "this build reads versions \(DetectorSnapshot.readableVersions.lowerBound)…\(DetectorSnapshot.readableVersions.upperBound)")
        }
        self.version = version
        if version == 1 {
            let whole = try DetectorSnapshot.decodeVersion1(try source.read(at: 0, count: size))
            coveredSeq = 0
            journalSeq = 0
            createdAt = 0
            names = whole.names
            sensorRecordCount = whole.sensors.count
            assetRecordCount = whole.assets.count
            legacy = [
                .sensors(whole.sensors.map { SensorRecordView(name: $0.name, fingerprint: $0.fingerprint, state: SnapshotReader($0.state)) }),
                .assets(whole.assets.map { AssetRecordView(name: $0.name, fingerprint: $0.fingerprint, members: $0.members, state: SnapshotReader($0.state)) }),
            ]
            offset = size
            end = nil
            namesRange = 0..<0
            return
        }
        legacy = []
        let headerSize = DetectorSnapshotFormat.headerSize
        let endSize = DetectorSnapshotFormat.endSectionSize
        guard size >= headerSize + endSize else {
            throw SnapshotError(.truncated, offset: size, "\(size) bytes: no room for the end section (the file was not written to the end)")
        }
        var flags = SnapshotReader(try source.read(at: magicCount + 4, count: 4))
        guard try flags.readUInt32("flags") == 0 else { throw SnapshotError(.corrupt, offset: 12, "unknown flags") }
        let endAt = size - endSize
        var endPrefix = SnapshotReader(try source.read(at: endAt, count: DetectorSnapshotFormat.sectionPrefixSize))
        guard try endPrefix.readUInt8() == DetectorSnapshotFormat.SectionKind.end.rawValue,
              try endPrefix.readUInt32() == UInt32(DetectorSnapshotFormat.endPayloadSize) else {
            throw SnapshotError(.truncated, offset: endAt, "the file does not finish with an end section (it was not written to the end)")
        }
        let (_, endPayload) = try Self.readSection(source, at: endAt, limit: size)
        var e = SnapshotReader(endPayload)
        let covered = try e.readUInt64("covered seq")
        let journal = try e.readUInt64("journal seq")
        let created = try e.readInt64("created")
        let sensorRecords = try e.readUInt64("sensor records")
        let assetRecords = try e.readUInt64("asset records")
        let namesOffset = try e.readUInt64("names offset")
        let sectionCount = try e.readUInt32("sections")
        guard covered <= journal else {
            throw SnapshotError(.corrupt, offset: endAt, "covered seq \(covered) above journal seq \(journal)")
        }
        guard sensorRecords <= UInt64(size), assetRecords <= UInt64(size),
              namesOffset >= UInt64(headerSize), namesOffset < UInt64(endAt) else {
            throw SnapshotError(.corrupt, offset: endAt, "end section out of range")
        }
        end = DetectorSnapshotFormat.End(coveredSeq: covered, journalSeq: journal, createdAt: created,
                                         sensorRecords: sensorRecords, assetRecords: assetRecords,
                                         namesOffset: namesOffset, sections: sectionCount)
        coveredSeq = covered
        journalSeq = journal
        createdAt = created
        sensorRecordCount = Int(sensorRecords)
        assetRecordCount = Int(assetRecords)
        let (namesKind, namesPayload) = try Self.readSection(source, at: Int(namesOffset), limit: endAt)
        guard namesKind == DetectorSnapshotFormat.SectionKind.names.rawValue else {
            throw SnapshotError(.corrupt, offset: Int(namesOffset), "no names section where the end section says")
        }
        namesRange = Int(namesOffset)..<(Int(namesOffset) + DetectorSnapshotFormat.sectionPrefixSize + namesPayload.count + DetectorSnapshotFormat.sectionSuffixSize)
        var nr = SnapshotReader(namesPayload)
        let nameCount = try nr.readCount("names", elementSize: 4)
        var names: [String] = []
        names.reserveCapacity(nameCount)
        for _ in 0..<nameCount { names.append(try nr.readString("name")) }
        try nr.expectEnd("names section")
        self.names = names
        offset = headerSize
    }

    /// Reads one framed section at `at` that must end by `limit`: its kind and checked payload.
    private static func readSection(_ source: any SnapshotSource, at: Int, limit: Int) throws(SnapshotError) -> (UInt8, [UInt8]) {
        let prefixSize = DetectorSnapshotFormat.sectionPrefixSize
        guard at + prefixSize <= limit else { throw SnapshotError(.truncated, offset: at, "section header: needs \(prefixSize) bytes") }
        var p = SnapshotReader(try source.read(at: at, count: prefixSize))
        let kind = try p.readUInt8("section kind")
        let length = Int(try p.readUInt32("section length"))
        let total = prefixSize + length + DetectorSnapshotFormat.sectionSuffixSize
        guard length <= DetectorSnapshotFormat.maximumSectionBytes, at + total <= limit else {
            throw SnapshotError(.truncated, offset: at, "section of \(length) bytes does not fit in the \(limit - at - prefixSize) bytes left")
        }
        let payload = try source.read(at: at + prefixSize, count: length)
        var s = SnapshotReader(try source.read(at: at + prefixSize + length, count: 8))
        guard try s.readUInt64("section checksum") == snapshotChecksum(payload) else {
            throw SnapshotError(.checksumMismatch, offset: at, "section \(kind) of \(length) bytes was changed after it was written")
        }
        return (kind, payload)
    }

    /// The next sensors or assets section, nil after the last (then every count the end section
    /// promised has been checked).
    public mutating func next() throws(SnapshotError) -> Section? {
        if version == 1 {
            return legacy.isEmpty ? nil : legacy.removeFirst()
        }
        guard let end, !finished else { return nil }
        let endAt = size - DetectorSnapshotFormat.endSectionSize
        while offset < endAt {
            if offset == namesRange.lowerBound {
                offset = namesRange.upperBound
                sections += 1
                continue
            }
            let at = offset
            let (kind, payload) = try Self.readSection(source, at: at, limit: endAt)
            offset = at + DetectorSnapshotFormat.sectionPrefixSize + payload.count + DetectorSnapshotFormat.sectionSuffixSize
            guard offset <= namesRange.lowerBound || at >= namesRange.upperBound else {
                throw SnapshotError(.corrupt, offset: at, "a section overlaps the names section")
            }
            sections += 1
            var r = SnapshotReader(payload)
            switch kind {
            case DetectorSnapshotFormat.SectionKind.sensors.rawValue:
                let n = try r.readCount("sensor records", elementSize: 16)
                var records: [SensorRecordView] = []
                records.reserveCapacity(n)
                for _ in 0..<n {
                    let name = try r.readString("sensor name")
                    let fingerprint = try r.readUInt64("sensor fingerprint")
                    records.append(SensorRecordView(name: name, fingerprint: fingerprint, state: try r.readBlock("sensor state")))
                }
                try r.expectEnd("sensor section")
                sensorsSeen += n
                return .sensors(records)
            case DetectorSnapshotFormat.SectionKind.assets.rawValue:
                let n = try r.readCount("asset records", elementSize: 20)
                var records: [AssetRecordView] = []
                for _ in 0..<n {
                    let name = try r.readString("asset name")
                    let fingerprint = try r.readUInt64("asset fingerprint")
                    let m = try r.readCount("asset members", elementSize: 4)
                    var members: [String] = []
                    for _ in 0..<m { members.append(try r.readString("asset member")) }
                    records.append(AssetRecordView(name: name, fingerprint: fingerprint, members: members, state: try r.readBlock("asset state")))
                }
                try r.expectEnd("asset section")
                assetsSeen += n
                return .assets(records)
            default:
                throw SnapshotError(.corrupt, offset: at, "unexpected section kind \(kind)")
            }
        }
        finished = true
        guard offset == endAt else { throw SnapshotError(.corrupt, offset: offset, "sections run past the end section") }
        guard sections == Int(end.sections), sensorsSeen == Int(end.sensorRecords), assetsSeen == Int(end.assetRecords) else {
            throw SnapshotError(.corrupt, offset: endAt,
                                "the end section promises \(end.sections) sections, \(end.sensorRecords) sensors and \(end.assetRecords) assets; the file has \(sections), \(sensorsSeen) and \(assetsSeen)")
        }
        return nil
    }
}

/// Frames section payloads into a version-2 file as they come (a checkpoint streamed to disk, or
/// a snapshot assembled in memory), keeping the offsets, counts and section number the end
/// section records. The caller writes, in order: `header()`, then for each payload the prefix,
/// the payload and the suffix `frame` returns, then `finish`'s bytes.
///
/// Threading: a plain value, used by one thread.
public struct DetectorSnapshotAssembler: Sendable {
    /// Bytes produced so far (the offset of the next one).
    public private(set) var offset = 0
    public private(set) var sensorRecords: UInt64 = 0
    public private(set) var assetRecords: UInt64 = 0
    public private(set) var sections: UInt32 = 0

    public init() {}

    /// The file header.
    public mutating func header() -> [UInt8] {
        precondition(offset == 0)
        offset = DetectorSnapshotFormat.headerSize
        return DetectorSnapshotFormat.header
    }

    /// The bytes around `payload` (a sensors or assets section of `records` records).
    public mutating func frame(_ kind: DetectorSnapshotFormat.SectionKind, _ payload: [UInt8], records: Int) -> (prefix: [UInt8], suffix: [UInt8]) {
        precondition(offset > 0 && (kind == .sensors || kind == .assets))
        if kind == .sensors { sensorRecords += UInt64(records) } else { assetRecords += UInt64(records) }
        sections += 1
        offset += DetectorSnapshotFormat.sectionPrefixSize + payload.count + DetectorSnapshotFormat.sectionSuffixSize
        return (DetectorSnapshotFormat.sectionPrefix(kind, length: payload.count), DetectorSnapshotFormat.sectionSuffix(payload))
    }

    /// The names section and the end section: the last bytes of the file.
    public mutating func finish(names: [String], coveredSeq: UInt64, journalSeq: UInt64, createdAt: Int64) -> [UInt8] {
        precondition(offset > 0)
        let namesOffset = offset
        var out = DetectorSnapshotFormat.section(.names, DetectorSnapshotFormat.namesPayload(names))
        sections += 1
        out += DetectorSnapshotFormat.endSection(.init(coveredSeq: coveredSeq, journalSeq: journalSeq, createdAt: createdAt,
                                                        sensorRecords: sensorRecords, assetRecords: assetRecords,
                                                        namesOffset: UInt64(namesOffset), sections: sections))
        offset += out.count
        return out
    }
}
