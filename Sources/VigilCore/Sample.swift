// SPDX-License-Identifier: GPL-3.0-or-later

/// One sensor reading after ingest: the sensor is interned to a dense index (see `SensorRegistry`).
///
/// A plain value of 24 bytes, trivially copyable, so rings of samples move memory only.
/// (`arrival` sits in what would otherwise be the struct's padding: it costs no space.)
public struct Sample: Sendable, Equatable {
    /// Nanoseconds since the Unix epoch.
    public var timestamp: Int64
    /// The reading; always finite once it has passed ingest.
    public var value: Double
    /// Dense sensor index from `SensorRegistry`.
    public var sensor: UInt32
    /// When ingest received the sample, as `ArrivalStamp` ticks (0: not stamped). Only the
    /// ingest-to-alert latency uses it.
    public var arrival: UInt32

    @inlinable
    public init(sensor: UInt32, timestamp: Int64, value: Double, arrival: UInt32 = 0) {
        self.sensor = sensor
        self.timestamp = timestamp
        self.value = value
        self.arrival = arrival
    }
}

/// The ingest arrival time that travels with a sample in its 4 spare bytes: CLOCK_MONOTONIC in
/// 256 ns ticks, modulo 2³² (it wraps every 18.3 minutes). A later reader that knows the current
/// time recovers the full arrival time as long as the sample is younger than one wrap, which a
/// sample in a worker's ring always is.
public enum ArrivalStamp {
    /// log2 of the tick in nanoseconds.
    public static let shift: UInt64 = 8

    /// The stamp of `monotonicNanoseconds`; never 0 (0 means "not stamped").
    @inlinable
    public static func stamp(monotonicNanoseconds: UInt64) -> UInt32 {
        max(1, UInt32(truncatingIfNeeded: monotonicNanoseconds >> shift))
    }

    /// The full CLOCK_MONOTONIC nanoseconds of `stamp`, seen at `now` (within two ticks); nil for
    /// an unstamped sample.
    @inlinable
    public static func nanoseconds(of stamp: UInt32, now: UInt64) -> UInt64? {
        guard stamp != 0 else { return nil }
        let ticks = UInt32(truncatingIfNeeded: now >> shift) &- stamp
        // One tick "in the future": a stamp taken at tick 0 (mod 2³²) is written as 1.
        let age = ticks == .max ? 0 : UInt64(ticks) << shift
        return now >= age ? now - age : 0
    }
}
