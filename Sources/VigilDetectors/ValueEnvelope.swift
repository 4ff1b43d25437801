// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// The range `[lower, upper]` of a sensor's in-control values, optionally forgetting: the
/// surprise detector's `range` and `recent_range` channels.
///
/// `outside(v)` is how far `v` lies beyond the range, as a fraction of its width (0 inside, and 0
/// while the range is empty or a single point). `forget(towards:by:)` relaxes both bounds towards
/// a baseline, so an old excursion stops widening the recent range.
///
/// Threading: a plain 16-byte value.
struct ValueEnvelope: Sendable, Equatable {
    private(set) var lower = Double.infinity
    private(set) var upper = -Double.infinity

    /// The distance of `v` outside the range relative to its width.
    @inline(__always)
    func outside(_ v: Double) -> Double {
        guard upper > lower else { return 0 }
        if v > upper { return (v - upper) / (upper - lower) }
        if v < lower { return (lower - v) / (upper - lower) }
        return 0
    }

    /// Widens the range to include `v`.
    @inline(__always)
    mutating func add(_ v: Double) {
        lower = min(lower, v)
        upper = max(upper, v)
    }

    /// Moves both bounds the fraction `f` of their distance towards `c`.
    @inline(__always)
    mutating func forget(towards c: Double, by f: Double) {
        if upper > lower {
            upper -= (upper - c) * f
            lower += (c - lower) * f
        }
    }

    // MARK: Snapshot

    func write(to w: inout SnapshotWriter) {
        w.write(lower)
        w.write(upper)
    }

    static func read(from r: inout SnapshotReader) throws(SnapshotError) -> ValueEnvelope {
        var e = ValueEnvelope()
        e.lower = try r.readDouble("range lower")
        e.upper = try r.readDouble("range upper")
        guard !e.lower.isNaN, !e.upper.isNaN else { throw r.corrupt("range bound is NaN") }
        return e
    }
}
