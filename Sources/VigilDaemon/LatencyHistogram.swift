// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// A Prometheus histogram of durations with fixed bucket bounds. `observe` is lock-free and
/// allocation-free (a binary search over the bounds and two relaxed atomic adds): safe on the hot
/// path and from any thread; `render` may run concurrently with it (each bucket is read once, so
/// a scrape sees every observation either fully or not at all per bucket).
public final class LatencyHistogram: Sendable {
    /// Power-of-four bounds from 1 µs to ~4 s (12 buckets): coarse, for stage round times.
    public static let powerOfFourBounds: [UInt64] = (0..<12).map { 1_000 << (2 * UInt64($0)) }
    /// Ten buckets per decade (1, 1.25, 1.6, 2, 2.5, 3.2, 4, 5, 6.4, 8 × 10ᵏ) from 1 µs to 10 s
    /// (71 bounds): each bucket is at most 25 % wide, so quantiles read from it are within that.
    public static let decimalBounds: [UInt64] = {
        let steps: [UInt64] = [100, 125, 160, 200, 250, 320, 400, 500, 640, 800]
        var bounds: [UInt64] = []
        var scale: UInt64 = 10  // 100 × 10 ns = 1 µs
        for _ in 0..<7 {
            for s in steps { bounds.append(s * scale) }
            scale *= 10
        }
        bounds.append(10_000_000_000)
        return bounds
    }()

    /// Upper bounds in nanoseconds, ascending.
    public let bounds: [UInt64]
    private let buckets: AtomicCounters  // one per bound, + inf, + sum

    /// A histogram with `bounds` (nanoseconds, ascending); the default is `powerOfFourBounds`.
    public init(bounds: [UInt64] = LatencyHistogram.powerOfFourBounds) {
        precondition(!bounds.isEmpty && zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 }, "bounds must ascend")
        self.bounds = bounds
        buckets = AtomicCounters(count: bounds.count + 2)
    }

    /// Index of the first bucket whose bound is ≥ `nanoseconds` (`bounds.count` for +Inf).
    @inline(__always)
    func bucket(of nanoseconds: UInt64) -> Int {
        var low = 0, high = bounds.count
        while low < high {
            let mid = (low + high) >> 1
            if bounds[mid] < nanoseconds { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Counts one duration.
    @inline(__always)
    public func observe(nanoseconds: UInt64) {
        buckets.add(bucket(of: nanoseconds), 1)
        buckets.add(bounds.count + 1, nanoseconds)
    }

    /// Observations so far.
    public var count: UInt64 { (0...bounds.count).reduce(0) { $0 + buckets[$1] } }

    /// Appends the histogram in Prometheus text format.
    public func render(name: String, help: String, labels: String = "", into s: inout String) {
        s += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        var cumulative: UInt64 = 0
        let sep = labels.isEmpty ? "" : labels + ","
        for (i, b) in bounds.enumerated() {
            cumulative += buckets[i]
            s += "\(name)_bucket{\(sep)le=\"\(Double(b) / 1e9)\"} \(cumulative)\n"
        }
        cumulative += buckets[bounds.count]
        s += "\(name)_bucket{\(sep)le=\"+Inf\"} \(cumulative)\n"
        let lbl = labels.isEmpty ? "" : "{\(labels)}"
        s += "\(name)_sum\(lbl) \(Double(buckets[bounds.count + 1]) / 1e9)\n"
        s += "\(name)_count\(lbl) \(cumulative)\n"
    }
}
