// SPDX-License-Identifier: GPL-3.0-or-later
import Foundation
import FuzzSupport
import VigilCore

// The ingest decoder (JSON and VGL1) on arbitrary bytes.
//
// Input: one control byte, then the payload. Control bits: 0 = a topic frame names the sensor,
// 1 = the shipped timestamp policy (else none), 2 = a registry of 3 sensors (else 1000),
// 3-4 = decode the payload 1 to 4 times (known-sensor paths, reorder window), 5 = a topic that
// is not UTF-8.
//
// Invariants checked beyond "no crash": the count returned is what was appended; every sample is
// finite and names a live sensor; a message that yields nothing interns nothing, and one that
// yields samples interns at most its accepted sensors; registry names stay distinct; accepted
// timestamps respect the policy; and a JSON payload the decoder accepts is JSON to Foundation too.

private let now: Int64 = 1_764_000_000 * 1_000_000_000

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    Fuzz.writeSeedsIfAsked(seeds)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size >= 1 else { return 0 }
    let control = data[0]
    let payload = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let registry = SensorRegistry(limit: control & 4 != 0 ? 3 : 1000)
    let policy: TimestampPolicy = control & 2 != 0 ? .standard : .unchecked
    var decoder = IngestDecoder(registry: registry, drops: DropCounters(), maxMessageBytes: 1 << 20, timestampPolicy: policy)
    let topic: [UInt8] = control & 32 != 0 ? [0x66, 0xFF, 0x2F] : Array("fuzz/topic".utf8)
    var out: [Sample] = []
    for round in 0..<(1 + Int(control >> 3 & 3)) {
        let before = registry.count
        let start = out.count
        let nonFiniteBefore = decoder.drops.samples(.nonFiniteValue)
        let n: Int
        if control & 1 != 0 {
            n = topic.withUnsafeBytes { decoder.decode(topic: $0, payload: payload, now: now, into: &out) }
        } else {
            n = decoder.decode(topic: nil, payload: payload, now: now, into: &out)
        }
        Fuzz.check(n >= 0 && out.count == start + n, "round \(round): returned \(n), appended \(out.count - start)")
        var sensors = Set<UInt32>()
        for s in out[start...] {
            Fuzz.check(s.value.isFinite, "non-finite value \(s.value) accepted")
            Fuzz.check(Int(s.sensor) < registry.count && registry.isLive(s.sensor), "sample of unknown sensor \(s.sensor)")
            if policy.maxFuture > 0 { Fuzz.check(s.timestamp <= now + policy.maxFuture, "future timestamp \(s.timestamp) accepted") }
            sensors.insert(s.sensor)
        }
        let interned = registry.count - before
        Fuzz.check(n > 0 || interned == 0, "a message with no accepted sample interned \(interned) sensors")
        Fuzz.check(interned <= sensors.count, "interned \(interned) sensors for \(sensors.count) accepted")
        Fuzz.check(registry.count <= registry.limit, "registry over its limit")
        let names = registry.allNames
        Fuzz.check(Set(names).count == names.count, "two sensors share a name: \(names)")
        // Our JSON is JSON: what we accept (bar the NaN/Infinity tokens we count, and numbers
        // beyond a double's range, which RFC 8259 allows and Foundation refuses) Foundation
        // parses too.
        let isBinary = payload.count >= 4 && payload.starts(with: Array("VGL1".utf8))
        if n > 0, !isBinary, decoder.drops.samples(.nonFiniteValue) == nonFiniteBefore, !contains(payload, "NaN"),
           !contains(payload, "Infinity"), !hasLongExponent(payload) {
            let parsed = try? JSONSerialization.jsonObject(with: Data(payload), options: [.fragmentsAllowed])
            Fuzz.check(parsed != nil, "accepted what Foundation says is not JSON: \(String(decoding: payload, as: UTF8.self))")
        }
    }
    return 0
}

/// Whether a number's exponent has three digits or more (`1e400`: beyond a double's range).
private func hasLongExponent(_ bytes: UnsafeRawBufferPointer) -> Bool {
    var i = 0
    while i < bytes.count {
        if (bytes[i] == 0x65 || bytes[i] == 0x45), i > 0, (0x30...0x39).contains(bytes[i - 1]) || bytes[i - 1] == 0x2E {
            var j = i + 1
            if j < bytes.count, bytes[j] == 0x2B || bytes[j] == 0x2D { j += 1 }
            var digits = 0
            while j < bytes.count, (0x30...0x39).contains(bytes[j]) { digits += 1; j += 1 }
            if digits >= 3 { return true }
        }
        i += 1
    }
    return false
}

private func contains(_ bytes: UnsafeRawBufferPointer, _ token: String) -> Bool {
    let t = Array(token.utf8)
    guard bytes.count >= t.count else { return false }
    for i in 0...(bytes.count - t.count) where bytes[i] == t[0] {
        if (0..<t.count).allSatisfy({ bytes[i + $0] == t[$0] }) { return true }
    }
    return false
}

/// Valid encodings of every shape, from the bundled fixtures' rows, with each control byte.
private func seeds() -> [(name: String, bytes: [UInt8])] {
    var rows: [(ts: Int64, value: Double)] = []
    if let csv = Fuzz.repositoryFile("Fixtures/nab/data/realKnownCause/machine_temperature_system_failure.csv") {
        for line in String(decoding: csv, as: UTF8.self).split(separator: "\n").dropFirst().prefix(64) {
            let cells = line.split(separator: ",")
            guard cells.count == 2, let ts = Timestamp.parse(String(cells[0])), let v = Double(cells[1]) else { continue }
            rows.append((ts, v))
        }
    }
    if rows.isEmpty { rows = (0..<16).map { (now - Int64(16 - $0) * 1_000_000_000, Double($0) / 4) } }
    // Rebased near the fuzz clock, so the timestamp policy accepts them.
    let shift = now - 600_000_000_000 - rows[0].ts
    let recent = rows.map { (ts: $0.ts + shift, value: $0.value) }
    var payloads: [(String, [UInt8])] = []
    let sensor = "plant1/machine/temperature"
    payloads.append(("json-one", IngestEncoder.json(sensor: sensor, ts: recent[0].ts, value: recent[0].value)))
    payloads.append(("json-topic", IngestEncoder.json(sensor: nil, ts: recent[1].ts, value: recent[1].value)))
    payloads.append(("json-rfc3339", Array("{\"sensor\":\"\(sensor)\",\"ts\":\"\(Timestamp.rfc3339(recent[2].ts))\",\"value\":\(recent[2].value)}".utf8)))
    payloads.append(("json-array", Array(("[" + recent.prefix(8).enumerated().map { k, r in
        "{\"sensor\":\"plant1/m\(k % 3)/t\",\"ts\":\(r.ts),\"value\":\(r.value)}"
    }.joined(separator: ",") + "]").utf8)))
    payloads.append(("json-batch", Array(("{\"sensor\":\"\(sensor)\",\"samples\":[" + recent.map { "[\($0.ts),\($0.value)]" }.joined(separator: ",") + "]}").utf8)))
    payloads.append(("json-escaped", Array(#"{"sensor":"plant\/1\u00e9\"x","ts":1764000000000000000,"value":-1.5e-3,"unit":"g","tags":{"a":[1,true,null]}}"#.utf8)))
    payloads.append(("json-nan", Array(#"[{"sensor":"p","value":NaN},{"sensor":"p","value":-Infinity},{"sensor":"p","value":1}]"#.utf8)))
    payloads.append(("vgl1", IngestEncoder.binary(sensor: sensor, samples: recent)))
    payloads.append(("vgl1-topic", IngestEncoder.binary(sensor: "", samples: Array(recent.prefix(4)))))
    payloads.append(("vgl1-old-and-late", IngestEncoder.binary(sensor: "late", samples: recent.reversed().map { $0 })))
    var seeds: [(name: String, bytes: [UInt8])] = []
    for (name, payload) in payloads {
        for control: UInt8 in [0, 1, 2, 3, 8 | 2, 24 | 6] {
            seeds.append(("\(name)-\(control)", [control] + payload))
        }
    }
    return seeds
}
