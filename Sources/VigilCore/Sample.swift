// SPDX-License-Identifier: GPL-3.0-or-later

/// One sensor reading after ingest: the sensor is interned to a dense index (see `SensorRegistry`).
///
/// A plain value of 24 bytes, trivially copyable, so rings of samples move memory only.
public struct Sample: Sendable, Equatable {
    /// Nanoseconds since the Unix epoch.
    public var timestamp: Int64
    /// The reading; always finite once it has passed ingest.
    public var value: Double
    /// Dense sensor index from `SensorRegistry`.
    public var sensor: UInt32

    @inlinable
    public init(sensor: UInt32, timestamp: Int64, value: Double) {
        self.sensor = sensor
        self.timestamp = timestamp
        self.value = value
    }
}
