// SPDX-License-Identifier: GPL-3.0-or-later

/// What ingest does with sample timestamps it cannot trust: late and out-of-order samples, and
/// timestamps far from the daemon's own clock. Every bound is in nanoseconds; 0 turns it off.
///
/// `IngestDecoder` applies it to every sample it decodes, after the message decoded whole and
/// before the sensor is interned, in O(1) per sample (a per-sensor newest-timestamp array indexed
/// by the sensor index). A dropped sample is counted by reason (`late_sample`,
/// `future_timestamp`, `past_timestamp`); the rest of its message is kept.
///
/// - Reorder window: a sample older than its sensor's newest accepted timestamp by more than
///   `reorderWindow` is late and dropped. Within the window it is accepted (and processed in
///   arrival order). Only timestamps at or before the daemon's clock count as a sensor's newest:
///   a sample stamped ahead of the clock (but within `maxFuture`) is accepted without moving the
///   window, so one such sample cannot lock out the correctly stamped samples that follow it
///   (from a gateway whose clock is behind, say).
/// - Future: a sample stamped more than `maxFuture` after the daemon's clock is dropped, so a
///   gateway with a wrong clock (or a replay shifted years ahead) cannot poison a sensor's windows.
/// - Past: a sample stamped more than `maxPast` before the daemon's clock is dropped. Off by
///   default: replaying a recording sends old timestamps on purpose.
///
/// Threading: a plain value.
public struct TimestampPolicy: Sendable, Equatable {
    /// How far behind its sensor's newest timestamp a sample may be and still be accepted
    /// (`ingest.reorder_window`); 0 accepts any order.
    public var reorderWindow: Int64
    /// How far ahead of the daemon's clock a timestamp may be (`ingest.max_future`); 0 = no limit.
    public var maxFuture: Int64
    /// How far behind the daemon's clock a timestamp may be (`ingest.max_past`); 0 = no limit.
    public var maxPast: Int64

    /// A policy; every bound in nanoseconds, ≥ 0, 0 meaning no check.
    public init(reorderWindow: Int64 = 0, maxFuture: Int64 = 0, maxPast: Int64 = 0) {
        precondition(reorderWindow >= 0 && maxFuture >= 0 && maxPast >= 0, "timestamp bounds are ≥ 0")
        self.reorderWindow = reorderWindow
        self.maxFuture = maxFuture
        self.maxPast = maxPast
    }

    /// No checks at all (offline tools, tests that use small synthetic timestamps).
    public static let unchecked = TimestampPolicy()

    /// The shipped configuration's: a 5 minute reorder window, at most 1 hour ahead of the
    /// clock, no limit into the past.
    public static let standard = TimestampPolicy(reorderWindow: 300 * Timestamp.nanosecondsPerSecond,
                                                 maxFuture: 3600 * Timestamp.nanosecondsPerSecond)

    /// Whether `ts` is more than `window` before `newest` (overflow-safe).
    @inline(__always)
    static func isLate(_ ts: Int64, newest: Int64, window: Int64) -> Bool {
        guard ts < newest else { return false }
        let (behind, overflow) = newest.subtractingReportingOverflow(ts)
        return overflow || behind > window
    }
}
