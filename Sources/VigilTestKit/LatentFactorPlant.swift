// SPDX-License-Identifier: GPL-3.0-or-later

/// A synthetic multi-sensor plant for testing multivariate monitors: a few latent factors (slow
/// first-order autoregressive processes, the plant's operating state) mixed into many sensors
/// through random loadings, each sensor seeing the factors with its own small transport delay,
/// plus autocorrelated measurement noise, each sensor with its own offset and scale. Faults are
/// injected over given round ranges (`Fault`), and the normal operating point may drift slowly
/// along the factors (`processDrift`).
///
/// Every value comes from one seeded `SignalGenerator.Random`, so a configuration always gives
/// the same recording.
///
/// Threading: a value type; `generate` is a pure function of the configuration.
public struct LatentFactorPlant: Sendable {
    /// A fault of one sensor over `rounds`.
    public struct Fault: Sendable, Equatable {
        public enum Kind: String, Sendable, Equatable, CaseIterable {
            /// The sensor reads `magnitude` standard deviations high.
            case step
            /// The sensor's error grows linearly from 0 to `magnitude` standard deviations.
            case drift
            /// The sensor repeats its last value before the fault.
            case stuck
            /// The sensor's noise has `magnitude` times its usual standard deviation.
            case variance
            /// The sensor replays what it read `LatentFactorPlant.replayShift` rounds earlier: every
            /// value is one it has read before (within its usual range), only its relation to the
            /// others breaks.
            case correlationBreak
        }

        public var kind: Kind
        public var rounds: Range<Int>
        public var sensor: Int
        public var magnitude: Double

        public init(_ kind: Kind, rounds: Range<Int>, sensor: Int, magnitude: Double = 0) {
            self.kind = kind
            self.rounds = rounds
            self.sensor = sensor
            self.magnitude = magnitude
        }
    }

    /// How far back a sensor with a broken correlation replays its readings (a prime, so no
    /// period of the plant lines up with it).
    public static let replayShift = 997

    /// Sensors (members of the asset).
    public var sensors: Int
    /// Latent factors.
    public var factors: Int
    /// Rounds generated.
    public var rounds: Int
    /// Range of the factors' autoregressive coefficients (larger = slower, more autocorrelated).
    public var persistence: ClosedRange<Double>
    /// Measurement noise as a fraction of each sensor's signal deviation.
    public var noise: Double
    /// Largest transport delay, in rounds, between a factor and a sensor.
    public var maximumDelay: Int
    /// Slow drift of the operating point: added to every factor per round (in factor deviations).
    public var processDrift: Double
    /// Injected faults.
    public var faults: [Fault]
    public var seed: UInt64

    public init(sensors: Int = 24, factors: Int = 4, rounds: Int = 8000, persistence: ClosedRange<Double> = 0.7...0.95,
                noise: Double = 0.3, maximumDelay: Int = 3, processDrift: Double = 0, faults: [Fault] = [], seed: UInt64 = 1) {
        self.sensors = sensors
        self.factors = factors
        self.rounds = rounds
        self.persistence = persistence
        self.noise = noise
        self.maximumDelay = maximumDelay
        self.processDrift = processDrift
        self.faults = faults
        self.seed = seed
    }

    /// The recording: `values[round][sensor]`, and per round whether a fault is active.
    public func generate() -> (values: [[Double]], labels: [Bool]) {
        var rng = SignalGenerator.Random(seed: seed)
        let m = sensors, f = factors, n = rounds, pad = maximumDelay + 1
        let phi = (0..<f).map { _ in persistence.lowerBound + (persistence.upperBound - persistence.lowerBound) * rng.uniform() }
        var latent = [[Double]](repeating: [Double](repeating: 0, count: f), count: n + pad)
        var state = [Double](repeating: 0, count: f)
        for t in 0..<(n + pad) {
            for a in 0..<f {
                state[a] = phi[a] * state[a] + (1 - phi[a] * phi[a]).squareRoot() * rng.gaussian()
                latent[t][a] = state[a] + processDrift * Double(max(0, t - pad))
            }
        }
        let loadings = (0..<m).map { _ in (0..<f).map { _ in rng.gaussian() } }
        let delay = (0..<m).map { _ in Int(rng.uniform() * Double(maximumDelay + 1)) }
        let noisePersistence = (0..<m).map { _ in 0.2 + 0.4 * rng.uniform() }
        let offset = (0..<m).map { _ in 100 * rng.uniform() - 50 }
        let scale = (0..<m).map { _ in 0.5 + 19.5 * rng.uniform() }
        let signalDeviation = loadings.map { row in row.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        var noiseState = [Double](repeating: 0, count: m)
        var clean = [[Double]](repeating: [Double](repeating: 0, count: m), count: n)
        var signal = clean
        for t in 0..<n {
            for i in 0..<m {
                let lt = latent[t + pad - delay[i]]
                var s = 0.0
                for a in 0..<f { s += loadings[i][a] * lt[a] }
                let p = noisePersistence[i]
                noiseState[i] = p * noiseState[i] + (1 - p * p).squareRoot() * rng.gaussian()
                signal[t][i] = s
                clean[t][i] = offset[i] + scale[i] * (s + noise * signalDeviation[i] * noiseState[i])
            }
        }
        // Each sensor's deviation over the first rounds (the magnitudes' unit).
        let reference = min(n, 2000)
        var deviation = [Double](repeating: 1, count: m)
        for i in 0..<m {
            var mean = 0.0
            for t in 0..<reference { mean += clean[t][i] }
            mean /= Double(reference)
            var v = 0.0
            for t in 0..<reference { v += (clean[t][i] - mean) * (clean[t][i] - mean) }
            deviation[i] = (v / Double(max(reference - 1, 1))).squareRoot()
        }
        var values = clean
        var labels = [Bool](repeating: false, count: n)
        for fault in faults {
            let i = fault.sensor
            let r = fault.rounds.clamped(to: 0..<n)
            for t in r {
                labels[t] = true
                switch fault.kind {
                case .step:
                    values[t][i] += fault.magnitude * deviation[i]
                case .drift:
                    values[t][i] += fault.magnitude * deviation[i] * Double(t - r.lowerBound + 1) / Double(r.count)
                case .stuck:
                    values[t][i] = r.lowerBound > 0 ? values[r.lowerBound - 1][i] : clean[0][i]
                case .variance:
                    values[t][i] += (fault.magnitude - 1) * noise * signalDeviation[i] * scale[i] * rng.gaussian()
                case .correlationBreak:
                    values[t][i] = clean[t >= Self.replayShift ? t - Self.replayShift : t][i]
                }
            }
        }
        return (values, labels)
    }
}
