// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// Mean and variance over the last `window` values, updated in O(1) per value.
///
/// Numerically stable: Welford's update for the value entering and the inverse update for the
/// value leaving, with the sums recomputed exactly from the window every `window` updates so
/// rounding error cannot accumulate over a long run.
public struct RollingStatistics: Sendable {
    public let window: Int
    private var values: [Double]
    private var next = 0
    public private(set) var count = 0
    public private(set) var mean = 0.0
    private var m2 = 0.0
    private var sinceRecompute = 0

    public init(window: Int) {
        precondition(window >= 2, "a rolling window needs at least two values")
        self.window = window
        values = Array(repeating: 0, count: window)
    }

    /// Population variance of the window.
    @inline(__always)
    public var variance: Double { count > 1 ? max(m2 / Double(count), 0) : 0 }
    /// Population standard deviation of the window.
    @inline(__always)
    public var standardDeviation: Double { variance.squareRoot() }

    @inline(__always)
    public mutating func add(_ x: Double) {
        if count < window {
            values[next] = x
            count += 1
            let delta = x - mean
            mean += delta / Double(count)
            m2 += delta * (x - mean)
        } else {
            let old = values[next]
            values[next] = x
            let oldMean = mean
            mean += (x - old) / Double(window)
            m2 += (x - old) * (x - mean + old - oldMean)
        }
        next += 1
        if next == window { next = 0 }
        sinceRecompute += 1
        if sinceRecompute >= window * 4 { recompute() }
    }

    private mutating func recompute() {
        sinceRecompute = 0
        var s = 0.0
        for k in 0..<count { s += values[k] }
        let m = s / Double(count)
        var q = 0.0
        for k in 0..<count { let d = values[k] - m; q += d * d }
        mean = m
        m2 = q
    }

    // MARK: Snapshot

    /// Writes the exact state (window, position, sums) for `restore(from:)`.
    public func write(to w: inout SnapshotWriter) {
        w.write(values)
        w.write(next)
        w.write(count)
        w.write(mean)
        w.write(m2)
        w.write(sinceRecompute)
    }

    /// Restores what `write(to:)` wrote for a window of the same length; the result continues
    /// bit for bit like the original. Throws `SnapshotError` on any inconsistency (nothing changes).
    public mutating func restore(from r: inout SnapshotReader) throws(SnapshotError) {
        let values = try r.readDoubles("rolling window", count: window)
        let next = try r.readInt("rolling next", in: 0...(window - 1))
        let count = try r.readInt("rolling count", in: 0...window)
        let mean = try r.readDouble("rolling mean")
        let m2 = try r.readDouble("rolling m2")
        let sinceRecompute = try r.readInt("rolling recompute counter", in: 0...(window * 4))
        self.values = values
        self.next = next
        self.count = count
        self.mean = mean
        self.m2 = m2
        self.sinceRecompute = sinceRecompute
    }
}
