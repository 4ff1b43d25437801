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
    /// The most bytes one message of `format` with `count` samples of any sensor can take.
    public func maximumMessageBytes(_ format: LoadFormat, count: Int) -> Int {
        let id = maximumIDBytes
        switch format {
        case .binary: return 10 + id + 16 * count
        // {"sensor":"…","ts":-9223372036854775808,"value":-9223372036854.775808} and a comma
        case .json, .jsonArray: return 2 + count * (id + 70)
        // {"sensor":"…","samples":[ … ]} around [-9223372036854775808,-9223372036854.775808],
        case .jsonBatch: return 26 + id + count * 44
        }
    }

    /// Replaces `out` with one message of `format` holding samples `first ..< first + count` of
    /// `sensor` (`count` is 1 for `.json`). For tests and tools; a sender encodes into raw memory.
    public func encode(_ format: LoadFormat, sensor: Int, first: Int, count: Int, into out: inout [UInt8]) {
        let capacity = maximumMessageBytes(format, count: count)
        out = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            initialized = encode(format, sensor: sensor, first: first, count: count, into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// Writes one message of `format` holding samples `first ..< first + count` of `sensor` at
    /// the start of `buffer` (at least `maximumMessageBytes(format, count:)` bytes) and returns its
    /// length. Allocates nothing: the sender's loop is this and a send.
    public func encode(_ format: LoadFormat, sensor: Int, first: Int, count: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        precondition(count >= 1 && (format != .json || count == 1))
        precondition(buffer.count >= maximumMessageBytes(format, count: count), "buffer too small for the message")
        var w = ByteWriter(base: buffer.baseAddress!)
        sensorIDs[sensor].withUnsafeBytes { id in
            switch format {
            case .binary:
                w.bytes("VGL1")
                w.littleEndian(UInt16(id.count))
                w.bytes(id)
                w.littleEndian(UInt32(count))
                for k in first..<(first + count) {
                    w.littleEndian(UInt64(bitPattern: timestamp(index: k)))
                    w.littleEndian(value(sensor: sensor, index: k).bitPattern)
                }
            case .json:
                object(id: id, sensor: sensor, index: first, &w)
            case .jsonArray:
                w.byte(UInt8(ascii: "["))
                for k in first..<(first + count) {
                    if k > first { w.byte(UInt8(ascii: ",")) }
                    object(id: id, sensor: sensor, index: k, &w)
                }
                w.byte(UInt8(ascii: "]"))
            case .jsonBatch:
                w.bytes("{\"sensor\":\"")
                w.bytes(id)
                w.bytes("\",\"samples\":[")
                for k in first..<(first + count) {
                    if k > first { w.byte(UInt8(ascii: ",")) }
                    w.byte(UInt8(ascii: "["))
                    w.decimal(timestamp(index: k))
                    w.byte(UInt8(ascii: ","))
                    w.microUnits(microUnits(sensor: sensor, index: k))
                    w.byte(UInt8(ascii: "]"))
                }
                w.bytes("]}")
            }
        }
        return w.offset
    }

    private func object(id: UnsafeRawBufferPointer, sensor: Int, index: Int, _ w: inout ByteWriter) {
        w.bytes("{\"sensor\":\"")
        w.bytes(id)
        w.bytes("\",\"ts\":")
        w.decimal(timestamp(index: index))
        w.bytes(",\"value\":")
        w.microUnits(microUnits(sensor: sensor, index: index))
        w.byte(UInt8(ascii: "}"))
    }
}

/// Writes bytes at a cursor into memory the caller sized (see `maximumMessageBytes`).
private struct ByteWriter {
    let base: UnsafeMutableRawPointer
    var offset = 0

    @inline(__always) mutating func byte(_ b: UInt8) {
        base.storeBytes(of: b, toByteOffset: offset, as: UInt8.self)
        offset += 1
    }

    @inline(__always) mutating func bytes(_ b: UnsafeRawBufferPointer) {
        if let from = b.baseAddress { (base + offset).copyMemory(from: from, byteCount: b.count) }
        offset += b.count
    }

    @inline(__always) mutating func bytes(_ text: StaticString) {
        (base + offset).copyMemory(from: text.utf8Start, byteCount: text.utf8CodeUnitCount)
        offset += text.utf8CodeUnitCount
    }

    @inline(__always) mutating func littleEndian<T: FixedWidthInteger>(_ v: T) {
        base.storeBytes(of: v.littleEndian, toByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
    }

    /// A decimal integer.
    mutating func decimal(_ value: Int64) {
        if value < 0 { byte(UInt8(ascii: "-")) }
        digits(value.magnitude, minimum: 1)
    }

    mutating func digits(_ magnitude: UInt64, minimum: Int) {
        var n = 1
        var v = magnitude / 10
        while v > 0 { n += 1; v /= 10 }
        n = max(n, minimum)
        v = magnitude
        for k in stride(from: n - 1, through: 0, by: -1) {
            base.storeBytes(of: UInt8(ascii: "0") + UInt8(v % 10), toByteOffset: offset + k, as: UInt8.self)
            v /= 10
        }
        offset += n
    }

    /// `q / 1e6` with six decimals (`-12.000042`): parses back to `Double(q) / 1e6`.
    mutating func microUnits(_ q: Int64) {
        if q < 0 { byte(UInt8(ascii: "-")) }
        let m = q.magnitude
        digits(m / 1_000_000, minimum: 1)
        byte(UInt8(ascii: "."))
        digits(m % 1_000_000, minimum: 6)
    }
}
