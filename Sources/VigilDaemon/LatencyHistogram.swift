// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// A Prometheus histogram of durations with fixed power-of-four buckets from 1 µs to ~4 s.
/// `observe` is lock-free and allocation-free (relaxed atomic adds): safe on the hot path and
/// from any thread.
public final class LatencyHistogram: Sendable {
    /// Upper bounds in nanoseconds.
    public static let bounds: [UInt64] = (0..<12).map { 1_000 << (2 * UInt64($0)) }
    private let buckets = AtomicCounters(count: LatencyHistogram.bounds.count + 2)  // + inf, + sum

    public init() {}

    @inline(__always)
    public func observe(nanoseconds: UInt64) {
        var i = 0
        while i < Self.bounds.count, nanoseconds > Self.bounds[i] { i += 1 }
        buckets.add(i, 1)
        buckets.add(Self.bounds.count + 1, nanoseconds)
    }

    /// Appends the histogram in Prometheus text format.
    public func render(name: String, help: String, labels: String = "", into s: inout String) {
        s += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        var cumulative: UInt64 = 0
        let sep = labels.isEmpty ? "" : labels + ","
        for (i, b) in Self.bounds.enumerated() {
            cumulative += buckets[i]
            s += "\(name)_bucket{\(sep)le=\"\(Double(b) / 1e9)\"} \(cumulative)\n"
        }
        cumulative += buckets[Self.bounds.count]
        s += "\(name)_bucket{\(sep)le=\"+Inf\"} \(cumulative)\n"
        let lbl = labels.isEmpty ? "" : "{\(labels)}"
        s += "\(name)_sum\(lbl) \(Double(buckets[Self.bounds.count + 1]) / 1e9)\n"
        s += "\(name)_count\(lbl) \(cumulative)\n"
    }
}
