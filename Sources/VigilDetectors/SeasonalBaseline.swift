// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// Settings of a sensor's hour-of-week baseline (config `seasonal`, opt-in per sensor glob).
public struct SeasonalBaselineConfiguration: Sendable, Equatable, Codable {
    /// Whether the baseline runs (`enabled`).
    public var enabled: Bool
    /// Visits of every hour of the week needed before the baseline is trusted (`min_weeks`).
    public var minWeeks: Int
    /// The plant's offset from UTC in hours, so that buckets follow its local hours (`utc_offset`).
    public var utcOffset: Int
    /// Weight of a new visit of an hour in that hour's mean, once it has `1 / rate` visits
    /// (`rate`): about `1 / rate` weeks of memory.
    public var rate: Double

    public init(enabled: Bool = false, minWeeks: Int = 2, utcOffset: Int = 0, rate: Double = 0.25) {
        self.enabled = enabled
        self.minWeeks = minWeeks
        self.utcOffset = utcOffset
        self.rate = rate
    }
}

/// A sensor's expected value by hour of the week, learned online: the detectors of a sensor
/// that opts in score the deviation from it, so a daily peak is not an anomaly and a missing
/// peak is.
///
/// - **Buckets**: 168, one per hour of the week (UTC shifted by `utc_offset`). A visit of an
///   hour sums the in-control samples that fall in it; when the hour ends, the visit's mean
///   moves the hour's mean by `max(1 / visits, rate)` of the difference.
/// - **Expected value** at a time: interpolated linearly between the means of the two nearest
///   hours' centres, so a ramp inside an hour is followed rather than stepped.
/// - **Trust**: until every hour has been visited `min_weeks` times the detectors see the raw
///   value; from then on they see `value − expected`, and they start learning afresh
///   (`SensorDetectors` resets them once, at that moment).
/// - **No learning into a fault**: a sample the chain is out of control for is left out of its
///   visit.
///
/// Storage: 168 means and 168 visit counts, allocated with the chain (about 2 KB). Threading:
/// a value owned by its chain's worker; `step` neither allocates nor locks.
public struct SeasonalBaseline: Sendable, Equatable {
    public static let buckets = 168
    static let hourNanoseconds: Int64 = 3_600_000_000_000

    public let configuration: SeasonalBaselineConfiguration
    private var means: [Double]
    private var visits: [Int32]
    /// The hour (since the epoch, local) of the visit being summed; `Int64.min` before the first.
    private var currentHour = Int64.min
    private var visitSum = 0.0
    private var visitCount = 0
    /// Whether every hour has `min_weeks` visits.
    public private(set) var isTrusted = false

    public init(configuration: SeasonalBaselineConfiguration) {
        self.configuration = configuration
        means = [Double](repeating: 0, count: Self.buckets)
        visits = [Int32](repeating: 0, count: Self.buckets)
    }

    @inline(__always)
    private static func bucket(ofHour h: Int64) -> Int { Int(((h % 168) + 168) % 168) }

    /// The expected value at `timestamp` (nanoseconds), interpolated between hour centres.
    public func expected(at timestamp: Int64) -> Double {
        let local = timestamp &+ Int64(configuration.utcOffset) * Self.hourNanoseconds
        // Position in hours, measured from the centre of hour 0.
        let h = Double(local) / Double(Self.hourNanoseconds) - 0.5
        let below = h.rounded(.down)
        let f = h - below
        let b0 = Self.bucket(ofHour: Int64(below)), b1 = Self.bucket(ofHour: Int64(below) + 1)
        return means[b0] + f * (means[b1] - means[b0])
    }

    /// Folds the sample into its hour's visit (when `learn`); returns the value the detectors
    /// score: `value − expected` once trusted, else `value`.
    @inline(__always)
    public mutating func step(timestamp: Int64, value: Double, learn: Bool) -> Double {
        let local = timestamp &+ Int64(configuration.utcOffset) * Self.hourNanoseconds
        let hour = local >= 0 ? local / Self.hourNanoseconds : (local - Self.hourNanoseconds + 1) / Self.hourNanoseconds
        if hour != currentHour {
            closeVisit()
            currentHour = hour
        }
        let out = isTrusted ? value - expected(at: timestamp) : value
        if learn && value.isFinite {
            visitSum += value
            visitCount += 1
        }
        return out
    }

    private mutating func closeVisit() {
        guard currentHour != .min, visitCount > 0 else {
            visitSum = 0
            visitCount = 0
            return
        }
        let b = Self.bucket(ofHour: currentHour)
        let mean = visitSum / Double(visitCount)
        visits[b] = visits[b] &+ 1
        let w = max(1 / Double(visits[b]), configuration.rate)
        means[b] += w * (mean - means[b])
        visitSum = 0
        visitCount = 0
        if !isTrusted, visits[b] >= Int32(configuration.minWeeks) {
            isTrusted = !visits.contains { $0 < Int32(configuration.minWeeks) }
        }
    }

    /// The mean of hour-of-week `bucket` (for tests and tools).
    public func mean(ofBucket bucket: Int) -> Double { means[bucket] }

    // MARK: Snapshot

    func write(to w: inout SnapshotWriter) {
        w.write(means)
        for v in visits { w.write(UInt32(bitPattern: v)) }
        w.write(currentHour)
        w.write(visitSum)
        w.write(visitCount)
        w.write(isTrusted)
    }

    mutating func restore(from r: inout SnapshotReader) throws(SnapshotError) {
        means = try r.readDoubles("seasonal means", count: Self.buckets)
        for k in 0..<Self.buckets { visits[k] = Int32(bitPattern: try r.readUInt32("seasonal visits")) }
        guard visits.allSatisfy({ $0 >= 0 }) else { throw r.corrupt("negative seasonal visits") }
        currentHour = try r.readInt64("seasonal hour")
        visitSum = try r.readDouble("seasonal visit sum")
        visitCount = try r.readInt("seasonal visit count", in: 0...SnapshotReader.maxCounter)
        isTrusted = try r.readBool("seasonal trust")
    }
}
