// SPDX-License-Identifier: GPL-3.0-or-later

/// A labelled anomaly window: both ends inclusive, nanoseconds since the Unix epoch.
///
/// NAB labels come as windows; in a wide file each run of consecutive rows labelled
/// `anomaly = 1` becomes one window from its first to its last row's timestamp.
public struct LabelWindow: Sendable, Hashable, Codable {
    /// First instant of the window (inclusive).
    public var start: Int64
    /// Last instant of the window (inclusive).
    public var end: Int64

    /// A window from `start` to `end`, both inclusive; `start ≤ end`.
    public init(start: Int64, end: Int64) {
        precondition(start <= end, "a label window must not end before it starts")
        self.start = start
        self.end = end
    }

    /// Whether `timestamp` lies in the window.
    @inlinable
    public func contains(_ timestamp: Int64) -> Bool { timestamp >= start && timestamp <= end }
}
