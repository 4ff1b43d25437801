// SPDX-License-Identifier: GPL-3.0-or-later

/// Decodes ingest payloads (the JSON and `VGL1` binary forms of the design brief) into samples,
/// checks their timestamps (`TimestampPolicy`) and interns the sensor ids of the samples it keeps.
///
/// Every malformed message is dropped whole and counted by reason in `drops`; a non-finite value,
/// a late sample or a timestamp too far from the clock drops only its own sample. Decoding never
/// touches another message's or sensor's data.
///
/// A sensor id is interned only when its message decodes whole and at least one of its samples
/// is accepted: a message is first parsed into a pending form (ids not yet in the registry are
/// collected in the decoder's own scratch space, their samples marked with a pending code), then
/// validated, and only then are the new ids with accepted samples interned. So a flood of
/// malformed or rejected messages naming new sensors leaves the registry as it was.
///
/// Threading: one decoder per ingest thread; it is the registry's single writer.
/// The hot path allocates nothing once `out`, the per-sensor arrays and the scratch space have
/// grown to their working size (they grow only when a message brings more new ids than any
/// before, or when the registry grows).
public struct IngestDecoder {
    public let registry: SensorRegistry
    public let drops: DropCounters
    /// Messages larger than this are dropped as `oversized_message`.
    public var maxMessageBytes: Int
    /// Reorder window and clock bounds applied to every sample.
    public var timestampPolicy: TimestampPolicy
    /// The arrival clock recorded for the sensors of the samples accepted next (any monotonic
    /// unit; the daemon sets nanoseconds of `CLOCK_MONOTONIC` once per ingest round). Idle
    /// eviction compares it with `lastArrival(of:)`.
    public var arrivalClock: Int64 = 0
    /// Longest accepted sensor id, in bytes.
    public static let maxSensorIDBytes = 1024

    /// Per registry index: the newest accepted timestamp that was not ahead of the clock
    /// (`Int64.min` for none yet) and the arrival clock of its last accepted sample.
    struct SensorTimes {
        var newest: Int64
        var arrival: Int64
    }
    private var times: [SensorTimes] = []

    /// Codes at or above this mark a sample of a pending (not yet interned) id: `pendingBase + k`
    /// is the k-th new id of the message being decoded. Registry indices stay below it.
    static let pendingBase = UInt32(SensorRegistry.maximumLimit) + 1
    /// The message's new ids: bytes, hash, and what validation made of them.
    private var pending = PendingIDs()

    public init(registry: SensorRegistry, drops: DropCounters, maxMessageBytes: Int = 16 << 20,
                timestampPolicy: TimestampPolicy = .unchecked) {
        self.registry = registry
        self.drops = drops
        self.maxMessageBytes = maxMessageBytes
        self.timestampPolicy = timestampPolicy
        times.reserveCapacity(min(registry.limit, 1024))
    }

    /// The binary payload's magic bytes.
    public static let binaryMagic: [UInt8] = Array("VGL1".utf8)

    /// Decodes one message and appends its accepted samples to `out`; returns the number appended.
    /// `topic` is the first frame of a two-frame message (the default sensor id).
    /// `now` is the daemon's clock (ns since the epoch): it stands in for a missing `ts` and is
    /// what `timestampPolicy` measures against.
    public mutating func decode(topic: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer,
                                now: Int64, into out: inout [Sample]) -> Int {
        if payload.count > maxMessageBytes {
            drops.record(.oversizedMessage, samples: 0)
            return 0
        }
        pending.reset()
        if payload.count >= 4, payload[0] == 0x56, payload[1] == 0x47, payload[2] == 0x4C, payload[3] == 0x31 {
            return decodeBinary(topic: topic, payload: payload, now: now, into: &out)
        }
        let start = out.count
        var parser = JSONIngestParser(bytes: payload, topic: topic, now: now)
        let result = parser.parseMessage(decoder: &self, into: &out)
        switch result {
        case .ok:
            if parser.nonFinite > 0 { drops.record(.nonFiniteValue, samples: parser.nonFinite) }
            return admit(from: start, now: now, into: &out)
        case .failed(let reason):
            let lost = out.count - start
            out.removeSubrange(start...)
            drops.record(reason, samples: lost)
            return 0
        }
    }

    /// Convenience for tests and tools: decodes a message given as byte arrays.
    public mutating func decode(topic: [UInt8]?, payload: [UInt8], now: Int64 = 0) -> [Sample] {
        var out: [Sample] = []
        payload.withUnsafeBytes { p in
            if let topic {
                topic.withUnsafeBytes { t in _ = decode(topic: t, payload: p, now: now, into: &out) }
            } else {
                _ = decode(topic: nil, payload: p, now: now, into: &out)
            }
        }
        return out
    }

    // MARK: Per-sensor ingest state

    /// The arrival clock of the last accepted sample of `index` (or of the moment the decoder
    /// first learnt of the index, for sensors interned elsewhere: restored or asset names); nil
    /// for an index the decoder has not seen.
    public func lastArrival(of index: UInt32) -> Int64? {
        Int(index) < times.count ? times[Int(index)].arrival : nil
    }

    /// The newest accepted timestamp of `index` that was not ahead of the clock (nil when none).
    public func newestTimestamp(of index: UInt32) -> Int64? {
        guard Int(index) < times.count, times[Int(index)].newest != .min else { return nil }
        return times[Int(index)].newest
    }

    /// Forgets what the decoder knows of `index` (its registry slot was released and may be
    /// reused by another sensor).
    public mutating func forget(_ index: UInt32) {
        guard Int(index) < times.count else { return }
        times[Int(index)] = SensorTimes(newest: .min, arrival: arrivalClock)
    }

    /// Starts tracking every registry index interned elsewhere (restored sensors, asset names):
    /// they count as arriving now. Call off the per-sample path (idle eviction does, before a scan).
    public mutating func trackRegistry() {
        if times.count < registry.count { coverRegistry() }
    }

    /// Makes `times` cover every registry index (indices interned elsewhere start with no
    /// newest timestamp and arrive now).
    @inline(never)
    private mutating func coverRegistry() {
        let n = registry.count
        while times.count < n { times.append(SensorTimes(newest: .min, arrival: arrivalClock)) }
    }

    // MARK: Sensors

    /// The code of a sensor id in the message being decoded: its registry index when it is live,
    /// else a pending code (the same for every mention of the id in the message). Nothing is
    /// interned here.
    @inline(__always)
    mutating func sensorCode(_ id: UnsafeRawBufferPointer) -> Result<UInt32, JSONIngestParser.Failure> {
        if id.isEmpty { return .failure(.init(reason: .emptySensorID)) }
        if id.count > Self.maxSensorIDBytes { return .failure(.init(reason: .sensorIDTooLong)) }
        if let index = registry.lookup(id) {
            if Int(index) >= times.count { coverRegistry() }
            return .success(index)
        }
        // A new id must be UTF-8: two invalid byte strings would otherwise share one name.
        guard Self.isValidUTF8(id) else { return .failure(.init(reason: .invalidSensorID)) }
        return .success(Self.pendingBase + pending.code(for: id))
    }

    /// Whether `bytes` are well-formed UTF-8 (no allocation).
    static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var ascii = true
        for b in bytes where b >= 0x80 { ascii = false; break }
        if ascii { return true }
        var iterator = bytes.makeIterator()
        var codec = UTF8()
        while true {
            switch codec.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// Interns the pending ids that have an accepted sample and records their times; the others
    /// are forgotten. Returns false when some id could not be interned (the registry is full):
    /// its `resolved` is -1 and its samples must be dropped as `sensor_limit`.
    private mutating func internAccepted() -> Bool {
        var complete = true
        for k in 0..<pending.count where pending.accepted[k] {
            let index = pending.withBytes(k) { registry.intern($0) }
            guard let index else {
                pending.resolved[k] = -1
                complete = false
                continue
            }
            pending.resolved[k] = Int64(index)
            if Int(index) >= times.count { coverRegistry() }
            times[Int(index)] = SensorTimes(newest: pending.newest[k], arrival: arrivalClock)
        }
        return complete
    }

    // MARK: Validation

    /// Applies `timestampPolicy` to the samples `out[start...]` of a message that decoded whole,
    /// keeps the accepted ones in order, interns the new ids among them and replaces their
    /// pending codes; counts every dropped sample by reason. Returns the number kept.
    private mutating func admit(from start: Int, now: Int64, into out: inout [Sample]) -> Int {
        let end = out.count
        if start == end { return 0 }
        let policy = timestampPolicy
        let futureBound = policy.maxFuture > 0 ? now.addingSaturating(policy.maxFuture) : .max
        let pastBound = policy.maxPast > 0 ? now.subtractingSaturating(policy.maxPast) : .min
        let window = policy.reorderWindow
        let clock = arrivalClock
        var future = 0, past = 0, late = 0
        var kept = start
        for r in start..<end {
            let s = out[r]
            let ts = s.timestamp
            if ts > futureBound { future += 1; continue }
            if ts < pastBound { past += 1; continue }
            if s.sensor < Self.pendingBase {
                let i = Int(s.sensor)
                if window > 0 {
                    let newest = times[i].newest
                    if TimestampPolicy.isLate(ts, newest: newest, window: window) { late += 1; continue }
                    if ts > newest && ts <= now { times[i].newest = ts }
                }
                times[i].arrival = clock
            } else {
                let k = Int(s.sensor - Self.pendingBase)
                if window > 0 {
                    let newest = pending.newest[k]
                    if TimestampPolicy.isLate(ts, newest: newest, window: window) { late += 1; continue }
                    if ts > newest && ts <= now { pending.newest[k] = ts }
                }
                pending.accepted[k] = true
            }
            if kept != r { out[kept] = s }
            kept += 1
        }
        if future > 0 { drops.record(.futureTimestamp, samples: future) }
        if past > 0 { drops.record(.pastTimestamp, samples: past) }
        if late > 0 { drops.record(.lateSample, samples: late) }
        if pending.count > 0 {
            let complete = internAccepted()
            var w = start
            var overLimit = 0
            for r in start..<kept {
                var s = out[r]
                if s.sensor >= Self.pendingBase {
                    let index = pending.resolved[Int(s.sensor - Self.pendingBase)]
                    if index < 0 { overLimit += 1; continue }
                    s.sensor = UInt32(index)
                }
                out[w] = s
                w += 1
            }
            if !complete { drops.record(.sensorLimit, samples: overLimit) }
            kept = w
        }
        out.removeSubrange(kept...)
        return kept - start
    }

    // MARK: Binary

    private mutating func decodeBinary(topic: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer,
                                       now: Int64, into out: inout [Sample]) -> Int {
        guard payload.count >= 6 else { drops.record(.truncatedFrame, samples: 0); return 0 }
        let idLength = Int(payload.loadUnaligned(fromByteOffset: 4, as: UInt16.self).littleEndian)
        guard payload.count >= 6 + idLength + 4 else { drops.record(.truncatedFrame, samples: 0); return 0 }
        let count = Int(payload.loadUnaligned(fromByteOffset: 6 + idLength, as: UInt32.self).littleEndian)
        let body = 10 + idLength
        let needed = count.multipliedReportingOverflow(by: 16)
        if needed.overflow || payload.count - body < needed.partialValue {
            drops.record(.truncatedFrame, samples: count)
            return 0
        }
        if payload.count - body > needed.partialValue {
            drops.record(.overlongFrame, samples: count)
            return 0
        }
        var id = UnsafeRawBufferPointer(rebasing: payload[6..<(6 + idLength)])
        if idLength == 0 {
            guard let topic else { drops.record(.missingSensor, samples: count); return 0 }
            id = topic
        }
        let code: UInt32
        switch sensorCode(id) {
        case .success(let c): code = c
        case .failure(let failure): drops.record(failure.reason, samples: count); return 0
        }
        let known = code < Self.pendingBase
        // One sensor: its newest timestamp lives in a register for the whole batch.
        let policy = timestampPolicy
        let futureBound = policy.maxFuture > 0 ? now.addingSaturating(policy.maxFuture) : .max
        let pastBound = policy.maxPast > 0 ? now.subtractingSaturating(policy.maxPast) : .min
        let window = policy.reorderWindow
        var newest = known ? times[Int(code)].newest : Int64.min
        let start = out.count
        out.reserveCapacity(start + count)
        var nonFinite = 0, future = 0, past = 0, late = 0
        var offset = body
        for _ in 0..<count {
            let ts = Int64(littleEndian: payload.loadUnaligned(fromByteOffset: offset, as: Int64.self))
            let bits = UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
            let value = Double(bitPattern: bits)
            offset += 16
            if !value.isFinite { nonFinite += 1; continue }
            if ts > futureBound { future += 1; continue }
            if ts < pastBound { past += 1; continue }
            if window > 0 {
                if TimestampPolicy.isLate(ts, newest: newest, window: window) { late += 1; continue }
                if ts > newest && ts <= now { newest = ts }
            }
            out.append(Sample(sensor: code, timestamp: ts, value: value))
        }
        if nonFinite > 0 { drops.record(.nonFiniteValue, samples: nonFinite) }
        if future > 0 { drops.record(.futureTimestamp, samples: future) }
        if past > 0 { drops.record(.pastTimestamp, samples: past) }
        if late > 0 { drops.record(.lateSample, samples: late) }
        let accepted = out.count - start
        if accepted == 0 { return 0 }
        if known {
            times[Int(code)] = SensorTimes(newest: newest, arrival: arrivalClock)
            return accepted
        }
        // A new sensor with accepted samples: intern it now, or drop them all at the limit.
        pending.accepted[0] = true
        pending.newest[0] = newest
        guard internAccepted() else {
            out.removeSubrange(start...)
            drops.record(.sensorLimit, samples: accepted)
            return 0
        }
        let index = UInt32(pending.resolved[0])
        for r in start..<out.count { out[r].sensor = index }
        return accepted
    }
}

/// The new sensor ids of the message being decoded, de-duplicated by a small open-addressing
/// table over their hashes. Its arrays are reused from message to message (cleared, keeping
/// their capacity), so a warm decoder allocates nothing here.
struct PendingIDs {
    private(set) var count = 0
    private var bytes: [UInt8] = []
    private var starts: [Int] = []
    private var lengths: [Int] = []
    private var hashes: [UInt64] = []
    /// The newest accepted timestamp of each id so far (`Int64.min` for none).
    var newest: [Int64] = []
    /// Whether each id has an accepted sample.
    var accepted: [Bool] = []
    /// The registry index it was interned as, -1 when the registry was full.
    var resolved: [Int64] = []
    /// Slot → k + 1 (0 = empty); a power of two at least twice `count`.
    private var slots: [Int32] = Array(repeating: 0, count: 16)

    init() {
        bytes.reserveCapacity(256)
        starts.reserveCapacity(8); lengths.reserveCapacity(8); hashes.reserveCapacity(8)
        newest.reserveCapacity(8); accepted.reserveCapacity(8); resolved.reserveCapacity(8)
    }

    /// Empties the set for the next message (only the slots in use are cleared).
    @inline(__always)
    mutating func reset() {
        guard count > 0 else { return }
        let mask = slots.count - 1
        for h in hashes {
            var slot = Int(truncatingIfNeeded: h) & mask
            while slots[slot] != 0 { slots[slot] = 0; slot = (slot + 1) & mask }
        }
        count = 0
        bytes.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        hashes.removeAll(keepingCapacity: true)
        newest.removeAll(keepingCapacity: true)
        accepted.removeAll(keepingCapacity: true)
        resolved.removeAll(keepingCapacity: true)
    }

    /// The index k of `id` in this message, adding it when it is new.
    mutating func code(for id: UnsafeRawBufferPointer) -> UInt32 {
        let h = SensorRegistry.hash(id)
        var mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: h) & mask
        while slots[slot] != 0 {
            let k = Int(slots[slot]) - 1
            if hashes[k] == h, lengths[k] == id.count, equals(k, id) { return UInt32(k) }
            slot = (slot + 1) & mask
        }
        let k = count
        count += 1
        starts.append(bytes.count)
        lengths.append(id.count)
        bytes.append(contentsOf: id)
        hashes.append(h)
        newest.append(.min)
        accepted.append(false)
        resolved.append(-1)
        if 2 * count > slots.count {
            slots = Array(repeating: 0, count: slots.count * 2)
            mask = slots.count - 1
            for j in 0..<count {
                var s = Int(truncatingIfNeeded: hashes[j]) & mask
                while slots[s] != 0 { s = (s + 1) & mask }
                slots[s] = Int32(j + 1)
            }
        } else {
            slots[slot] = Int32(k + 1)
        }
        return UInt32(k)
    }

    private func equals(_ k: Int, _ id: UnsafeRawBufferPointer) -> Bool {
        bytes.withUnsafeBytes { all in
            id.isEmpty || memcmpBytes(all.baseAddress! + starts[k], id.baseAddress!, id.count)
        }
    }

    /// Calls `body` with the bytes of id k.
    func withBytes<R>(_ k: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        bytes.withUnsafeBytes { all in body(UnsafeRawBufferPointer(rebasing: all[starts[k]..<(starts[k] + lengths[k])])) }
    }
}

extension Int64 {
    /// `self + other`, clamped to the representable range.
    @inline(__always)
    func addingSaturating(_ other: Int64) -> Int64 {
        let (v, o) = addingReportingOverflow(other)
        return o ? (other > 0 ? .max : .min) : v
    }

    /// `self - other`, clamped to the representable range.
    @inline(__always)
    func subtractingSaturating(_ other: Int64) -> Int64 {
        let (v, o) = subtractingReportingOverflow(other)
        return o ? (other > 0 ? .min : .max) : v
    }
}

// MARK: - JSON

/// A minimal, allocation-free JSON reader for the three ingest shapes. It appends samples with
/// the decoder's sensor codes (`IngestDecoder.sensorCode`), which may still be pending.
struct JSONIngestParser {
    enum Outcome { case ok, failed(DropReason) }
    struct Failure: Error { var reason: DropReason }

    let bytes: UnsafeRawBufferPointer
    let topic: UnsafeRawBufferPointer?
    let now: Int64
    var i = 0
    var nonFinite = 0
    /// Nesting depth of `skipValue`; deeper than `maxDepth` is rejected (no stack exhaustion).
    var depth = 0
    static let maxDepth = 64

    init(bytes: UnsafeRawBufferPointer, topic: UnsafeRawBufferPointer?, now: Int64) {
        self.bytes = bytes
        self.topic = topic
        self.now = now
    }

    mutating func parseMessage(decoder: inout IngestDecoder, into out: inout [Sample]) -> Outcome {
        do {
            skipWhitespace()
            guard i < bytes.count else { throw Failure(reason: .malformedJSON) }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                try parseObject(decoder: &decoder, into: &out)
            case UInt8(ascii: "["):
                i += 1
                skipWhitespace()
                if peek() == UInt8(ascii: "]") { i += 1 } else {
                    while true {
                        skipWhitespace()
                        guard peek() == UInt8(ascii: "{") else {
                            // Valid JSON of the wrong shape, or not JSON at all.
                            try skipValue()
                            throw Failure(reason: .wrongType)
                        }
                        try parseObject(decoder: &decoder, into: &out)
                        skipWhitespace()
                        if peek() == UInt8(ascii: ",") { i += 1; continue }
                        guard peek() == UInt8(ascii: "]") else { throw Failure(reason: .malformedJSON) }
                        i += 1
                        break
                    }
                }
            default:
                try skipValue()
                skipWhitespace()
                guard i == bytes.count else { throw Failure(reason: .malformedJSON) }
                throw Failure(reason: .wrongType)
            }
            skipWhitespace()
            guard i == bytes.count else { throw Failure(reason: .malformedJSON) }
            return .ok
        } catch let failure as Failure {
            return .failed(failure.reason)
        } catch {
            return .failed(.malformedJSON)
        }
    }

    // One sample or a batch object.
    private mutating func parseObject(decoder: inout IngestDecoder, into out: inout [Sample]) throws {
        i += 1  // {
        var sensorRange: Range<Int>? = nil
        var sensorEscaped = false
        var ts: Int64? = nil
        var value: Double? = nil
        var samplesRange: Range<Int>? = nil
        skipWhitespace()
        if peek() == UInt8(ascii: "}") { i += 1 } else {
            while true {
                skipWhitespace()
                let (keyRange, _) = try parseStringRange()
                skipWhitespace()
                guard peek() == UInt8(ascii: ":") else { throw Failure(reason: .malformedJSON) }
                i += 1
                skipWhitespace()
                switch keyKind(keyRange) {
                case .sensor:
                    guard peek() == UInt8(ascii: "\"") else { try skipValue(); throw Failure(reason: .wrongType) }
                    let (r, escaped) = try parseStringRange()
                    sensorRange = r; sensorEscaped = escaped
                case .ts:
                    ts = try parseTimestamp()
                case .value:
                    value = try parseNumberValue()
                case .samples:
                    guard peek() == UInt8(ascii: "[") else { try skipValue(); throw Failure(reason: .wrongType) }
                    let s = i
                    try skipValue()
                    samplesRange = s..<i
                case .other:
                    try skipValue()
                }
                skipWhitespace()
                if peek() == UInt8(ascii: ",") { i += 1; continue }
                guard peek() == UInt8(ascii: "}") else { throw Failure(reason: .malformedJSON) }
                i += 1
                break
            }
        }
        // The sensor's code: its index when known, else a pending code (interned after validation).
        let sensor: UInt32
        if let r = sensorRange {
            if sensorEscaped {
                let unescaped = try unescape(r)
                sensor = try unescaped.withUnsafeBytes { decoder.sensorCode($0) }.get()
            } else {
                sensor = try decoder.sensorCode(UnsafeRawBufferPointer(rebasing: bytes[r])).get()
            }
        } else if let topic {
            sensor = try decoder.sensorCode(topic).get()
        } else {
            throw Failure(reason: .missingSensor)
        }
        if let samplesRange {
            var sub = JSONIngestParser(bytes: bytes, topic: nil, now: now)
            sub.i = samplesRange.lowerBound
            try sub.parsePairs(sensor: sensor, into: &out)
            nonFinite += sub.nonFinite
            return
        }
        guard let value else { throw Failure(reason: .wrongType) }
        if value.isFinite {
            out.append(Sample(sensor: sensor, timestamp: ts ?? now, value: value))
        } else {
            nonFinite += 1
        }
    }

    // [[ts, value], ...]
    private mutating func parsePairs(sensor: UInt32, into out: inout [Sample]) throws {
        i += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "]") { i += 1; return }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "[") else { throw Failure(reason: .wrongType) }
            i += 1
            skipWhitespace()
            let ts = try parseTimestamp()
            skipWhitespace()
            guard peek() == UInt8(ascii: ",") else { throw Failure(reason: .wrongType) }
            i += 1
            skipWhitespace()
            let value = try parseNumberValue()
            skipWhitespace()
            guard peek() == UInt8(ascii: "]") else { throw Failure(reason: .wrongType) }
            i += 1
            if value.isFinite {
                out.append(Sample(sensor: sensor, timestamp: ts, value: value))
            } else {
                nonFinite += 1
            }
            skipWhitespace()
            if peek() == UInt8(ascii: ",") { i += 1; continue }
            guard peek() == UInt8(ascii: "]") else { throw Failure(reason: .malformedJSON) }
            i += 1
            return
        }
    }

    private enum Key { case sensor, ts, value, samples, other }

    @inline(__always)
    private func keyKind(_ r: Range<Int>) -> Key {
        let n = r.count
        let b = r.lowerBound
        switch n {
        case 2 where bytes[b] == 0x74 && bytes[b + 1] == 0x73: return .ts
        case 5 where bytes[b] == 0x76 && bytes[b + 1] == 0x61 && bytes[b + 2] == 0x6C && bytes[b + 3] == 0x75 && bytes[b + 4] == 0x65:
            return .value
        case 6 where bytes[b] == 0x73 && bytes[b + 1] == 0x65 && bytes[b + 2] == 0x6E && bytes[b + 3] == 0x73 && bytes[b + 4] == 0x6F && bytes[b + 5] == 0x72:
            return .sensor
        case 7 where bytes[b] == 0x73 && bytes[b + 1] == 0x61 && bytes[b + 2] == 0x6D && bytes[b + 3] == 0x70 && bytes[b + 4] == 0x6C && bytes[b + 5] == 0x65 && bytes[b + 6] == 0x73:
            return .samples
        default: return .other
        }
    }

    @inline(__always)
    private func peek() -> UInt8 { i < bytes.count ? bytes[i] : 0 }

    @inline(__always)
    private mutating func skipWhitespace() {
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { return }
        }
    }

    /// Parses a string at `i`; returns the range of its raw contents and whether it has escapes.
    private mutating func parseStringRange() throws -> (Range<Int>, Bool) {
        guard peek() == UInt8(ascii: "\"") else { throw Failure(reason: .malformedJSON) }
        i += 1
        let start = i
        var escaped = false
        var nonASCII = false
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                let r = start..<i
                i += 1
                // JSON text is UTF-8; checked only for the rare string that is not ASCII.
                if nonASCII, !IngestDecoder.isValidUTF8(UnsafeRawBufferPointer(rebasing: bytes[r])) {
                    throw Failure(reason: .malformedJSON)
                }
                return (r, escaped)
            }
            if c == UInt8(ascii: "\\") {
                escaped = true
                try skipEscape()
                continue
            }
            if c < 0x20 { throw Failure(reason: .malformedJSON) }
            if c >= 0x80 { nonASCII = true }
            i += 1
        }
        throw Failure(reason: .malformedJSON)
    }

    /// Skips one escape sequence at `i` (a backslash), requiring one of JSON's: `\"`, `\\`,
    /// `\/`, `\b`, `\f`, `\n`, `\r`, `\t` or `\u` and four hex digits.
    private mutating func skipEscape() throws {
        guard i + 1 < bytes.count else { throw Failure(reason: .malformedJSON) }
        switch bytes[i + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
             UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            i += 2
        case UInt8(ascii: "u"):
            guard i + 6 <= bytes.count, hex4(i + 2) != nil else { throw Failure(reason: .malformedJSON) }
            i += 6
        default:
            throw Failure(reason: .malformedJSON)
        }
    }

    private func unescape(_ r: Range<Int>) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(r.count)
        var k = r.lowerBound
        while k < r.upperBound {
            let c = bytes[k]
            if c != UInt8(ascii: "\\") { out.append(c); k += 1; continue }
            guard k + 1 < r.upperBound else { throw Failure(reason: .malformedJSON) }
            let e = bytes[k + 1]
            k += 2
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard k + 4 <= r.upperBound, var scalar = hex4(k) else { throw Failure(reason: .malformedJSON) }
                k += 4
                if (0xD800..<0xDC00).contains(scalar) {
                    guard k + 6 <= r.upperBound, bytes[k] == 0x5C, bytes[k + 1] == UInt8(ascii: "u"),
                          let low = hex4(k + 2), (0xDC00..<0xE000).contains(low) else { throw Failure(reason: .malformedJSON) }
                    k += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else { throw Failure(reason: .malformedJSON) }
                out.append(contentsOf: String(Character(u)).utf8)
            default:
                throw Failure(reason: .malformedJSON)
            }
        }
        return out
    }

    private func hex4(_ at: Int) -> UInt32? {
        var v: UInt32 = 0
        for k in at..<(at + 4) {
            let c = bytes[k]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: return nil
            }
            v = v << 4 | d
        }
        return v
    }

    /// A `ts`: an integer of nanoseconds or an RFC 3339 string.
    private mutating func parseTimestamp() throws -> Int64 {
        if peek() == UInt8(ascii: "\"") {
            let (r, escaped) = try parseStringRange()
            guard !escaped, let t = Timestamp.parse(UnsafeRawBufferPointer(rebasing: bytes[r])) else {
                throw Failure(reason: .badTimestamp)
            }
            return t
        }
        let start = i
        var negative = false
        if peek() == UInt8(ascii: "-") { negative = true; i += 1 }
        try rejectLeadingZero()
        var v: Int64 = 0
        var digits = 0
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(bytes[i] - 0x30))
            if o1 || o2 { throw Failure(reason: .badTimestamp) }
            v = a; i += 1; digits += 1
        }
        if digits == 0 {
            i = start
            try skipValue()
            throw Failure(reason: .badTimestamp)
        }
        let c = peek()
        if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
            i = start
            try skipValue()
            throw Failure(reason: .badTimestamp)
        }
        return negative ? -v : v
    }

    private static let exactPowers: [Double] = (0...22).map { p in
        var x = 1.0
        for _ in 0..<p { x *= 10 }
        return x
    }

    /// A JSON number, or the non-standard tokens `NaN`, `Infinity`, `-Infinity` that Python's
    /// `json` module writes (so they are counted as non-finite rather than as malformed JSON).
    private mutating func parseNumberValue() throws -> Double {
        let start = i
        var negative = false
        if peek() == UInt8(ascii: "-") { negative = true; i += 1 }
        let c0 = peek()
        if c0 == UInt8(ascii: "N") || c0 == UInt8(ascii: "I") {
            if matchLiteral("NaN") { return .nan }
            if matchLiteral("Infinity") { return negative ? -.infinity : .infinity }
            throw Failure(reason: .malformedJSON)
        }
        if c0 >= 0x30, c0 <= 0x39 { try rejectLeadingZero() }
        guard c0 >= 0x30, c0 <= 0x39 else {
            // A string, object, array, null, true or false is valid JSON of the wrong type;
            // anything else is not JSON.
            guard !negative, [UInt8(ascii: "\""), UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "t"),
                              UInt8(ascii: "f"), UInt8(ascii: "n")].contains(c0) else { throw Failure(reason: .malformedJSON) }
            i = start
            try skipValue()
            throw Failure(reason: .wrongType)
        }
        var mantissa: UInt64 = 0
        var mantissaDigits = 0
        var exponent = 0
        var overflowDigits = false
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            if mantissaDigits < 19 {
                mantissa = mantissa * 10 + UInt64(bytes[i] - 0x30)
                if mantissa != 0 { mantissaDigits += 1 }
            } else { exponent += 1; overflowDigits = true }
            i += 1
        }
        if peek() == UInt8(ascii: ".") {
            i += 1
            var any = false
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                if mantissaDigits < 19 {
                    mantissa = mantissa * 10 + UInt64(bytes[i] - 0x30)
                    if mantissa != 0 { mantissaDigits += 1 }
                    exponent -= 1
                } else { overflowDigits = true }
                i += 1; any = true
            }
            if !any { throw Failure(reason: .malformedJSON) }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            i += 1
            var expNegative = false
            if peek() == UInt8(ascii: "+") { i += 1 } else if peek() == UInt8(ascii: "-") { expNegative = true; i += 1 }
            var e = 0
            var any = false
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                if e < 100_000 { e = e * 10 + Int(bytes[i] - 0x30) }
                i += 1; any = true
            }
            if !any { throw Failure(reason: .malformedJSON) }
            exponent += expNegative ? -e : e
        }
        // Clinger's fast path: exact when the mantissa fits in 53 bits and 10^|e| is exact.
        if !overflowDigits, mantissa < (1 << 53), exponent >= -22, exponent <= 22 {
            var v = Double(mantissa)
            if exponent < 0 { v /= Self.exactPowers[-exponent] } else { v *= Self.exactPowers[exponent] }
            return negative ? -v : v
        }
        // Slow path: let the standard library round correctly.
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        guard let v = Double(text) else { throw Failure(reason: .malformedJSON) }
        return v
    }

    private mutating func matchLiteral(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard i + n <= bytes.count else { return false }
        let p = literal.utf8Start
        for k in 0..<n where bytes[i + k] != p[k] { return false }
        i += n
        return true
    }

    /// Skips any JSON value, validating its syntax.
    private mutating func skipValue() throws {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw Failure(reason: .malformedJSON) }
        skipWhitespace()
        guard i < bytes.count else { throw Failure(reason: .malformedJSON) }
        switch bytes[i] {
        case UInt8(ascii: "\""):
            _ = try parseStringRange()
        case UInt8(ascii: "{"):
            i += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "}") { i += 1; return }
            while true {
                skipWhitespace()
                _ = try parseStringRange()
                skipWhitespace()
                guard peek() == UInt8(ascii: ":") else { throw Failure(reason: .malformedJSON) }
                i += 1
                try skipValue()
                skipWhitespace()
                if peek() == UInt8(ascii: ",") { i += 1; continue }
                guard peek() == UInt8(ascii: "}") else { throw Failure(reason: .malformedJSON) }
                i += 1
                return
            }
        case UInt8(ascii: "["):
            i += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { i += 1; return }
            while true {
                try skipValue()
                skipWhitespace()
                if peek() == UInt8(ascii: ",") { i += 1; continue }
                guard peek() == UInt8(ascii: "]") else { throw Failure(reason: .malformedJSON) }
                i += 1
                return
            }
        case UInt8(ascii: "t"):
            guard matchLiteral("true") else { throw Failure(reason: .malformedJSON) }
        case UInt8(ascii: "f"):
            guard matchLiteral("false") else { throw Failure(reason: .malformedJSON) }
        case UInt8(ascii: "n"):
            guard matchLiteral("null") else { throw Failure(reason: .malformedJSON) }
        default:
            try skipNumber()
        }
    }

    /// JSON numbers have no leading zeros: `0` may only stand alone before `.`, `e` or the end.
    @inline(__always)
    private func rejectLeadingZero() throws {
        if peek() == 0x30, i + 1 < bytes.count, bytes[i + 1] >= 0x30, bytes[i + 1] <= 0x39 {
            throw Failure(reason: .malformedJSON)
        }
    }

    /// Checks a number's syntax without converting it (skipping allocates nothing).
    private mutating func skipNumber() throws {
        if peek() == UInt8(ascii: "-") { i += 1 }
        if matchLiteral("NaN") || matchLiteral("Infinity") { return }
        try rejectLeadingZero()
        func digits() -> Int {
            let start = i
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1 }
            return i - start
        }
        guard digits() > 0 else { throw Failure(reason: .malformedJSON) }
        if peek() == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { throw Failure(reason: .malformedJSON) }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            i += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw Failure(reason: .malformedJSON) }
        }
    }
}
