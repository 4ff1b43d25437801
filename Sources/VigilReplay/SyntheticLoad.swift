// SPDX-License-Identifier: GPL-3.0-or-later

/// A deterministic synthetic plant for load generation (`vigil bench-send`): `sensors` sensors,
/// each a seeded periodic signal with noise and, optionally, injected spikes so that alerts
/// happen.
///
/// Every value is a pure function of (seed, sensor, sample index), so a receiver can check what
/// it got without a copy of the stream, whatever batching or payload form carried it. Values are
/// whole micro-units (`q / 1e6` for an integer `q`), so the six-decimal JSON text the load
/// encoder writes parses back to exactly the same `Double` as the binary form carries.
///
/// Threading: a value type; every member is a pure function.
public struct SyntheticLoad: Sendable {
    /// What the load looks like.
    public struct Configuration: Sendable, Equatable {
        /// Number of sensors (≥ 1).
        public var sensors: Int
        /// Sensor ids are this prefix followed by the zero-padded index (`bench/s000042`).
        public var sensorPrefix: String
        /// With n > 0, sensors form assets of n members as a plant names them: the prefix, the
        /// zero-padded asset index, `/s` and the member's zero-padded index (`plant1/unit0042/s07`
        /// for prefix `plant1/unit` and n = 20), so that grouping by parent path makes one asset of
        /// each n sensors. 0: the prefix and the sensor's index only.
        public var assetSize: Int
        /// Seed of the signals' phases, periods, noise and spike positions.
        public var seed: UInt64
        /// Timestamp of every sensor's first sample (nanoseconds since the epoch).
        public var startTimestamp: Int64
        /// Nanoseconds between two samples of one sensor (≥ 1).
        public var interval: Int64
        /// A spike every this many samples of each sensor (0: no spikes).
        public var spikeEvery: Int
        /// Consecutive samples a spike lasts (1 … `spikeEvery`).
        public var spikeLength: Int
        /// Height of a spike in units of the sensor's amplitude plus noise.
        public var spikeSize: Double

        /// A load; see the properties.
        public init(sensors: Int = 1_000, sensorPrefix: String = "bench/s", seed: UInt64 = 1,
                    startTimestamp: Int64 = 1_732_500_000_000_000_000, interval: Int64 = 1_000_000,
                    spikeEvery: Int = 0, spikeLength: Int = 10, spikeSize: Double = 20, assetSize: Int = 0) {
            self.sensors = sensors
            self.sensorPrefix = sensorPrefix
            self.assetSize = assetSize
            self.seed = seed
            self.startTimestamp = startTimestamp
            self.interval = interval
            self.spikeEvery = spikeEvery
            self.spikeLength = spikeLength
            self.spikeSize = spikeSize
        }
    }

    /// Per-sensor parameters, drawn from the seed.
    private struct Signal: Sendable {
        var baseline: Double
        var amplitude: Double
        var noise: Double
        /// Table steps per sample: the period is `tableSize / step` samples.
        var step: Int
        var phase: Int
        var spikeOffset: Int
    }

    /// One period of a sine, shared by every sensor (each walks it at its own step and phase).
    private static let tableSize = 1_024
    private static let table: [Double] = (0..<tableSize).map { k in
        // The sine through its Taylor series on [-π, π]: the same bits on every platform.
        var x = 2 * Double.pi * Double(k) / Double(tableSize)
        if x > Double.pi { x -= 2 * Double.pi }
        var term = x, sum = x
        for n in stride(from: 3, through: 41, by: 2) {
            term *= -x * x / Double((n - 1) * n)
            sum += term
        }
        return sum
    }

    /// What this load was made with.
    public let configuration: Configuration
    private let signals: [Signal]
    /// The UTF-8 id of each sensor.
    public let sensorIDs: [[UInt8]]
    /// The longest id, in bytes.
    public let maximumIDBytes: Int

    /// A load with `configuration` (`sensors` ≥ 1, `interval` ≥ 1, `spikeEvery` ≥ 0,
    /// `spikeLength` in 1 … `spikeEvery` when spikes are on).
    public init(_ configuration: Configuration) {
        precondition(configuration.sensors >= 1 && configuration.interval >= 1 && configuration.spikeEvery >= 0)
        precondition(configuration.spikeEvery == 0 || (1...configuration.spikeEvery).contains(configuration.spikeLength))
        precondition(configuration.assetSize >= 0)
        self.configuration = configuration
        let width = String(configuration.sensors - 1).count
        func padded(_ k: Int, _ width: Int) -> String {
            let digits = String(k)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let assetSize = configuration.assetSize
        let assetWidth = assetSize > 0 ? String((configuration.sensors - 1) / assetSize).count : 0
        let memberWidth = assetSize > 0 ? String(assetSize - 1).count : 0
        var ids: [[UInt8]] = []
        var signals: [Signal] = []
        ids.reserveCapacity(configuration.sensors)
        signals.reserveCapacity(configuration.sensors)
        for s in 0..<configuration.sensors {
            let id = assetSize > 0
                ? configuration.sensorPrefix + padded(s / assetSize, assetWidth) + "/s" + padded(s % assetSize, memberWidth)
                : configuration.sensorPrefix + padded(s, width)
            ids.append(Array(id.utf8))
            var h = Self.mix(configuration.seed ^ (UInt64(s) &* 0x9E37_79B9_7F4A_7C15))
            func next() -> UInt64 { h = Self.mix(h); return h }
            signals.append(Signal(
                baseline: 10 + Double(next() % 1_000) / 10,
                amplitude: 1 + Double(next() % 400) / 100,
                noise: 0.1 + Double(next() % 40) / 100,
                step: 1 + Int(next() % 16),
                phase: Int(next() % UInt64(Self.tableSize)),
                spikeOffset: configuration.spikeEvery > 0 ? Int(next() % UInt64(configuration.spikeEvery)) : 0))
        }
        self.signals = signals
        sensorIDs = ids
        maximumIDBytes = ids.map(\.count).max() ?? 0
    }

    /// SplitMix64's finaliser: a well-mixed 64-bit hash.
    @inline(__always)
    private static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The id of sensor `sensor` as text.
    public func sensorID(_ sensor: Int) -> String { String(decoding: sensorIDs[sensor], as: UTF8.self) }

    /// Timestamp of sample `index` of any sensor.
    @inline(__always)
    public func timestamp(index: Int) -> Int64 {
        configuration.startTimestamp &+ Int64(index) &* configuration.interval
    }

    /// Whether sample `index` of `sensor` is part of an injected spike.
    @inline(__always)
    public func isSpike(sensor: Int, index: Int) -> Bool {
        let every = configuration.spikeEvery
        guard every > 0 else { return false }
        return (index + signals[sensor].spikeOffset) % every >= every - configuration.spikeLength
    }

    /// The value of sample `index` of `sensor` in integer micro-units (the value is this / 1e6).
    @inline(__always)
    public func microUnits(sensor: Int, index: Int) -> Int64 {
        let p = signals[sensor]
        let wave = Self.table[(p.phase &+ index &* p.step) & (Self.tableSize - 1)]
        // Triangular noise in (-1, 1): two uniforms from one hash of (seed, sensor, index).
        let h = Self.mix(configuration.seed &+ (UInt64(sensor) << 40) &+ UInt64(truncatingIfNeeded: index))
        let u = Double(h >> 40) / Double(1 << 24) + Double(h & 0xFF_FFFF) / Double(1 << 24) - 1
        var v = p.baseline + p.amplitude * wave + p.noise * u
        if isSpike(sensor: sensor, index: index) { v += configuration.spikeSize * (p.amplitude + p.noise) }
        return Int64((v * 1e6).rounded())
    }

    /// The value of sample `index` of `sensor`.
    @inline(__always)
    public func value(sensor: Int, index: Int) -> Double {
        Double(microUnits(sensor: sensor, index: index)) / 1e6
    }
}
