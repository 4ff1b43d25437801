// SPDX-License-Identifier: GPL-3.0-or-later

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
}
