// SPDX-License-Identifier: GPL-3.0-or-later

/// Encodes the ingest payloads of the design brief, for gateways, tools and tests (the inverse of `IngestDecoder`).
public enum IngestEncoder {
    /// `VGL1` binary frame.
    public static func binary(sensor: String, samples: [(ts: Int64, value: Double)]) -> [UInt8] {
        var out: [UInt8] = Array("VGL1".utf8)
        let id = Array(sensor.utf8)
        withUnsafeBytes(of: UInt16(id.count).littleEndian) { out += $0 }
        out += id
        withUnsafeBytes(of: UInt32(samples.count).littleEndian) { out += $0 }
        for s in samples {
            withUnsafeBytes(of: s.ts.littleEndian) { out += $0 }
            withUnsafeBytes(of: s.value.bitPattern.littleEndian) { out += $0 }
        }
        return out
    }

    /// One JSON sample.
    public static func json(sensor: String?, ts: Int64, value: Double) -> [UInt8] {
        var s = "{"
        if let sensor { s += "\"sensor\":\"\(sensor)\"," }
        s += "\"ts\":\(ts),\"value\":\(value)}"
        return Array(s.utf8)
    }
}
