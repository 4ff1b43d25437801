// SPDX-License-Identifier: GPL-3.0-or-later

/// The samples of several fixtures merged into one stream ordered by timestamp, as a plant
/// would have sent them: rows of different files interleave by time; within a file, rows keep
/// their order and a wide row yields one sample per sensor column (in column order).
///
/// Deterministic: ties between files go to the file named first.
public struct ReplayStream: Sendable {
    /// One sample to publish.
    public struct Event: Sendable, Equatable {
        public var timestamp: Int64
        /// Index into `sensors`.
        public var sensor: Int
        public var value: Double
    }

    public let fixtures: [Fixture]
    /// Every sensor id of every fixture, fixture by fixture.
    public let sensors: [String]
    private let sensorBase: [Int]

    public init(fixtures: [Fixture]) {
        self.fixtures = fixtures
        var sensors: [String] = []
        var base: [Int] = []
        for f in fixtures {
            base.append(sensors.count)
            sensors += f.sensors
        }
        self.sensors = sensors
        sensorBase = base
    }

    /// Total samples in one pass.
    public var sampleCount: Int { fixtures.reduce(0) { $0 + $1.sampleCount } }

    /// First timestamp of the stream (nil when empty).
    public var firstTimestamp: Int64? { fixtures.compactMap(\.timestamps.first).min() }

    /// Calls `body` for every sample in order; stop early by returning false.
    public func forEach(_ body: (Event) -> Bool) {
        var cursor = [Int](repeating: 0, count: fixtures.count)
        while true {
            // Next row: the smallest timestamp among the files' current rows (first file wins ties).
            var pick = -1
            var best = Int64.max
            for (k, f) in fixtures.enumerated() where cursor[k] < f.rowCount {
                let ts = f.timestamps[cursor[k]]
                if pick < 0 || ts < best { pick = k; best = ts }
            }
            if pick < 0 { return }
            let f = fixtures[pick]
            let row = cursor[pick]
            cursor[pick] += 1
            for column in 0..<f.values.count {
                let v = f.values[column][row]
                if v.isNaN { continue }
                if !body(Event(timestamp: best, sensor: sensorBase[pick] + column, value: v)) { return }
            }
        }
    }

    /// The timeline that stamps this stream's samples pass after pass (see `ReplayTimeline`);
    /// nil when the stream is empty.
    public func timeline(rebase: Bool, speed: Double, gap: Int64 = 1_000_000_000) -> ReplayTimeline? {
        guard let first = firstTimestamp, let last = lastTimestamp(offset: 0) else { return nil }
        return ReplayTimeline(first: first, last: max(first, last), rebase: rebase, speed: speed, gap: gap)
    }

    /// The last timestamp of a pass shifted by `offset` (clamped to the representable range).
    public func lastTimestamp(offset: Int64) -> Int64? {
        fixtures.compactMap { $0.timestamps.max() }.max().map { last in
            let (v, overflow) = last.addingReportingOverflow(offset)
            return overflow ? (offset > 0 ? .max : .min) : v
        }
    }
}
