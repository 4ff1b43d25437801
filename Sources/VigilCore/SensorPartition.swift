// SPDX-License-Identifier: GPL-3.0-or-later

/// The partition of a sensor on NATS JetStream: a stable function of the sensor id, the same in
/// `vigild` and `vigil replay --nats` (and in any gateway that follows the README).
///
/// The key is the sensor id up to its last `/` (`plant1/pump7/vibration` → `plant1/pump7`; an id
/// without `/` is its own key), so the sensors of one machine — the members of an asset, which
/// one worker must see together — share a partition. The partition is the 32-bit FNV-1a hash of
/// the key's UTF-8 bytes modulo the partition count. Samples of partition `p` are published on
/// the subject `<ingest_stream>.<p>`.
///
/// Threading: a plain value.
public enum SensorPartition {
    /// The bytes of `sensor` that choose its partition (up to, not including, the last `/`).
    @inline(__always)
    public static func key(of sensor: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var end = sensor.count
        while end > 0 {
            end -= 1
            if sensor[end] == UInt8(ascii: "/") { return UnsafeRawBufferPointer(rebasing: sensor[0..<end]) }
        }
        return sensor
    }

    /// 32-bit FNV-1a of `bytes`.
    @inline(__always)
    public static func fnv1a(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var h: UInt32 = 0x811C_9DC5
        for b in bytes {
            h ^= UInt32(b)
            h = h &* 0x0100_0193
        }
        return h
    }

    /// The partition of the sensor id `sensor` (its UTF-8 bytes) among `partitions` (≥ 1).
    @inline(__always)
    public static func of(_ sensor: UnsafeRawBufferPointer, partitions: Int) -> Int {
        precondition(partitions >= 1, "at least one partition")
        return Int(fnv1a(key(of: sensor)) % UInt32(partitions))
    }

    /// The same for a `String`.
    public static func of(_ sensor: String, partitions: Int) -> Int {
        var s = sensor
        return s.withUTF8 { of(UnsafeRawBufferPointer($0), partitions: partitions) }
    }

    /// The description vigild gives the sample stream it creates; it records the partition count,
    /// so a publisher finds it without being told.
    public static func streamDescription(partitions: Int) -> String { "vigil samples: \(partitions) partitions" }

    /// The partition count a sample stream's description records (nil: not one vigild made).
    public static func partitions(fromStreamDescription text: String) -> Int? {
        let prefix = "vigil samples: "
        guard text.hasPrefix(prefix) else { return nil }
        return Int(text.dropFirst(prefix.count).prefix { $0.isNumber })
    }

    /// The subject samples of `partition` are published on.
    public static func subject(stream: String, partition: Int) -> String { "\(stream).\(partition)" }
}
