// SPDX-License-Identifier: GPL-3.0-or-later

/// The ingest payload forms a load can be sent in (the design brief's wire formats).
public enum LoadFormat: String, Sendable, CaseIterable {
    /// `VGL1` binary: one sensor's batch of samples per message.
    case binary
    /// One JSON sample per message: `{"sensor":…,"ts":…,"value":…}`.
    case json
    /// A JSON array of one-sample objects (all of one sensor).
    case jsonArray = "json-array"
    /// The JSON batch form: `{"sensor":…,"samples":[[ts,value],…]}`.
    case jsonBatch = "json-batch"
}

extension SyntheticLoad {
    /// Replaces `out` with one message of `format` holding samples `first ..< first + count` of
    /// `sensor`. Writes into `out`'s existing storage: once it has grown to the largest message,
    /// encoding allocates nothing. `count` is 1 for `.json`.
    public func encode(_ format: LoadFormat, sensor: Int, first: Int, count: Int, into out: inout [UInt8]) {
        precondition(count >= 1 && (format != .json || count == 1))
        out.removeAll(keepingCapacity: true)
        let id = sensorIDs[sensor]
        switch format {
        case .binary:
            out.append(contentsOf: [0x56, 0x47, 0x4C, 0x31])  // VGL1
            Self.appendLittleEndian(UInt64(id.count), bytes: 2, to: &out)
            out.append(contentsOf: id)
            Self.appendLittleEndian(UInt64(count), bytes: 4, to: &out)
            for k in first..<(first + count) {
                Self.appendLittleEndian(UInt64(bitPattern: timestamp(index: k)), bytes: 8, to: &out)
                Self.appendLittleEndian(value(sensor: sensor, index: k).bitPattern, bytes: 8, to: &out)
            }
        case .json:
            appendObject(id: id, sensor: sensor, index: first, to: &out)
        case .jsonArray:
            out.append(UInt8(ascii: "["))
            for k in first..<(first + count) {
                if k > first { out.append(UInt8(ascii: ",")) }
                appendObject(id: id, sensor: sensor, index: k, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .jsonBatch:
            out.append(contentsOf: Self.sensorKey)
            out.append(contentsOf: id)
            out.append(contentsOf: Self.samplesKey)
            for k in first..<(first + count) {
                if k > first { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "["))
                Self.appendDecimal(timestamp(index: k), to: &out)
                out.append(UInt8(ascii: ","))
                Self.appendMicroUnits(microUnits(sensor: sensor, index: k), to: &out)
                out.append(UInt8(ascii: "]"))
            }
            out.append(contentsOf: [UInt8(ascii: "]"), UInt8(ascii: "}")])
        }
    }

    private static let sensorKey = Array("{\"sensor\":\"".utf8)
    private static let tsKey = Array("\",\"ts\":".utf8)
    private static let valueKey = Array(",\"value\":".utf8)
    private static let samplesKey = Array("\",\"samples\":[".utf8)

    private func appendObject(id: [UInt8], sensor: Int, index: Int, to out: inout [UInt8]) {
        out.append(contentsOf: Self.sensorKey)
        out.append(contentsOf: id)
        out.append(contentsOf: Self.tsKey)
        Self.appendDecimal(timestamp(index: index), to: &out)
        out.append(contentsOf: Self.valueKey)
        Self.appendMicroUnits(microUnits(sensor: sensor, index: index), to: &out)
        out.append(UInt8(ascii: "}"))
    }

    @inline(__always)
    private static func appendLittleEndian(_ value: UInt64, bytes: Int, to out: inout [UInt8]) {
        var v = value
        for _ in 0..<bytes {
            out.append(UInt8(truncatingIfNeeded: v))
            v >>= 8
        }
    }

    /// A decimal integer, written without `String`.
    private static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        appendDigits(value.magnitude, minimumDigits: 1, to: &out)
    }

    private static func appendDigits(_ magnitude: UInt64, minimumDigits: Int, to out: inout [UInt8]) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch, enough for 20 digits
        var n = 0
        var v = magnitude
        withUnsafeMutableBytes(of: &digits) { scratch in
            repeat {
                scratch[23 - n] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                n += 1
            } while v > 0 || n < minimumDigits
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[(24 - n)...]))
        }
    }

    /// `q / 1e6` as JSON text with six decimals (`-12.000042`): parses back to `Double(q) / 1e6`.
    private static func appendMicroUnits(_ q: Int64, to out: inout [UInt8]) {
        if q < 0 { out.append(UInt8(ascii: "-")) }
        let m = q.magnitude
        appendDigits(m / 1_000_000, minimumDigits: 1, to: &out)
        out.append(UInt8(ascii: "."))
        appendDigits(m % 1_000_000, minimumDigits: 6, to: &out)
    }
}
