// SPDX-License-Identifier: GPL-3.0-or-later
import Synchronization

/// Why ingest dropped a message or a sample. `rawValue` names it in metrics and logs.
public enum DropReason: String, Sendable, CaseIterable {
    /// The payload is neither a `VGL1` binary frame nor valid JSON.
    case malformedJSON = "malformed_json"
    /// Valid JSON of the wrong shape (a string where a number belongs, an object that is not a
    /// sample, a missing `value`).
    case wrongType = "wrong_type"
    /// Neither the payload nor a topic frame names the sensor.
    case missingSensor = "missing_sensor"
    /// The sensor id is the empty string.
    case emptySensorID = "empty_sensor_id"
    /// NaN or ±infinity as a value (one sample dropped, the rest of the message kept).
    case nonFiniteValue = "non_finite_value"
    /// A `ts` that is neither an integer of nanoseconds nor an RFC 3339 string.
    case badTimestamp = "bad_timestamp"
    /// A binary frame shorter than its header or its declared sample count.
    case truncatedFrame = "truncated_frame"
    /// A binary frame longer than its declared sample count.
    case overlongFrame = "overlong_frame"
    /// A message larger than `ingest.max_message_bytes`.
    case oversizedMessage = "oversized_message"
    /// A message of more than two frames.
    case tooManyFrames = "too_many_frames"
    /// A new sensor beyond `limits.max_sensors` (its samples dropped, other sensors' kept).
    case sensorLimit = "sensor_limit"
    /// The pipeline was full and the overflow policy is `drop`.
    case queueFull = "queue_full"
    /// A sensor id longer than 1024 bytes.
    case sensorIDTooLong = "sensor_id_too_long"
    /// A sample older than its sensor's newest timestamp by more than `ingest.reorder_window`
    /// (one sample dropped, the rest of the message kept).
    case lateSample = "late_sample"
    /// A timestamp more than `ingest.max_future` ahead of the daemon's clock (one sample).
    case futureTimestamp = "future_timestamp"
    /// A timestamp more than `ingest.max_past` behind the daemon's clock (one sample).
    case pastTimestamp = "past_timestamp"
    /// A sensor id (in the payload or the topic frame) that is not valid UTF-8.
    case invalidSensorID = "invalid_sensor_id"
    /// A sample from NATS JetStream whose timestamp is not newer than the last one its sensor had
    /// from there: a redelivery of a message already processed (one sample dropped).
    case duplicate = "duplicate"
    /// A sample from NATS JetStream of a sensor whose partition (`SensorPartition`) is not the
    /// partition its message came from: a gateway that partitions differently (one sample).
    case wrongPartition = "wrong_partition"
}

/// Counts drops by reason, in *samples* for per-sample reasons and in *messages* for the others.
/// Written by one thread (relaxed atomic adds), read by any (metrics).
public final class DropCounters: Sendable {
    private let counts = AtomicCounters(count: DropReason.allCases.count)
    private let messageCounts = AtomicCounters(count: DropReason.allCases.count)

    public init() {}

    /// Records a dropped message for `reason` that carried `samples` samples (0 when unknown).
    @inline(__always)
    public func record(_ reason: DropReason, samples: Int = 1) {
        let i = DropReason.index(reason)
        messageCounts.add(i, 1)
        counts.add(i, UInt64(samples))
    }

    /// Dropped messages (or single samples) for `reason`.
    public func messages(_ reason: DropReason) -> UInt64 {
        messageCounts[DropReason.index(reason)]
    }

    /// Dropped samples for `reason`, where known.
    public func samples(_ reason: DropReason) -> UInt64 {
        counts[DropReason.index(reason)]
    }

    /// Dropped messages over all reasons.
    public var totalMessages: UInt64 { DropReason.allCases.reduce(0) { $0 + messages($1) } }
}

extension DropReason {
    @inline(__always)
    static func index(_ r: DropReason) -> Int {
        switch r {
        case .malformedJSON: 0
        case .wrongType: 1
        case .missingSensor: 2
        case .emptySensorID: 3
        case .nonFiniteValue: 4
        case .badTimestamp: 5
        case .truncatedFrame: 6
        case .overlongFrame: 7
        case .oversizedMessage: 8
        case .tooManyFrames: 9
        case .sensorLimit: 10
        case .queueFull: 11
        case .sensorIDTooLong: 12
        case .lateSample: 13
        case .futureTimestamp: 14
        case .pastTimestamp: 15
        case .invalidSensorID: 16
        case .duplicate: 17
        case .wrongPartition: 18
        }
    }
}
