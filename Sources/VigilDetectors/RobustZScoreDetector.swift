// SPDX-License-Identifier: GPL-3.0-or-later
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import VigilCore

/// Robust z-score detector (`ZScoreMode.robust`): how many scaled MADs a sample lies from the
/// median of the sensor's recent values, `z = (x − median) / (1.4826 · MAD)`. The factor makes the
/// scaled MAD estimate the standard deviation of Gaussian data, while a few outliers in the window
/// move neither the median nor the MAD. The sample is scored against the window *before* it joins it.
///
/// Incremental: besides the ring of the last `window` values, the window is kept as a sorted array;
/// each sample replaces the oldest value with one binary search and one `memmove` (O(log w + w)
/// with a tiny constant). The median is read off the sorted array and the MAD is the k-th smallest
/// of the absolute deviations, which form two sorted runs on either side of the median, found by a
/// binary search in O(log w). No allocation after `init`.
///
/// Score: `|z|`. Evidence: `.zscore(mean: median, deviation: 1.4826 · MAD, z:)`.
///
/// Threading: a plain value owned by one worker thread; `update` neither allocates nor locks.
public struct RobustZScoreDetector: StreamingDetector {
    /// Its settings: `window` (≥ 3; 16 bytes a value of per-sensor state), `warmup` (≥ 3, ≤ window)
    /// and `minDeviation` (the deviation is also at least `1e-13 × |median|`); `alpha` is not used.
    public typealias Configuration = ZScoreSettings

    /// Consistency constant of the MAD for Gaussian data, 1/Φ⁻¹(3/4).
    public static let madScale = 1.4826

    /// `.zscore` (one of its modes, `ZScoreMode.robust`).
    public var kind: DetectorKind { .zscore }
    /// The settings this detector was built from.
    public let configuration: Configuration
    /// The window in arrival order (a ring).
    private var ring: [Double]
    /// The same values, sorted ascending; the first `count` entries are valid.
    private var sorted: [Double]
    private var next = 0
    /// Values in the window.
    public private(set) var count = 0

    /// A detector with an empty window.
    public init(configuration: Configuration = .init()) {
        precondition(configuration.window >= 3, "a robust window needs at least three values")
        precondition(configuration.warmup >= 3 && configuration.warmup <= configuration.window,
                     "warmup must be in 3...window")
        self.configuration = configuration
        ring = Array(repeating: 0, count: configuration.window)
        sorted = Array(repeating: 0, count: configuration.window)
    }

    /// The median of the window (0 when empty).
    public var median: Double {
        sorted.withUnsafeBufferPointer { Self.median($0.baseAddress!, count) }
    }

    /// The median absolute deviation from the median of the window, unscaled (0 when empty).
    public var medianAbsoluteDeviation: Double {
        sorted.withUnsafeBufferPointer { Self.mad($0.baseAddress!, count, median: Self.median($0.baseAddress!, count)) }
    }

    /// Scores `value` against the window, then (when `learn`) slides it in. Non-finite values are
    /// ignored (nil).
    public mutating func update(timestamp: Int64, value: Double, learn: Bool) -> DetectorOutput? {
        guard value.isFinite else { return nil }
        let n = count
        let window = configuration.window
        let minDeviation = configuration.minDeviation
        let scoring = n >= configuration.warmup
        var output: DetectorOutput?
        guard learn else {
            guard scoring else { return nil }
            return sorted.withUnsafeBufferPointer { buffer in
                let a = buffer.baseAddress!
                let m = Self.median(a, n)
                let deviation = max(Self.madScale * Self.mad(a, n, median: m), minDeviation, abs(m) * 1e-13)
                let z = (value - m) / deviation
                return DetectorOutput(score: abs(z), evidence: .zscore(mean: m, deviation: deviation, z: z))
            }
        }
        let oldest = ring[next]
        ring[next] = value
        next += 1
        if next == window { next = 0 }
        sorted.withUnsafeMutableBufferPointer { buffer in
            let a = buffer.baseAddress!
            if scoring {
                let m = Self.median(a, n)
                let deviation = max(Self.madScale * Self.mad(a, n, median: m), minDeviation, abs(m) * 1e-13)
                let z = (value - m) / deviation
                output = DetectorOutput(score: abs(z), evidence: .zscore(mean: m, deviation: deviation, z: z))
            }
            if n < window {
                Self.insert(value, into: a, count: n)
            } else {
                Self.replace(oldest, with: value, in: a, count: n)
            }
        }
        if n < window { count = n + 1 }
        return output
    }

    // MARK: Order statistics on a sorted buffer

    @inline(__always)
    static func median(_ a: UnsafePointer<Double>, _ n: Int) -> Double {
        if n == 0 { return 0 }
        let h = n / 2
        return n % 2 == 1 ? a[h] : a[h - 1] + (a[h] - a[h - 1]) / 2
    }

    /// The median of `|a[i] − m|` where `a` is sorted and `m` its median. The deviations form two
    /// ascending runs, `L[i] = m − a[s − 1 − i]` and `R[j] = a[s + j] − m` with `s = n / 2`, and the
    /// k-th smallest of their union is found by a binary search over how many come from `L`.
    @inline(__always)
    static func mad(_ a: UnsafePointer<Double>, _ n: Int, median m: Double) -> Double {
        if n == 0 { return 0 }
        let s = n / 2
        let nl = s
        let nr = n - s
        @inline(__always) func left(_ i: Int) -> Double { m - a[s - 1 - i] }
        @inline(__always) func right(_ j: Int) -> Double { a[s + j] - m }
        let k = n % 2 == 1 ? n / 2 : n / 2 - 1
        // Smallest i (taken from L) such that the first k + 1 deviations are L[..<i] ∪ R[..<k+1−i].
        var lo = max(0, k + 1 - nr)
        var hi = min(k + 1, nl)
        while lo < hi {
            let i = (lo + hi) / 2
            let j = k + 1 - i
            if i < nl && j > 0 && left(i) < right(j - 1) { lo = i + 1 } else { hi = i }
        }
        let i = lo
        let j = k + 1 - i
        let kth = max(i > 0 ? left(i - 1) : -Double.infinity, j > 0 ? right(j - 1) : -Double.infinity)
        if n % 2 == 1 { return kth }
        let following = min(i < nl ? left(i) : Double.infinity, j < nr ? right(j) : Double.infinity)
        return kth + (following - kth) / 2
    }

    /// First index in `a[0..<n]` whose element is not less than `x` (or greater than `x` when `after`).
    @inline(__always)
    static func position(of x: Double, in a: UnsafePointer<Double>, count n: Int, after: Bool) -> Int {
        var lo = 0
        var hi = n
        while lo < hi {
            let mid = (lo + hi) / 2
            if a[mid] < x || (after && a[mid] == x) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    @inline(__always)
    static func insert(_ x: Double, into a: UnsafeMutablePointer<Double>, count n: Int) {
        let q = position(of: x, in: a, count: n, after: true)
        if q < n { memmove(a + q + 1, a + q, (n - q) * MemoryLayout<Double>.stride) }
        a[q] = x
    }

    /// Replaces one occurrence of `old` (present in `a[0..<n]`) by `x`, keeping `a` sorted, with a
    /// single shift of the elements in between.
    @inline(__always)
    static func replace(_ old: Double, with x: Double, in a: UnsafeMutablePointer<Double>, count n: Int) {
        if x == old { return }
        let p = position(of: old, in: a, count: n, after: false)
        if x > old {
            let q = position(of: x, in: a, count: n, after: true)  // q > p
            if q - p > 1 { memmove(a + p, a + p + 1, (q - p - 1) * MemoryLayout<Double>.stride) }
            a[q - 1] = x
        } else {
            let q = position(of: x, in: a, count: n, after: false)  // q ≤ p
            if p > q { memmove(a + q + 1, a + q, (p - q) * MemoryLayout<Double>.stride) }
            a[q] = x
        }
    }

    // MARK: Snapshot

    /// Writes the exact state (ring, sorted copy, position) for `restore(from:)`.
    public func write(to w: inout SnapshotWriter) {
        w.write(count)
        w.write(next)
        w.write(ring)
        w.write(sorted)
    }

    /// Restores what `write(to:)` wrote from a detector of the same configuration: the detector
    /// then continues bit for bit like the original. The sorted copy is checked against the ring
    /// (same values, ascending), since `update` relies on it. Throws `SnapshotError` (state unchanged).
    public mutating func restore(from r: inout SnapshotReader) throws(SnapshotError) {
        let window = configuration.window
        let count = try r.readInt("robust count", in: 0...window)
        let next = try r.readInt("robust next", in: 0...(window - 1))
        let ring = try r.readDoubles("robust ring", count: window)
        let sorted = try r.readDoubles("robust sorted window", count: window)
        // The valid part of the ring: all of it once full, else the first `count` values.
        guard count == window || next == count else { throw r.corrupt("robust ring position \(next) with \(count) values") }
        let live = Array(ring[0..<count])
        guard live.allSatisfy(\.isFinite), live.sorted() == Array(sorted[0..<count]) else {
            throw r.corrupt("robust sorted window does not match its ring")
        }
        self.count = count
        self.next = next
        self.ring = ring
        self.sorted = sorted
    }
}

