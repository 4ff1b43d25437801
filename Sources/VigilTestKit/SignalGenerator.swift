// SPDX-License-Identifier: GPL-3.0-or-later
import VigilCore

/// A deterministic synthetic plant signal: the sensors of one asset as sine + noise + drift,
/// with injectable anomalies (spike, level shift, variance change, stuck sensor, correlation
/// break between two sensors), irregular sampling, recording gaps and sensor dropouts.
///
/// Everything comes from one seeded PRNG (`SignalGenerator.Random`, SplitMix64) and uses only
/// IEEE-754 basic arithmetic (its own sine and Gaussian), so the same configuration produces the
/// same values bit for bit on every platform — `Fixtures/synthetic/pump7.csv` is checked
/// against a fresh generation by a test.
///
/// Threading: a value type; `generate` is a pure function of the configuration.
public struct SignalGenerator: Sendable {
    /// One sensor of the asset.
    public struct Channel: Sendable, Equatable {
        /// Column name (the sensor id is `<asset>/<name>`).
        public var name: String
        /// Level around which the sensor moves.
        public var baseline: Double
        /// Amplitude of the periodic component.
        public var amplitude: Double
        /// Period of the periodic component, in seconds.
        public var period: Double
        /// Phase of the periodic component, in radians.
        public var phase: Double
        /// Standard deviation of the Gaussian measurement noise.
        public var noise: Double
        /// Linear drift of the level, in units per day.
        public var driftPerDay: Double
        /// When set, the sensor follows another one physically: its clean signal is
        /// `baseline + gain × (source clean − source baseline)` instead of its own sine.
        public var coupling: Coupling?

        /// A sensor; see the properties for the parameters.
        public init(name: String, baseline: Double, amplitude: Double = 0, period: Double = 86_400, phase: Double = 0,
                    noise: Double = 0, driftPerDay: Double = 0, coupling: Coupling? = nil) {
            self.name = name
            self.baseline = baseline
            self.amplitude = amplitude
            self.period = period
            self.phase = phase
            self.noise = noise
            self.driftPerDay = driftPerDay
            self.coupling = coupling
        }
    }

    /// A sensor following another: `source` is the index of the channel it follows.
    public struct Coupling: Sendable, Equatable {
        /// Index of the channel followed (must come earlier in `channels`).
        public var source: Int
        /// Gain applied to the source's deviation from its baseline.
        public var gain: Double

        /// A coupling to channel `source` with `gain`.
        public init(source: Int, gain: Double) {
            self.source = source
            self.gain = gain
        }
    }

    /// Seed of the PRNG.
    public var seed: UInt64
    /// Timestamp of row 0, nanoseconds since the epoch.
    public var start: Int64
    /// Nominal sampling interval, nanoseconds.
    public var interval: Int64
    /// Each row's timestamp moves by a uniform amount in `-jitter...jitter` nanoseconds (< interval / 2).
    public var jitter: Int64
    /// The asset's sensors.
    public var channels: [Channel]
    /// Anomalies to inject; their rows are labelled `anomaly = 1`.
    public var anomalies: [Anomaly]
    /// Row ranges that are not recorded at all (a recording gap).
    public var gaps: [Range<Int>]
    /// Probability that a cell is empty (a sensor dropout).
    public var dropout: Double

    /// A generator; see the properties for the parameters.
    public init(seed: UInt64, start: Int64, interval: Int64, jitter: Int64 = 0, channels: [Channel],
                anomalies: [Anomaly] = [], gaps: [Range<Int>] = [], dropout: Double = 0) {
        precondition(interval > 0 && jitter >= 0 && jitter < interval / 2)
        precondition(channels.enumerated().allSatisfy { i, c in c.coupling.map { $0.source < i } ?? true })
        self.seed = seed
        self.start = start
        self.interval = interval
        self.jitter = jitter
        self.channels = channels
        self.anomalies = anomalies
        self.gaps = gaps
        self.dropout = dropout
    }

    /// Generated rows: timestamps, one column of values per channel (NaN = empty cell) and the
    /// per-row labels.
    public struct Output: Sendable {
        /// Column names, as `channels`.
        public var columns: [String]
        /// Nanoseconds since the epoch, one per recorded row.
        public var timestamps: [Int64]
        /// `values[channel][row]`; NaN where the sensor dropped out.
        public var values: [[Double]]
        /// Whether an injected anomaly affects the row.
        public var anomaly: [Bool]
        /// Whether an injected anomaly starts on the row.
        public var changepoint: [Bool]
    }

    /// Generates `rows` nominal rows (fewer are recorded when `gaps` remove some).
    public func generate(rows: Int) -> Output {
        var random = Random(seed: seed)
        let n = channels.count
        var clean = Array(repeating: [Double](repeating: 0, count: rows), count: n)
        var measured = clean
        var timestamps: [Int64] = []
        timestamps.reserveCapacity(rows)
        let nsPerDay = 86_400.0 * 1e9
        for row in 0..<rows {
            let offset = jitter == 0 ? 0 : Int64(random.uniform() * Double(2 * jitter + 1)) - jitter
            let ts = start + Int64(row) * interval + offset
            timestamps.append(ts)
            let seconds = Double(ts - start) / 1e9
            for (k, c) in channels.enumerated() {
                let drift = c.driftPerDay * Double(ts - start) / nsPerDay
                var level = c.baseline + drift
                if let coupling = c.coupling {
                    var gain = coupling.gain
                    if anomalies.contains(where: { $0.breaksCorrelation(of: k, at: row) }) { gain = -gain }
                    level += gain * (clean[coupling.source][row] - channels[coupling.source].baseline)
                } else if c.amplitude != 0 {
                    level += c.amplitude * Self.sine(2 * Double.pi * seconds / c.period + c.phase)
                }
                clean[k][row] = level
                var noise = c.noise * random.gaussian()
                for a in anomalies { noise *= a.noiseFactor(of: k, at: row) }
                var v = level + noise
                for a in anomalies { v += a.offset(of: k, at: row) }
                measured[k][row] = v
            }
        }
        // Stuck sensors repeat the value they had when they stuck.
        for a in anomalies {
            if case .stuck(let k, let range) = a.kind, range.lowerBound < rows {
                let held = measured[k][range.lowerBound]
                for row in range.clamped(to: 0..<rows) { measured[k][row] = held }
            }
        }
        var out = Output(columns: channels.map(\.name), timestamps: [], values: Array(repeating: [], count: n), anomaly: [], changepoint: [])
        for row in 0..<rows where !gaps.contains(where: { $0.contains(row) }) {
            out.timestamps.append(timestamps[row])
            for k in 0..<n {
                // Draw for every cell so a change of `dropout` does not shift the other values.
                let dropped = random.uniform() < dropout
                out.values[k].append(dropped ? .nan : measured[k][row])
            }
            out.anomaly.append(anomalies.contains { $0.rows.contains(row) })
            out.changepoint.append(anomalies.contains { $0.rows.lowerBound == row })
        }
        return out
    }

    /// sin(x) from basic arithmetic only (reduction to [-π/4, π/4], Taylor to x¹³ / x¹²), so it
    /// is identical on every platform; accurate to about 1e-15 for |x| < 1e6.
    static func sine(_ x: Double) -> Double {
        let halfPi = Double.pi / 2
        let q = (x / halfPi).rounded()
        let r = x - q * halfPi
        let quadrant = ((Int(q) % 4) + 4) % 4
        let r2 = r * r
        let s = r * (1 - r2 / 6 * (1 - r2 / 20 * (1 - r2 / 42 * (1 - r2 / 72 * (1 - r2 / 110 * (1 - r2 / 156))))))
        let c = 1 - r2 / 2 * (1 - r2 / 12 * (1 - r2 / 30 * (1 - r2 / 56 * (1 - r2 / 90 * (1 - r2 / 132)))))
        switch quadrant {
        case 0: return s
        case 1: return c
        case 2: return -s
        default: return -c
        }
    }
}
